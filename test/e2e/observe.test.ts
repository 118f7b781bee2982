// End to end: shedd's event stream (SDK, CLI and raw SSE), /metrics and phase timings,
// against a real shedd with the container driver.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { request, type IncomingMessage } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { ShedEvent as EventSchema } from '@shed/protocol';
import { Shed, ShedApiError, type ShedEvent } from '@shed/sdk';
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { useLeakCheck } from '../helpers/leaks.js';
import { key, parseExposition } from '../helpers/prom-text.js';
import { CLI, e2eUnavailable, useShedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e observability tests skipped: ${skip}`);
useLeakCheck();
// TypeBox checks formats only when told how (shedd's ajv knows date-time itself).
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v));

/** create → exec → stop → start → delete of one named sandbox, through the SDK. */
async function lifecycle(shed: Shed, name: string): Promise<string> {
  const sb = await shed.sandboxes.create({ name, env: { SECRET_VALUE: 'hunter2-not-logged' } });
  assert.equal((await sb.exec(['true'])).exitCode, 0);
  await sb.stop({ graceMs: 0 });
  await sb.start();
  await sb.delete();
  return sb.id;
}

const LIFECYCLE = ['created', 'exec', 'stopped', 'started', 'deleted'];

/** Reads events until a `deleted` one (or `limit` events), failing rather than hanging. */
async function untilDeleted(events: AsyncIterable<ShedEvent>, limit = 20): Promise<ShedEvent[]> {
  const out: ShedEvent[] = [];
  for await (const e of events) {
    out.push(e);
    if (e.type === 'deleted' || out.length >= limit) break;
  }
  return out;
}

function assertOrdered(events: readonly ShedEvent[]): void {
  for (const [i, e] of events.entries()) {
    assert.ok(Value.Check(EventSchema, e), `event ${i} does not match the schema: ${JSON.stringify(e)}`);
    if (i > 0) assert.ok(e.seq > (events[i - 1]?.seq ?? Infinity), 'sequence numbers increase');
  }
}

function get(socketPath: string, path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => request({ socketPath, path, headers }, resolve).on('error', reject).end());
}

async function text(res: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of res) s += String(c);
  return s;
}

describe('e2e: events, metrics and phase timings', { skip }, () => {
  const fx = useShedd('shed-e2e-observe-');

  it('streams create → exec → stop → start → delete in order through the SDK, each event as the schema says', async () => {
    const stream = await fx.shed.events({ sandbox: 'ev-sdk' });
    const reading = untilDeleted(stream);
    const id = await lifecycle(fx.shed, 'ev-sdk');
    const events = await reading;
    assert.deepEqual(events.map((e) => e.type), LIFECYCLE);
    assertOrdered(events);
    assert.ok(events.every((e) => e.sandbox === id && e.name === 'ev-sdk'));
    const [created, exec, stopped, started] = events;
    assert.ok(created?.type === 'created' && created.details.image === 'default' && (created.details.timings['total'] ?? 0) > 0);
    assert.ok(exec?.type === 'exec' && exec.details.exitCode === 0 && exec.details.timings['total'] !== undefined);
    assert.ok(stopped?.type === 'stopped' && stopped.details.reason === 'stopped on request');
    assert.ok(started?.type === 'started' && (started.details.timings['total'] ?? 0) > 0);
  });

  it('filters by type, and a failed create is an event too', async () => {
    const stream = await fx.shed.events({ types: ['create_failed'] });
    const failing = fx.shed.sandboxes.create({ image: 'no-such-image' }).catch((e: unknown) => e);
    const [e] = await untilDeleted(stream, 1);
    assert.ok((await failing) instanceof ShedApiError);
    assert.ok(e?.type === 'create_failed' && e.details.error.code === 'not_found', JSON.stringify(e));
  });

  it('the CLI streams the same events as JSON lines until interrupted', async () => {
    // --since 0 replays what is kept first, so no event is lost however late the CLI subscribes.
    const child = spawn(process.execPath, [CLI, 'events', '--json', '--sandbox', 'ev-cli', '--since', '0'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...fx.d.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    try {
      const lines = createInterface({ input: child.stdout });
      const reading = untilDeleted((async function* () {
        for await (const l of lines) yield JSON.parse(l) as ShedEvent; // checked against the schema below
      })());
      await lifecycle(fx.shed, 'ev-cli');
      const events = await reading;
      assert.deepEqual(events.map((e) => e.type), LIFECYCLE);
      assertOrdered(events);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, `Ctrl-C ends 'shed events' cleanly; stderr: ${stderr}`);
    const human = spawn(process.execPath, [CLI, 'events', '--sandbox', 'ev-cli', '--since', '0'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...fx.d.env }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    const humanExited = new Promise<void>((done) => human.once('exit', () => done()));
    const lines: string[] = [];
    try {
      for await (const l of createInterface({ input: human.stdout })) if (lines.push(l) === LIFECYCLE.length) break;
    } finally {
      human.kill('SIGINT');
      await humanExited;
    }
    assert.match(lines[0] ?? '', /^\S+Z +\d+ {2}created +sb-[0-9a-f]{12} \(ev-cli\) {2}image=default imageDigest=sha256:[0-9a-f]{64} total=\d+\.\dms$/);
    assert.match(lines[3] ?? '', / started +sb-\S+ \(ev-cli\) {2}total=\d+\.\dms$/);
    assert.match(lines[2] ?? '', / stopped +sb-\S+ \(ev-cli\) {2}reason=stopped on request$/);
  });

  it('replays the events after Last-Event-ID over raw SSE, and rejects a malformed one', async () => {
    const stream = await fx.shed.events({ sandbox: 'ev-replay' });
    const reading = untilDeleted(stream);
    await lifecycle(fx.shed, 'ev-replay');
    const [created, ...rest] = await reading;
    assert.ok(created !== undefined);
    const res = await get(fx.d.socketPath, '/v1/events?sandbox=ev-replay', { 'last-event-id': String(created.seq) });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    let body = '';
    for await (const chunk of res) {
      body += String(chunk);
      if ((body.match(/\n\n/g) ?? []).length >= rest.length) break;
    }
    res.destroy();
    const ids = [...body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const types = [...body.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1] ?? '') as ShedEvent).type);
    assert.deepEqual(ids, rest.map((e) => e.seq));
    assert.deepEqual(types, LIFECYCLE.slice(1));
    const bad = await get(fx.d.socketPath, '/v1/events', { 'last-event-id': 'yesterday' });
    assert.equal(bad.statusCode, 400);
    assert.equal((JSON.parse(await text(bad)) as { error: { code: string } }).error.code, 'invalid_argument');
  });

  it('serves /metrics in the Prometheus text format, and its counters move with a create and an exec', async () => {
    const scrape = async () => {
      const res = await get(fx.d.socketPath, '/metrics');
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      return parseExposition(await text(res));
    };
    const created = key('shed_sandbox_operations_total', { operation: 'create', outcome: 'ok' });
    const requests = key('shed_api_requests_total', { method: 'POST', route: '/v1/sandboxes', status: '201' });
    const m0 = await scrape();
    const sb = await fx.shed.sandboxes.create({ name: 'metrics' });
    await sb.exec(['true']);
    const m1 = await scrape();
    const delta = (k: string): number => (m1.samples.get(k) ?? NaN) - (m0.samples.get(k) ?? 0);
    assert.equal(delta(created), 1);
    assert.equal(delta(key('shed_execs_total', { outcome: 'ok' })), 1);
    assert.equal(delta('shed_sandbox_create_seconds_count'), 1);
    assert.equal(delta('shed_exec_seconds_count'), 1);
    assert.equal(delta(requests), 1);
    assert.equal(m1.types.get('shed_sandbox_create_seconds'), 'histogram');
    assert.ok((m1.samples.get(key('shed_sandboxes', { state: 'running' })) ?? 0) >= 1);
    assert.ok((m1.samples.get('shed_agent_links') ?? 0) >= 1);
    assert.ok((m1.samples.get('process_resident_memory_bytes') ?? 0) > 10 * 1024 * 1024);
    const memory = m1.samples.get('shed_sandbox_memory_bytes');
    assert.ok(memory !== undefined && memory > 0, 'the memory charged to the sandbox cgroups is read (this host has a memory controller)');
    assert.equal(m1.types.get('shed_pool_free_members'), 'gauge');
    assert.ok(![...m1.samples.keys()].some((n) => n.startsWith('shed_pool_')), 'no pool series while shed has no pools');
    await sb.delete();
  });

  it('inspect shows the create, start and exec phases (the JSON keeps them), and shedd logs create and start phases without env values', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'phases', env: { SECRET_VALUE: 'hunter2-not-logged' } });
    await sb.stop({ graceMs: 0 });
    await sb.start();
    await sb.exec(['true']);
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...fx.d.env };
    const run = (...args: string[]) => new Promise<string>((done, fail) =>
      execFile(process.execPath, [CLI, ...args], { env }, (err, stdout) => (err === null ? done(stdout) : fail(err))));
    const human = await run('inspect', 'phases');
    assert.match(human, /PHASE \(ms\) +CREATE +START +LAST EXEC\n/);
    for (const phase of ['image', 'driver', 'started', 'total']) assert.match(human, new RegExp(`\\n${phase} +\\d`), `a ${phase} row`);
    const json = JSON.parse(await run('--json', 'inspect', 'phases')) as { timings: Record<string, Record<string, number> | undefined> };
    for (const op of ['create', 'start', 'lastExec']) assert.ok((json.timings[op]?.['total'] ?? -1) >= 0, `timings.${op}.total`);
    await sb.delete();
    const log = (await readFile(fx.d.logPath, 'utf8')).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = (msg: string) => log.find((l) => l['msg'] === msg && l['sandbox'] === sb.id);
    for (const msg of ['sandbox created', 'sandbox started']) {
      const timings = line(msg)?.['timings'] as Record<string, number> | undefined; // pino writes the object it was given
      assert.ok((timings?.['total'] ?? 0) > 0, `'${msg}' is logged with its phases`);
    }
    assert.ok(!(await readFile(fx.d.logPath, 'utf8')).includes('hunter2'), 'env values never reach the log');
  });

  it('lists the event stream, its event schema and /metrics in the OpenAPI document', async () => {
    const doc = JSON.parse(await text(await get(fx.d.socketPath, '/v1/openapi.json'))) as { paths: Record<string, Record<string, unknown>> };
    const events = JSON.stringify(doc.paths['/v1/events']);
    assert.match(events, /text\/event-stream/);
    for (const t of ['created', 'died', 'exec_failed']) assert.ok(events.includes(`"${t}"`), `the schema names '${t}'`);
    assert.ok(doc.paths['/metrics']?.['get'] !== undefined);
  });

  it('a restarted shedd publishes the adoption of a sandbox that kept running, and counts it', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'survivor' });
    await fx.restart('stop');
    const stream = await fx.shed.events({ since: 0 });
    const [adopted] = await untilDeleted(stream, 1);
    stream.close();
    assert.ok(adopted?.type === 'adopted' && adopted.sandbox === sb.id && adopted.seq === 1, JSON.stringify(adopted));
    const metrics = parseExposition(await text(await get(fx.d.socketPath, '/metrics')));
    assert.equal(metrics.samples.get(key('shed_sandbox_lifecycle_events_total', { event: 'adopted' })), 1);
    assert.equal(metrics.samples.get('shed_agent_links'), 1);
  });
});
