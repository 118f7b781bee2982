/* The connection to the host: connect with backoff, READY/HELLO, the frame decoder on
 * the way in, and a bounded output queue on the way out. Frames are always appended
 * whole, so the queue can be written in any slices and dropped at any time. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "frame.h"
#include "transport.h"

/* Data producers (process output, file reads, listings) add frames only while the
 * queue holds less than this; control replies are small and always queued. */
#define OUT_SOFT_LIMIT (256u * 1024u)
/* Above this the agent stops reading requests, so a host that sends without reading
 * cannot grow the queue without bound. */
#define OUT_HARD_LIMIT (1024u * 1024u)
/* The host→agent window announced in READY (STDIN and WDATA bytes in flight). */
#define INPUT_WINDOW (256u * 1024u)

void conn_init(const struct transport *target, uint64_t main_start_us);

/* A session is up (HELLO accepted) and the queue has room for data frames. */
bool conn_room(void);
/* Capabilities the host enabled in HELLO. */
bool conn_has_cap(uint64_t cap);
/* The queue frames are appended to (frame_begin ... frame_end). */
struct buf *conn_queue(void);

void conn_reply_ok(uint32_t stream);
__attribute__((format(printf, 3, 4))) void conn_reply_error(uint32_t stream, int err, const char *fmt, ...);
void conn_send_credit(uint32_t stream, uint64_t offset);
/* The protocol error for a decoder result (reply.c). */
void conn_frame_error(enum frame_result r, const struct msg *m);
/* Sends ERROR {EPROTO} on stream 0, stops serving, closes once it is flushed and
 * reconnects. `code` is one of the protocol error codes (e.g. "unknown_tag"). */
__attribute__((format(printf, 2, 3))) void conn_protocol_error(const char *code, const char *fmt, ...);

/* Writes queued frames; true when the socket would block (EPOLLOUT will resume). */
bool conn_flush(void);
/* Re-derives which events the connection fd waits for. */
void conn_update_interest(void);
