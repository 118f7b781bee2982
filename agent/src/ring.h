/* A process's output ring: the last `cap` bytes of its output sequence (stdout and
 * stderr interleaved in read order), addressed by sequence offset. Byte `off` lives at
 * buf[off % cap], so replaying from any held offset is arithmetic, not a search. Which
 * stream each byte came from is kept as runs: a run starts where the kind changes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum out_kind { OUT_STDOUT = 0, OUT_STDERR = 1 };

struct ring_run {
	uint64_t off;
	uint8_t kind;
};

struct ring {
	uint8_t *buf;
	size_t cap;
	uint64_t start, end; /* held bytes: [start, end) */
	uint64_t acked;      /* highest offset a client acknowledged */
	bool drop;           /* keep=1: discard the oldest bytes instead of blocking */
	struct ring_run *runs; /* runs[head .. head+nruns), in offset order */
	uint32_t head, nruns, runs_cap;
};

enum ring_result { RING_OK, RING_NOMEM };

/* The buffer is reserved up front (so a later append cannot fail) but its pages are
 * only touched as output arrives. */
enum ring_result ring_init(struct ring *r, size_t cap, bool drop);
void ring_free(struct ring *r);

/* Bytes of `kind` that may be appended now. With keep=block that is what fits without
 * discarding an unacknowledged byte; with keep=drop it is always cap. 0 means: stop
 * reading that pipe until a client acknowledges more. */
size_t ring_room(struct ring *r, enum out_kind kind);
/* Where the next n bytes (n <= ring_room) go: one or two iovecs. */
int ring_reserve(struct ring *r, size_t n, struct iovec iov[2]);
/* Appends n bytes just written at the reserved place. */
void ring_commit(struct ring *r, enum out_kind kind, size_t n);
/* Up to max bytes from `from` (start <= from < end) that share one kind. */
size_t ring_peek(const struct ring *r, uint64_t from, size_t max, enum out_kind *kind, struct iovec iov[2]);
/* A client has consumed everything before off. */
void ring_ack(struct ring *r, uint64_t off);
