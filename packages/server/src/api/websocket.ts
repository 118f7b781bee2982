import type { WebsocketPluginOptions } from '@fastify/websocket';
import { TERMINAL_CLOSE, TERMINAL_MAX_MESSAGE_BYTES } from '@shed/protocol';

/**
 * WebSocket settings (terminals are the only WebSocket routes). A message past the limit
 * makes ws close with 1009 before any of it is buffered whole.
 */
export const websocketOptions: WebsocketPluginOptions = {
  options: { maxPayload: TERMINAL_MAX_MESSAGE_BYTES, perMessageDeflate: false },
  // A client that vanishes or sends an oversized message is routine, not a daemon error.
  errorHandler(error, socket, request) {
    request.log.info({ err: error }, 'terminal connection failed');
    socket.terminate();
  },
  // Shutting down detaches terminals (processes keep running); 1001 tells clients to reconnect later.
  preClose(done) {
    for (const client of this.websocketServer.clients) client.close(TERMINAL_CLOSE.goingAway, 'shedd is stopping');
    this.websocketServer.close(() => done());
  },
};
