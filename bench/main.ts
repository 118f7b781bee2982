// `npm run bench [-- suite…] [--quick]`: runs the suites, prints a table and writes
// build/bench-results.json. Suites are listed here; each lives in suites/<name>.ts.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { json, table, type Row } from './report.js';
import type { Suite } from './suite.js';
import { agentSuite } from './suites/agent.js';
import { containerSuite } from './suites/container.js';
import { daemonSuite } from './suites/daemon.js';
import { forkSuite } from './suites/fork.js';
import { imagesSuite } from './suites/images.js';
import { networkSuite } from './suites/network.js';
import { portsSuite } from './suites/ports.js';
import { sandboxSuite } from './suites/sandbox.js';
import { snapshotSuite } from './suites/snapshot.js';

const SUITES: readonly Suite[] = [sandboxSuite, daemonSuite, containerSuite, agentSuite, imagesSuite, snapshotSuite, forkSuite, networkSuite, portsSuite];
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RESULTS = join(repo, 'build/bench-results.json');

async function main(argv: readonly string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const names = argv.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(`unknown suite ${unknown.join(', ')}; suites: ${SUITES.map((s) => s.name).join(', ')}`);
  }
  const chosen = names.length === 0 ? SUITES : SUITES.filter((s) => names.includes(s.name));
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const suite of chosen) {
    console.error(`bench: ${suite.name}: ${suite.description}`);
    const note = (text: string): void => {
      console.error(`bench: ${suite.name}: ${text}`);
      notes.push(`${suite.name}: ${text}`);
    };
    rows.push(...(await suite.run({ scale: quick ? 0.1 : 1, note })));
  }
  console.log(table(rows));
  if (notes.length > 0) console.log(`\nnotes:\n${notes.map((n) => `  - ${n}`).join('\n')}`);
  const meta = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, quick, notes };
  await mkdir(dirname(RESULTS), { recursive: true });
  await writeFile(RESULTS, json(rows, meta) + '\n');
  console.error(`bench: results written to ${RESULTS}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
