// The image store: resolve on the sandbox-create path, the offline default image build,
// and import+unpack of an OCI layout — each row checks what it measured.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeOciLayout } from '../../test/images/helpers/oci.js';
import { openTestStore } from '../../test/images/helpers/store.js';
import { dir, file, gzip, makeTar } from '../../test/images/helpers/tars.js';
import { stats, type Row } from '../report.js';
import { check, sampleMs, type Suite, type SuiteOptions } from '../suite.js';

const SUITE = 'images';

/** resolve() of an image already unpacked: a map lookup and a last-used update in SQLite. */
async function resolveHot(n: number): Promise<Row> {
  const t = await openTestStore();
  try {
    const first = await t.store.resolve('default');
    const samples = await sampleMs(n, async () => {
      const r = await t.store.resolve('default');
      check(r.rootfs === first.rootfs, 'resolve returns the unpacked rootfs');
    });
    return { suite: SUITE, name: 'resolve unpacked image', unit: 'ms', higherIsBetter: false, budgetP50: 0.5, stats: stats(samples) };
  } finally {
    await t.close();
  }
}

/** Building `default` from busybox-static in a fresh data dir: tar, stage, unpack, commit. */
async function buildDefault(n: number): Promise<Row> {
  const samples = await sampleMs(n, async () => {
    const t = await openTestStore();
    try {
      const r = await t.store.resolve('default');
      check((await readFile(join(r.rootfs, 'etc/passwd'), 'utf8')).startsWith('root:'), 'the default image has /etc/passwd');
    } finally {
      await t.close();
    }
  });
  return { suite: SUITE, name: 'build default image (busybox)', unit: 'ms', higherIsBetter: false, budgetP50: 1000, stats: stats(samples) };
}

/** Import of a 2-layer OCI layout (gzip, 200 small files, 4 MiB) into a fresh store. */
async function importLayout(n: number): Promise<Row> {
  const base = await makeTar([dir('usr/'), ...Array.from({ length: 200 }, (_, i) => file(`usr/f${i}`, `file ${i}\n`))]);
  const big = await makeTar([file('blob', Buffer.alloc(4 << 20, 7))]);
  const samples = await sampleMs(n, async () => {
    const t = await openTestStore();
    try {
      await writeOciLayout(join(t.work, 'layout'), [gzip(base), gzip(big)]);
      const info = await t.store.import(join(t.work, 'layout'), { names: ['bench:1'] });
      const r = await t.store.resolve(info.digest);
      check((await readFile(join(r.rootfs, 'usr/f199'), 'utf8')) === 'file 199\n', 'the last file of layer 1 is unpacked');
    } finally {
      await t.close();
    }
  });
  return { suite: SUITE, name: 'import OCI layout (200 files, 4 MiB)', unit: 'ms', higherIsBetter: false, stats: stats(samples) };
}

export const imagesSuite: Suite = {
  name: SUITE,
  description: 'resolve on the create path, default image build, OCI layout import and unpack',
  async run(opts: SuiteOptions): Promise<Row[]> {
    const scaled = (n: number): number => Math.max(3, Math.round(n * opts.scale));
    return [await resolveHot(scaled(2000)), await buildDefault(scaled(10)), await importLayout(scaled(10))];
  },
};
