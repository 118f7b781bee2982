import { Readable } from 'node:stream';
import { ShedError } from '../../core/errors.js';

/**
 * The raw body of a streaming route. The content-type parser hands the request stream
 * through; a request without a body or with another type never reaches the handler.
 */
export function asByteStream(body: unknown): AsyncIterable<Uint8Array> {
  if (body instanceof Readable) return body;
  if (body === undefined || body === null) return (async function* () {})();
  throw new ShedError('invalid_argument', 'this endpoint takes a raw body: send Content-Type: application/octet-stream');
}

export function asReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (body === undefined || body === null) return Readable.from([]);
  throw new ShedError('invalid_argument', 'this endpoint takes a raw body: send Content-Type: application/octet-stream or application/x-tar');
}
