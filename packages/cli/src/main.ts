#!/usr/bin/env node
// `shed`: the command-line tool. Start-up is on the path of `shed run --rm default -- CMD`,
// so each command's module is loaded only when that command runs.
import { ShedApiError } from '@shed/sdk';
import { Command } from 'commander';
import type { GlobalOptions } from './connect.js';
import { UsageError } from './output.js';

const program = new Command('shed')
  .description('Sandboxes for AI agents')
  .option('--socket <path>', "shedd's socket (default $SHED_SOCKET, else shed.sock in $SHED_RUN_DIR, else /run/shed/shed.sock)")
  .option('--host <url>', "shedd's TCP listener, e.g. http://127.0.0.1:7420, with the token in $SHED_TOKEN (default $SHED_HOST)")
  .option('--json', 'machine-readable output')
  .enablePositionalOptions()
  .showHelpAfterError();

const g = (): GlobalOptions => program.opts<GlobalOptions>();
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
/** With passThroughOptions commander keeps a `--` that follows an option; it is not part of the command. */
const command = (argv: string[]): string[] => (argv[0] === '--' ? argv.slice(1) : argv);

/** Runs an action and turns its result into the process's exit status. */
function act<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    process.exitCode = await fn(...args);
  };
}

program.command('run').description('create a sandbox, run a command in it, stream its output')
  .argument('<image>').argument('<cmd...>')
  .option('--rm', 'delete the sandbox afterwards').option('--name <name>').option('-e, --env <KEY=VALUE>', 'environment', collect)
  .option('--memory-mib <n>').option('-i, --interactive', 'forward stdin').option('-w, --cwd <dir>')
  .option('--ttl <duration>', 'lifetime from creation, e.g. 10m').option('--idle-timeout <duration>', 'expire after this long idle')
  .option('--on-expire <action>', "what expiry does: 'stop' or 'delete'")
  .passThroughOptions()
  .action(act(async (image: string, cmd: string[], f) => (await import('./commands/run.js')).runCommand(image, command(cmd), f, g())));

program.command('create').description('create a sandbox and print its id').argument('<image>')
  .option('--name <name>').option('--hostname <name>').option('--memory-mib <n>').option('--cpu-millis <n>').option('--pids-max <n>')
  .option('-e, --env <KEY=VALUE>', 'environment', collect).option('-l, --label <KEY=VALUE>', 'label', collect)
  .option('--ttl <duration>', 'lifetime from creation, e.g. 10m (then deleted, unless --on-expire stop)')
  .option('--idle-timeout <duration>', 'expire after this long with no API activity and no process but PID 1 (then stopped, unless --on-expire delete)')
  .option('--on-expire <action>', "what expiry does: 'stop' or 'delete'")
  .option('-p, --publish <[HOSTIP:]HOSTPORT:PORT>', 'listen on the host (127.0.0.1 unless HOSTIP) and forward to PORT in the sandbox', collect)
  .option('--network <mode>', "'none' (loopback only, the default) or 'nat'")
  .option('--allow <CIDR[:PORT]>', "with --network nat: reachable only what is allowed (repeatable)", collect)
  .option('--deny <CIDR[:PORT]>', 'with --network nat: never reachable (repeatable)', collect)
  .option('--allow-host', "with --network nat: may reach the host's own addresses")
  .option('--allow-sandboxes', 'with --network nat: may exchange traffic with other sandboxes that allow it too')
  .action(act(async (image: string, f) => (await import('./commands/sandboxes.js')).createCommand(image, f, g())));

program.command('exec').description('run a command in a sandbox').argument('<sandbox>').argument('<cmd...>')
  .option('-e, --env <KEY=VALUE>', 'environment', collect).option('-i, --interactive', 'forward stdin').option('-w, --cwd <dir>')
  .passThroughOptions()
  .action(act(async (ref: string, cmd: string[], f) => (await import('./commands/sandboxes.js')).execCommand(ref, command(cmd), f, g())));

program.command('shell').description('an interactive shell (or CMD) on a terminal in a sandbox').argument('<sandbox>').argument('[cmd...]')
  .option('-t, --tty', 'use a terminal even when stdin is not one').option('-T, --no-tty', 'pipes, no terminal')
  .option('-e, --env <KEY=VALUE>', 'environment', collect).option('-w, --cwd <dir>')
  .option('--attach <procId>', 'attach to a running process instead (one a lost connection left behind)')
  .option('--offset <n>', 'with --attach: replay its output from this offset')
  .passThroughOptions()
  .action(act(async (ref: string, cmd: string[], f) => (await import('./commands/shell.js')).shellCommand(ref, command(cmd), f, g())));

program.command('ps').description("list a sandbox's processes (running, and exited ones whose output is kept)").argument('<sandbox>')
  .action(act(async (ref: string) => (await import('./commands/processes.js')).psCommand(ref, g())));

program.command('attach').description("stream a process's output again (after a lost connection or a shedd restart) and exit with its status")
  .argument('<sandbox>').argument('<procId>').option('--offset <n>', 'from this output offset (default: the oldest output kept)')
  .action(act(async (ref: string, procId: string, f) => (await import('./commands/processes.js')).attachCommand(ref, procId, f, g())));

program.command('kill').description("signal a sandbox's process by its PROC id (see shed ps)").argument('<sandbox>').argument('<procId>')
  .option('-s, --signal <sig>', 'e.g. TERM, KILL or 9', 'SIGTERM')
  .action(act(async (ref: string, procId: string, f) => (await import('./commands/processes.js')).killCommand(ref, procId, f, g())));

program.command('port-forward').description("listen on 127.0.0.1:LOCAL and tunnel each connection to PORT in the sandbox, until Ctrl-C")
  .argument('<sandbox>').argument('<[LOCAL:]PORT>').option('--address <ip>', 'local address to listen on', '127.0.0.1')
  .action(act(async (ref: string, spec: string, f) => (await import('./commands/ports.js')).portForwardCommand(ref, spec, f, g())));

program.command('ls').description('list sandboxes').option('-l, --label <KEY=VALUE>', 'only with this label', collect)
  .option('-a, --all', 'also free warm pool members')
  .action(act(async (f) => (await import('./commands/sandboxes.js')).lsCommand(f, g())));

program.command('inspect').description('show a sandbox, with phase timings').argument('<sandbox>')
  .action(act(async (ref: string) => (await import('./commands/sandboxes.js')).inspectCommand(ref, g())));

for (const [verb, what] of [['rm', 'delete sandboxes'], ['stop', 'stop sandboxes'], ['start', 'start stopped sandboxes']] as const) {
  program.command(verb).description(what).argument('<sandbox...>')
    .action(act(async (refs: string[]) => (await import('./commands/sandboxes.js')).lifecycleCommand(verb, refs, g())));
}

program.command('events').description('stream sandbox events until Ctrl-C').option('--sandbox <id|name>', 'only this sandbox')
  .option('-t, --type <type>', 'only this event type (repeatable)', collect).option('--since <seq>', 'first replay kept events after this sequence number')
  .option('--json', 'one JSON event per line')
  .action(act(async (f) => (await import('./commands/events.js')).eventsCommand(f, g())));

program.command('cp').description('copy a file into or out of a sandbox (ID:/path on one side)').argument('<src>').argument('<dst>')
  .action(act(async (src: string, dst: string) => (await import('./commands/cp.js')).cpCommand(src, dst, g())));

program.command('snapshot').description("snapshot sandboxes' files (running ones keep running; stopped ones too); 'snapshot ls', 'snapshot rm ID…' manage them")
  .argument('<sandbox|ls|rm>').argument('[more...]').option('--memory', 'also capture process memory (refused where the host cannot: see shed doctor)')
  .action(act(async (first: string, rest: string[], f) => (await import('./commands/snapshots.js')).snapshotCommand(first, rest, g(), f)));
program.command('commit').description('make a snapshot an image NAME (its files over its base image); the image outlives the snapshot')
  .argument('<snapshot>').argument('<name>')
  .action(act(async (snap: string, name: string) => (await import('./commands/snapshots.js')).commitCommand(snap, name, g())));
program.command('diff').description("what a sandbox (running or stopped) changed over its image: lines 'A path', 'M path', 'D path'; --tar writes the changes as a tar to stdout").argument('<sandbox>')
  .option('--tar', 'the changes as an OCI layer tar on stdout (whiteouts for deletions)').option('--json', 'the paths as JSON')
  .action(act(async (ref: string, f) => (await import('./commands/diff.js')).diffCommand(ref, f, g())));
program.command('rollback').description("make a sandbox's files exactly a snapshot's (its own, or one it was forked from); a running one is restarted").argument('<sandbox>').argument('<snapshot>')
  .action(act(async (ref: string, snap: string) => (await import('./commands/diff.js')).rollbackCommand(ref, snap, g())));
program.command('fork').description('new sandboxes on a snapshot\'s files, each with its own writable layer; prints their ids').argument('<snapshot>')
  .option('-n, --count <n>', 'how many (1-32)').option('--name <name>', 'a name per fork (repeatable)', collect)
  .option('--network <mode>', "'none' (the default) or 'nat' (each fork its own address)")
  .action(act(async (snap: string, f) => (await import('./commands/snapshots.js')).forkCommand(snap, f, g())));

const pool = program.command('pool').description('warm pools: sandboxes kept running so a matching create is a claim');
pool.command('ls').description('list pools, their free members and last error').action(act(async () => (await import('./commands/pools.js')).poolLs(g())));
pool.command('set').description('create or change a pool (kept across restarts)').argument('<name>')
  .option('--image <ref>', 'members run this image').option('--snapshot <id>', 'members are forks of this snapshot')
  .option('--memory-mib <n>').option('--cpu-millis <n>').option('--pids-max <n>').option('--network <mode>', "'none' (default) or 'nat'")
  .option('--min <n>', 'free members restored first').option('--target-free <n>', 'free members kept ready').option('--max <n>', 'most members at once')
  .option('--memory-budget-mib <n>', "the members' memory limits together never exceed it")
  .action(act(async (name: string, f) => (await import('./commands/pools.js')).poolSet(name, f, g())));
pool.command('rm').description('remove pools and their free members').argument('<name...>')
  .action(act(async (names: string[]) => (await import('./commands/pools.js')).poolRm(names, g())));

const image = program.command('image').description('manage images');
image.command('ls').description('list images').action(act(async () => (await import('./commands/images.js')).imageLs(g())));
image.command('pull').description('pull an image from a registry').argument('<ref>').option('--name <name>')
  .action(act(async (ref: string, f) => (await import('./commands/images.js')).imagePull(ref, f, g())));
image.command('import').description('import a docker-archive or OCI tar (- for stdin)').argument('<file>').requiredOption('--name <name>')
  .action(act(async (file: string, f) => (await import('./commands/images.js')).imageImport(file, f, g())));
image.command('rm').description('remove images').argument('<ref...>').option('-f, --force', 'untag even when sandboxes use it')
  .action(act(async (refs: string[], f) => (await import('./commands/images.js')).imageRm(refs, f, g())));
image.command('prune').description('remove unused images').option('--max-bytes <n>', 'then evict LRU images until under this size')
  .action(act(async (f) => (await import('./commands/images.js')).imagePrune(f, g())));

const system = program.command('system').description('the host as a whole');
system.command('prune').description('remove what no sandbox owns: orphan mounts, cgroups, runtime state, directories')
  .option('--images', 'also remove images no sandbox uses')
  .action(act(async (f) => (await import('./commands/system.js')).systemPrune(f, g())));

program.command('doctor').description("check this host for what shed needs, and say how to fix what is missing (exit 1 when a check fails)")
  .action(act(async () => (await import('./commands/doctor.js')).doctorCommand(g())));

program.command('daemon').description('run shedd in the foreground').allowUnknownOption().argument('[args...]')
  .action(act(async (args: string[]) => (await import('./commands/daemon.js')).daemonCommand(args, g())));

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ShedApiError) {
    process.stderr.write(`shed: ${err.message} (${err.code})\n`);
    process.exitCode = err.code === 'invalid_argument' ? 2 : 1;
  } else if (err instanceof UsageError) {
    process.stderr.write(`shed: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`shed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
});
