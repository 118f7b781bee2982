// Raw HTTP over shedd's unix socket (node:http), for tests that must send what the SDK never
// would (malformed JSON, wrong types, hostile paths) or read a process's output records with
// their offsets (reattaching after a restart).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { OutputRecordDecoder, type OutputRecord } from '@shed/protocol/client';

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: unknown;
}

export interface RawRequest {
  method: string;
  path: string;
  /** Sent as is; a string or Buffer body gets `contentType` (default application/json). */
  body?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** A Content-Length to claim instead of the body's own (an oversized body without sending it). */
  declaredLength?: number;
  /** Aborting destroys the connection (a client hanging up). */
  signal?: AbortSignal;
}

function open(socketPath: string, r: RawRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...r.headers };
    if (r.body !== undefined) {
      headers['content-type'] ??= r.contentType ?? 'application/json';
      headers['content-length'] = String(r.declaredLength ?? Buffer.byteLength(r.body));
    }
    const req = httpRequest({ socketPath, method: r.method, path: r.path, headers, agent: false, ...(r.signal === undefined ? {} : { signal: r.signal }) }, resolve);
    req.once('error', reject);
    // With a claimed length the body is left short and the request open: shedd must answer from the header alone.
    if (r.declaredLength !== undefined) req.write(r.body ?? '');
    else req.end(r.body);
  });
}

export async function raw(socketPath: string, r: RawRequest): Promise<RawResponse> {
  const res = await open(socketPath, r);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer); // IncomingMessage yields Buffers
  const text = Buffer.concat(chunks).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode ?? 0, headers: res.headers, text, json };
}

/** The `error.code` of an error body, or undefined. */
export function errorCode(r: RawResponse): string | undefined {
  const body = r.json;
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const err = body.error;
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * Reads a process's output records as they come, calling `onRecord` for each; resolves when
 * the stream ends (after its exit record, or cut by a dying shedd).
 */
export async function readOutput(socketPath: string, path: string, onRecord: (rec: OutputRecord) => void): Promise<{ status: number }> {
  const res = await open(socketPath, { method: 'GET', path });
  const decoder = new OutputRecordDecoder();
  try {
    for await (const chunk of res) for (const rec of decoder.push(chunk as Buffer)) onRecord(rec); // IncomingMessage yields Buffers
  } catch {
    // The socket was cut (shedd killed): what arrived so far is what the client saw.
  }
  return { status: res.statusCode ?? 0 };
}
