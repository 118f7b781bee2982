import {
  Empty, ExecRequest, ExecResponse, KillRequest, OUTPUT_CONTENT_TYPE, OutputQuery, ProcessListResponse, ProcessParams, ROUTES, SandboxParams, SpawnRequest,
  SpawnResponse, StdinQuery, StdinResponse, WaitResponse, encodeOutputRecord,
} from '@shed/protocol';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ProcessEvent } from '../../core/process-output.js';
import { errorBody, toShedError } from '../errors.js';
import { abortOnClose } from '../abort.js';
import type { Api, ApiDeps } from '../app.js';
import { processExit } from '../mappers.js';
import { asByteStream } from './streams.js';

export function processRoutes(app: Api, { commands }: ApiDeps): void {
  app.post(ROUTES.exec, { schema: { params: SandboxParams, body: ExecRequest, response: { 200: ExecResponse } } }, async (req, reply) => {
    const { stdin, encoding = 'utf8', ...cmd } = req.body;
    const r = await commands.exec(req.params.sandbox, {
      ...cmd, ...(stdin === undefined ? {} : { stdin: Buffer.from(stdin, encoding) }), signal: abortOnClose(reply.raw),
    });
    return {
      exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, truncated: r.truncated, timings: r.timings, encoding,
      stdout: r.stdout.toString(encoding), stderr: r.stderr.toString(encoding),
    };
  });

  app.post(ROUTES.processes, { schema: { params: SandboxParams, body: SpawnRequest, response: { 201: SpawnResponse } } }, async (req, reply) => {
    const p = await commands.spawn(req.params.sandbox, req.body);
    return reply.status(201).send({ procId: p.procId, pid: p.pid });
  });

  app.get(ROUTES.processes, { schema: { params: SandboxParams, response: { 200: ProcessListResponse } } }, async (req, reply) => ({
    processes: (await commands.list(req.params.sandbox, { signal: abortOnClose(reply.raw) })).map((p) => ({ ...p, argv: [...p.argv] })),
  }));

  // Output as one chunked response of records (@shed/protocol output-frames): the unix
  // socket's own flow control reaches the agent, so a slow reader slows the process rather
  // than filling the daemon's memory. See docs/api.md for why not a WebSocket.
  app.get(ROUTES.output, { schema: { params: ProcessParams, querystring: OutputQuery } }, async (req, reply) => {
    const { sandbox, procId } = req.params;
    const events = await commands.output(sandbox, procId, { ...req.query, signal: abortOnClose(reply.raw) });
    // Headers go out now, not with the first output: a client waits for them before it
    // writes the stdin that a process like `cat` needs before it prints anything.
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': OUTPUT_CONTENT_TYPE });
    reply.raw.flushHeaders();
    await pipeline(Readable.from(records(events), { objectMode: false }), reply.raw).catch(() => undefined);
  });

  app.post(ROUTES.stdin, { schema: { params: ProcessParams, querystring: StdinQuery, response: { 200: StdinResponse } } }, async (req, reply) => {
    const p = await commands.process(req.params.sandbox, req.params.procId);
    const signal = abortOnClose(reply.raw);
    let bytes = 0;
    for await (const chunk of asByteStream(req.body)) {
      bytes += chunk.byteLength;
      await p.write(chunk, signal);
    }
    if (req.query.eof !== false) await p.endStdin();
    return { bytes };
  });

  app.post(ROUTES.kill, { schema: { params: ProcessParams, body: KillRequest, response: { 200: Empty } } }, async (req) => {
    const sig = req.body.signal ?? 'SIGTERM';
    // The schema admits only SIG… names and 1..64; the agent client rejects a name the host does not know.
    await (await commands.process(req.params.sandbox, req.params.procId)).kill(sig as NodeJS.Signals | number);
    return {};
  });

  app.post(ROUTES.wait, { schema: { params: ProcessParams, body: Empty, response: { 200: WaitResponse } } }, async (req, reply) =>
    processExit(await (await commands.process(req.params.sandbox, req.params.procId)).wait(abortOnClose(reply.raw))),
  );
}

async function* records(events: AsyncGenerator<ProcessEvent>): AsyncGenerator<Buffer> {
  try {
    for await (const ev of events) {
      if (ev.kind === 'exit') yield encodeOutputRecord('exit', ev.offset, Buffer.from(JSON.stringify(processExit(ev.exit))));
      else yield encodeOutputRecord(ev.kind, ev.offset, ev.data);
    }
  } catch (err) {
    // Headers are gone by now: the failure travels as the stream's last record.
    yield encodeOutputRecord('error', 0, Buffer.from(JSON.stringify(errorBody(toShedError(err)))));
  }
}
