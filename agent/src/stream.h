/* Streams: what the host opened with a request and the agent has not finished. Each
 * kind (a process, a file read, a file write, a listing) plugs in its own ops. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define DEFAULT_WINDOW (256u * 1024u)
#define WINDOW_MIN (64u * 1024u)
#define WINDOW_MAX (16u * 1024u * 1024u)

struct stream;

struct stream_ops {
	const char *name;
	/* A non-opening frame on this stream. false: the type makes no sense on this kind
	 * of stream, which is a protocol error. */
	bool (*on_frame)(struct stream *s, const struct msg *m);
	/* Adds at most one data frame to the connection queue (only called while it has
	 * room). true when it made progress (sent something or finished). */
	bool (*pump)(struct stream *s);
	/* Frees what the stream holds; it is already unlinked. Called when it ends, when
	 * the host closes it, and when the connection is lost. */
	void (*release)(struct stream *s);
};

struct stream {
	uint32_t id;
	const struct stream_ops *ops;
	struct stream *prev, *next; /* all streams, in pump order */
	/* agent→host data: bytes sent and acknowledged, in the stream's own units */
	uint64_t sent, acked;
	uint32_t window;
	/* host→agent data (STDIN/WDATA): bytes received, and the last CREDIT sent */
	uint64_t in_received, in_credited;
};

/* Allocates `size` bytes (a struct starting with struct stream) and registers it. */
struct stream *stream_open(uint32_t id, const struct stream_ops *ops, size_t size);
struct stream *stream_find(uint32_t id);
/* Unregisters, releases and frees s. */
void stream_end(struct stream *s);
void streams_drop_all(void);
/* Lets streams produce while the connection has room; true if any did. */
bool streams_pump(void);

/* Window parsing for requests: `window` tag or the default; 0 when out of range. */
uint32_t stream_window_arg(const struct msg *m);
/* Bytes the stream may send now under its window (unbounded without CAP_CREDIT). */
uint64_t stream_credit(const struct stream *s);
/* CREDIT from the host: everything before `offset` was consumed. */
void stream_acked(struct stream *s, uint64_t offset);
/* n more input bytes arrived. false: the host overran the window (protocol error
 * already raised). */
bool stream_input_arrived(struct stream *s, size_t n);
/* `written` input bytes have now reached the process or file: credit them back. */
void stream_input_written(struct stream *s, uint64_t written);
