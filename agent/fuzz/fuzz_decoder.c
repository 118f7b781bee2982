/* Deterministic fuzz driver for the frame decoder (src/frame.c).
 *
 *   fuzz-decoder [SEED] [CASES]
 *
 * Generates CASES inputs from SEED: random bytes, valid frames of every message type,
 * those frames mutated (bit flips, truncation, length/type/flag/stream changes, tag and
 * vlen changes, NUL injection, duplicated fields, insertions, deletions, splices),
 * header-only frames and sequences of several frames. Each input is decoded three
 * ways - fed whole to the incremental decoder, fed in random pieces, and parsed with
 * the stateless frame_parse - and the three must agree frame by frame. Every result
 * must be a valid parse (whose fields are checked against the tables) or a clean
 * protocol error; valid frames must decode to exactly the fields that were encoded.
 * Built with ASan and UBSan, so any out-of-bounds access or UB aborts the run. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "frame.h"
#include "gen.h"
#include "proto.h"
#include "util.h"

#define MAX_OUTCOMES 64

static struct {
	uint64_t cases, random, valid, mutated, sequences, header_only, big;
	uint64_t frames_ok, protocol_errors, incomplete, split_feeds;
	uint64_t by_result[FRAME_ERR_NONEMPTY + 1];
} st;

static uint64_t current_case;

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...);
static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz-decoder: case %" PRIu64 ": ", current_case);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* ---- decoding and checks ---- */

struct outcome {
	enum frame_result r;
	uint16_t type;
	uint32_t stream, len;
	uint64_t hash; /* of the payload, for OK frames */
};

struct run {
	struct outcome o[MAX_OUTCOMES];
	unsigned n;
};

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211u;
	return h;
}

/* Invariants every successfully parsed message must satisfy. */
static void check_msg(const struct msg *m)
{
	const struct msg_spec *spec = msg_spec(m->type);
	if (!spec)
		fail("OK with unknown type 0x%x", m->type);
	if (m->len > FRAME_MAX_PAYLOAD)
		fail("OK with len %u", m->len);
	if ((spec->stream == STREAM_ZERO && m->stream) || (spec->stream == STREAM_NONZERO && !m->stream))
		fail("OK with %s on stream %u", spec->name, m->stream);
	switch (spec->payload) {
	case PAYLOAD_EMPTY:
		if (m->len)
			fail("OK: EMPTY with len %u", m->len);
		return;
	case PAYLOAD_DATA:
		if (m->len < DATA_PREFIX_LEN || m->data_len != m->len - DATA_PREFIX_LEN)
			fail("OK: DATA lengths");
		return;
	case PAYLOAD_RAW:
		if (m->data_len != m->len)
			fail("OK: RAW lengths");
		return;
	}
	if (m->present & ~spec->allowed)
		fail("OK: %s carries tags outside its allowed set", spec->name);
	for (unsigned t = 1; t < TAG_LIMIT; t++) {
		if (!msg_has(m, (enum tag)t))
			continue;
		const struct tag_spec *ts = tag_spec(t);
		uint32_t off = m->first[t].off, len = m->first[t].len;
		if (off > m->len || len > m->len - off)
			fail("OK: field %s outside the payload", ts->name);
		if ((ts->kind == KIND_U32 || ts->kind == KIND_I32) && len != 4)
			fail("OK: %s has %u bytes", ts->name, len);
		if (ts->kind == KIND_U64 && len != 8)
			fail("OK: %s has %u bytes", ts->name, len);
		if (ts->kind == KIND_STR && (len > STR_MAX || memchr(m->payload + off, 0, len)))
			fail("OK: bad str %s", ts->name);
		if (!ts->repeated && m->count[t] != 1)
			fail("OK: %s appears %u times", ts->name, m->count[t]);
		uint32_t cur = 0, seen = 0;
		struct str v;
		while (msg_next(m, (enum tag)t, &cur, &v))
			seen++;
		if (seen != m->count[t])
			fail("OK: %s iterates %u times, counted %u", ts->name, seen, m->count[t]);
	}
}

static void record(struct run *run, enum frame_result r, const struct msg *m)
{
	if ((unsigned)r > FRAME_ERR_NONEMPTY)
		fail("result %d is not a frame_result", (int)r);
	if (run->n == MAX_OUTCOMES)
		return;
	struct outcome *o = &run->o[run->n++];
	memset(o, 0, sizeof *o);
	o->r = r;
	if (r == FRAME_OK) {
		check_msg(m);
		o->type = m->type;
		o->stream = m->stream;
		o->len = m->len;
		o->hash = fnv(m->payload, m->len);
	}
}

/* Feeds `in` to a fresh decoder in pieces of the given sizes (0 = all at once). */
static void run_decoder(const uint8_t *in, size_t n, bool split, struct run *run)
{
	struct decoder d;
	decoder_init(&d);
	run->n = 0;
	size_t pos = 0;
	while (pos < n) {
		size_t cap = chance(3) ? 16u : 4096u; /* MIN evaluates its arguments twice */
		size_t piece = split ? 1 + below((uint32_t)MIN(n - pos, cap)) : n - pos;
		/* Each piece lives in its own exact-size allocation so ASan sees any overread. */
		uint8_t *chunk = xmalloc(piece);
		memcpy(chunk, in + pos, piece);
		size_t off = 0;
		bool broken = false;
		while (off < piece) {
			struct msg m;
			size_t used;
			enum frame_result r = decoder_feed(&d, chunk + off, piece - off, &used, &m);
			if (used > piece - off)
				fail("decoder used %zu of %zu bytes", used, piece - off);
			off += used;
			if (r == FRAME_MORE) {
				if (off != piece)
					fail("FRAME_MORE with %zu bytes left", piece - off);
				break;
			}
			record(run, r, &m);
			if (r != FRAME_OK) {
				broken = true;
				break;
			}
		}
		free(chunk);
		pos += piece;
		if (broken)
			break;
	}
	if (!run->n || run->o[run->n - 1].r == FRAME_OK)
		record(run, FRAME_MORE, NULL); /* ended between or inside frames */
	decoder_free(&d);
}

/* The stateless parser over the whole contiguous input. */
static void run_parse(const uint8_t *in, size_t n, struct run *run)
{
	run->n = 0;
	size_t pos = 0;
	for (;;) {
		struct msg m;
		size_t used;
		enum frame_result r = frame_parse(in + pos, n - pos, &m, &used);
		if (r == FRAME_MORE) {
			record(run, FRAME_MORE, NULL);
			return;
		}
		record(run, r, &m);
		if (r != FRAME_OK)
			return;
		pos += used;
	}
}

static void same_runs(const struct run *a, const struct run *b, const char *what)
{
	if (a->n != b->n)
		fail("%s: %u outcomes vs %u", what, a->n, b->n);
	for (unsigned i = 0; i < a->n; i++)
		if (memcmp(&a->o[i], &b->o[i], sizeof a->o[i]) != 0)
			fail("%s: outcome %u differs (%d vs %d)", what, i, a->o[i].r, b->o[i].r);
}

static void count(const struct run *run)
{
	for (unsigned i = 0; i < run->n; i++) {
		enum frame_result r = run->o[i].r;
		st.by_result[r]++;
		if (r == FRAME_OK)
			st.frames_ok++;
		else if (r == FRAME_MORE)
			st.incomplete++;
		else
			st.protocol_errors++;
	}
}

static void decode_all_ways(const uint8_t *data, size_t n)
{
	uint8_t *in = xmalloc(n ? n : 1);
	if (n)
		memcpy(in, data, n); /* an empty case may come with no buffer at all */
	static struct run whole, split, parsed;
	run_decoder(in, n, false, &whole);
	run_parse(in, n, &parsed);
	same_runs(&whole, &parsed, "incremental vs stateless");
	for (int i = 0; i < 2; i++) {
		run_decoder(in, n, true, &split);
		same_runs(&whole, &split, "whole vs split");
		st.split_feeds++;
	}
	count(&whole);
	free(in);
}

/* A valid frame must decode to exactly what was encoded. */
static void check_roundtrip(const struct gen *g)
{
	struct msg m;
	size_t used;
	enum frame_result r = frame_parse(g->b.p, g->b.len, &m, &used);
	if (r != FRAME_OK || used != g->b.len)
		fail("valid %s frame: result %d, used %zu of %zu", msg_spec(g->type)->name, r, used, g->b.len);
	if (m.type != g->type || m.stream != g->stream)
		fail("valid frame: header mismatch");
	for (unsigned i = 0; i < g->nfields; i++) {
		const struct field *f = &g->fields[i];
		uint32_t cur = 0, k = 0;
		struct str v;
		bool found = false;
		/* the i-th field is the k-th occurrence of its tag */
		for (unsigned j = 0; j < i; j++)
			k += g->fields[j].tag == f->tag;
		while (msg_next(&m, (enum tag)f->tag, &cur, &v)) {
			if (k-- == 0) {
				found = v.len == f->len && !memcmp(v.p, g->b.p + FRAME_HEADER_LEN + f->off, f->len);
				break;
			}
		}
		if (!found)
			fail("valid %s frame: field %s not decoded as encoded", msg_spec(g->type)->name,
			     tag_spec(f->tag)->name);
	}
}

/* ---- cases ---- */

static void case_random(struct buf *b)
{
	size_t n = chance(10) ? below(70000) : below(200);
	b->len = 0;
	random_bytes(buf_append(b, n), n, false);
	if (chance(2) && n >= FRAME_HEADER_LEN) {
		/* plausible header so the payload rules get exercised too */
		put_le32(b->p, (uint32_t)below((uint32_t)n));
		put_le16(b->p + 4, random_type());
		put_le16(b->p + 6, 0);
	}
	st.random++;
}

static void case_header_only(struct buf *b)
{
	/* A length over the limit must be refused from the 12 header bytes alone. */
	b->len = 0;
	frame_begin(b, random_type(), 1);
	put_le32(b->p, FRAME_MAX_PAYLOAD + 1 + below(UINT32_MAX - FRAME_MAX_PAYLOAD - 1));
	struct decoder d;
	decoder_init(&d);
	struct msg m;
	size_t used;
	enum frame_result r = decoder_feed(&d, b->p, b->len, &used, &m);
	if (r != FRAME_ERR_TOO_LARGE)
		fail("oversized len not refused from the header: %d", r);
	decoder_free(&d);
	st.header_only++;
}

static void one_case(struct gen *g, struct gen *other)
{
	g->b.len = 0;
	other->b.len = 0;
	uint32_t kind = below(100);
	if (kind < 15) {
		case_random(&g->b);
	} else if (kind < 17) {
		case_header_only(&g->b);
	} else if (kind < 40) {
		bool big = chance(300);
		gen_frame(g, random_type(), big);
		check_roundtrip(g);
		st.valid++;
		st.big += big;
	} else if (kind < 85) {
		gen_frame(g, random_type(), false);
		gen_frame(other, random_type(), false);
		mutate(&g->b, &other->b);
		st.mutated++;
	} else {
		/* several frames back to back, some of them mutated */
		unsigned frames = 2 + below(4);
		struct buf seq = { 0 };
		for (unsigned i = 0; i < frames; i++) {
			g->b.len = 0;
			gen_frame(g, random_type(), false);
			if (chance(3)) {
				other->b.len = 0;
				gen_frame(other, random_type(), false);
				mutate(&g->b, &other->b);
			}
			buf_put(&seq, g->b.p, g->b.len);
		}
		buf_free(&g->b);
		g->b = seq;
		st.sequences++;
	}
	decode_all_ways(g->b.p, g->b.len);
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	uint64_t cases = argc > 2 ? strtoull(argv[2], NULL, 0) : 100000;
	if (argc > 3) {
		fprintf(stderr, "usage: fuzz-decoder [SEED] [CASES]\n");
		return 2;
	}
	rng = seed;
	struct gen g = { 0 }, other = { 0 };
	for (current_case = 0; current_case < cases; current_case++) {
		one_case(&g, &other);
		st.cases++;
	}
	buf_free(&g.b);
	buf_free(&other.b);
	printf("fuzz-decoder: seed=%" PRIu64 " cases=%" PRIu64 " (random=%" PRIu64 " valid=%" PRIu64
	       " big=%" PRIu64 " mutated=%" PRIu64 " sequences=%" PRIu64 " header_only=%" PRIu64
	       ") frames_ok=%" PRIu64 " protocol_errors=%" PRIu64 " incomplete=%" PRIu64 " split_feeds=%" PRIu64
	       "\n",
	       seed, st.cases, st.random, st.valid, st.big, st.mutated, st.sequences, st.header_only, st.frames_ok,
	       st.protocol_errors, st.incomplete, st.split_feeds);
	static const char *names[] = { "ok", "more", "too_large", "unknown_type", "flags", "stream", "overrun",
				       "unknown_tag", "tag_not_allowed", "repeated_tag", "value_size", "nul",
				       "short_data", "nonempty" };
	printf("fuzz-decoder: results:");
	for (unsigned i = 0; i < N_ELEMENTS(names); i++)
		printf(" %s=%" PRIu64, names[i], st.by_result[i]);
	printf("\n");
	return 0;
}
