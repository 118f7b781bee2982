// Constants of the terminal WebSocket, apart from its schemas (api/terminal.ts) so clients
// can use them without loading TypeBox.

/**
 * WebSocket close codes of a terminal. An error closes with 4000 + the HTTP status of its
 * code (4404 not_found, 4400 invalid_argument, …) right after an `error` message; 1009 is
 * WebSocket's own "message too big".
 */
export const TERMINAL_CLOSE = {
  /** The process exited and its `exit` message was sent. */
  exited: 1000,
  /** shedd is shutting down; the process keeps running. */
  goingAway: 1001,
  tooBig: 1009,
  errorBase: 4000,
} as const;

/** Largest message either side sends (input, output or control); the SDK splits longer input. */
export const TERMINAL_MAX_MESSAGE_BYTES = 65_536;
