import { EVENTS_CONTENT_TYPE, EventsQuery, ROUTES, ShedEvent } from '@shed/protocol';
import type { AnyEvent } from '../../core/events.js';
import type { Api, ApiDeps } from '../app.js';
import { parseLastEventId, pipeEvents } from '../sse.js';

export function observeRoutes(app: Api, { sandboxes, metrics }: ApiDeps): void {
  // Subscribed before the headers go out: once a client has them, it misses no later event.
  app.get(ROUTES.events, {
    schema: {
      querystring: EventsQuery,
      description: 'Sandbox lifecycle events as server-sent events: `id:` is the sequence number, `data:` one event. ' +
        'Last-Event-ID (or ?since=) replays the kept events after it first; `event: gap` says some were no longer kept, ' +
        '`event: overflow` ends the stream of a client that fell too far behind (reconnect with Last-Event-ID).',
      response: { 200: { content: { [EVENTS_CONTENT_TYPE]: { schema: ShedEvent } } } },
    },
  }, async (req, reply) => {
    const since = parseLastEventId(req.headers['last-event-id']) ?? req.query.since;
    const { sandbox, type } = req.query;
    const types = type === undefined ? undefined : new Set<string>(type);
    const filter = (e: AnyEvent): boolean =>
      (sandbox === undefined || e.sandbox === sandbox || e.name === sandbox) && (types === undefined || types.has(e.type));
    const sub = sandboxes.events.subscribe({ filter, ...(since === undefined ? {} : { since }) });
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': EVENTS_CONTENT_TYPE, 'cache-control': 'no-store' });
    reply.raw.flushHeaders();
    await pipeEvents(sub, reply.raw);
  });

  app.get(ROUTES.metrics, { schema: { description: 'Prometheus metrics (text exposition format)' } }, async (_req, reply) => {
    const { text, contentType } = await metrics.render();
    return reply.type(contentType).send(text);
  });
}
