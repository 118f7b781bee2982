import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { connect, type GlobalOptions } from '../connect.js';
import { UsageError, printJson } from '../output.js';

interface Remote {
  sandbox: string;
  path: string;
}

/** `ID:/abs/path` → remote; anything else is a local path ('-' = stdin/stdout). */
function parse(arg: string): Remote | undefined {
  const m = /^([^/:]+):(.*)$/.exec(arg);
  return m === null || m[1] === undefined || m[2] === undefined ? undefined : { sandbox: m[1], path: m[2] };
}

/** `shed cp SRC DST`, one side `ID:/path`: streams the file either way. */
export async function cpCommand(src: string, dst: string, g: GlobalOptions): Promise<number> {
  const from = parse(src);
  const to = parse(dst);
  if ((from === undefined) === (to === undefined)) throw new UsageError('exactly one of SRC and DST must be ID:/path in a sandbox');
  const shed = await connect(g);
  try {
    if (to !== undefined) {
      const sb = await shed.sandboxes.get(to.sandbox);
      const input = src === '-' ? process.stdin : createReadStream(src);
      const { sizeBytes } = await sb.files.write(to.path, input);
      report(g, sizeBytes, `${src} → ${dst}`);
    } else if (from !== undefined) {
      const sb = await shed.sandboxes.get(from.sandbox);
      const chunks = await sb.files.readStream(from.path);
      let sizeBytes = 0;
      const counted = Readable.from((async function* () {
        for await (const c of chunks) {
          sizeBytes += c.byteLength;
          yield c;
        }
      })());
      await pipeline(counted, dst === '-' ? process.stdout : createWriteStream(dst));
      if (dst !== '-') report(g, sizeBytes, `${src} → ${dst}`);
    }
    return 0;
  } finally {
    shed.close();
  }
}

function report(g: GlobalOptions, sizeBytes: number, what: string): void {
  if (g.json === true) printJson({ sizeBytes });
  else process.stderr.write(`${what}: ${sizeBytes} bytes\n`);
}
