import { connect, type GlobalOptions } from '../connect.js';
import { bytes, printJson } from '../output.js';

export async function systemPrune(f: { images?: boolean }, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const r = await shed.prune({ images: f.images === true });
    if (g.json === true) {
      printJson(r);
      return 0;
    }
    const lines = r.swept.length === 0 ? ['no orphans found'] : r.swept.map((s) => `removed ${s}`);
    if (r.layers.removed.length > 0) lines.push(`layers: removed ${r.layers.removed.length} (${r.layers.removed.join(', ')}), freed ${bytes(r.layers.freedBytes)}`);
    if (r.images !== null) lines.push(`images: removed ${r.images.removed.length}, freed ${bytes(r.images.freedBytes)}`);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } finally {
    shed.close();
  }
}
