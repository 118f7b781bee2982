#include "ring.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Runs are few unless a process alternates stdout and stderr constantly. The cap bounds
 * the bookkeeping (16 bytes each); at the cap the other pipe waits, or with keep=drop
 * the oldest run is discarded. */
#define RUNS_INITIAL 8u
#define RUNS_MAX 4096u

enum ring_result ring_init(struct ring *r, size_t cap, bool drop)
{
	memset(r, 0, sizeof *r);
	r->buf = malloc(cap);
	if (!r->buf)
		return RING_NOMEM;
	r->cap = cap;
	r->drop = drop;
	r->runs = xmalloc(RUNS_INITIAL * sizeof *r->runs);
	r->runs_cap = RUNS_INITIAL;
	return RING_OK;
}

void ring_free(struct ring *r)
{
	free(r->buf);
	free(r->runs);
	memset(r, 0, sizeof *r);
}

static struct ring_run *run_at(const struct ring *r, uint32_t i)
{
	return &r->runs[r->head + i];
}

static void runs_pop_front(struct ring *r)
{
	r->head++;
	r->nruns--;
}

/* Forgets runs that lie wholly before start. */
static void runs_trim(struct ring *r)
{
	while (r->nruns >= 2 && run_at(r, 1)->off <= r->start)
		runs_pop_front(r);
}

static bool runs_full(const struct ring *r)
{
	return r->nruns == RUNS_MAX;
}

static void runs_push(struct ring *r, uint64_t off, enum out_kind kind)
{
	if (r->head + r->nruns == r->runs_cap) {
		if (r->head > 0) {
			memmove(r->runs, r->runs + r->head, r->nruns * sizeof *r->runs);
			r->head = 0;
		} else {
			r->runs_cap = MIN(r->runs_cap * 2, RUNS_MAX);
			r->runs = xrealloc(r->runs, r->runs_cap * sizeof *r->runs);
		}
	}
	struct ring_run *run = run_at(r, r->nruns);
	run->off = off;
	run->kind = (uint8_t)kind;
	r->nruns++;
}

static bool needs_run(const struct ring *r, enum out_kind kind)
{
	return r->nruns == 0 || run_at(r, r->nruns - 1)->kind != kind;
}

size_t ring_room(struct ring *r, enum out_kind kind)
{
	if (needs_run(r, kind) && runs_full(r)) {
		/* Free the oldest run by discarding its bytes, if the policy allows it. */
		uint64_t next = run_at(r, 1)->off;
		if (!r->drop && next > MAX(r->acked, r->start))
			return 0;
		r->start = MAX(r->start, next);
		runs_trim(r);
	}
	if (r->drop)
		return r->cap;
	/* keep=block: bytes below max(acked, start) may be discarded, none above. */
	uint64_t floor = MAX(r->acked, r->start);
	return r->cap - (size_t)(r->end - floor);
}

int ring_reserve(struct ring *r, size_t n, struct iovec iov[2])
{
	size_t pos = (size_t)(r->end % r->cap);
	size_t first = MIN(n, r->cap - pos);
	iov[0].iov_base = r->buf + pos;
	iov[0].iov_len = first;
	iov[1].iov_base = r->buf;
	iov[1].iov_len = n - first;
	return n - first ? 2 : 1;
}

void ring_commit(struct ring *r, enum out_kind kind, size_t n)
{
	if (n == 0)
		return;
	if (needs_run(r, kind))
		runs_push(r, r->end, kind);
	r->end += n;
	if (r->end - r->start > r->cap)
		r->start = r->end - r->cap;
	runs_trim(r);
}

/* Index of the run holding offset `off`: the last one starting at or before it. */
static uint32_t run_index(const struct ring *r, uint64_t off)
{
	uint32_t lo = 0, hi = r->nruns;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (run_at(r, mid)->off <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

size_t ring_peek(const struct ring *r, uint64_t from, size_t max, enum out_kind *kind, struct iovec iov[2])
{
	if (from < r->start || from >= r->end || r->nruns == 0)
		return 0;
	uint32_t i = run_index(r, from);
	uint64_t run_end = i + 1 < r->nruns ? run_at(r, i + 1)->off : r->end;
	size_t n = (size_t)MIN((uint64_t)max, run_end - from);
	*kind = (enum out_kind)run_at(r, i)->kind;
	size_t pos = (size_t)(from % r->cap);
	size_t first = MIN(n, r->cap - pos);
	iov[0].iov_base = r->buf + pos;
	iov[0].iov_len = first;
	iov[1].iov_base = r->buf;
	iov[1].iov_len = n - first;
	return n;
}

void ring_ack(struct ring *r, uint64_t off)
{
	off = MIN(off, r->end);
	if (off > r->acked)
		r->acked = off;
}
