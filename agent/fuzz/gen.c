/* Input generation for the decoder fuzz driver: a seeded PRNG, valid frames of every
 * message type (recording where each field went), and frame mutations. */
#include "gen.h"

#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"

uint64_t rng;

uint64_t rnd(void)
{
	/* splitmix64: small, fast, and the same sequence on every platform */
	uint64_t z = (rng += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

bool chance(uint32_t one_in)
{
	return below(one_in) == 0;
}

void random_bytes(uint8_t *p, size_t n, bool no_nul)
{
	for (size_t i = 0; i < n; i++) {
		p[i] = (uint8_t)rnd();
		if (no_nul && !p[i])
			p[i] = 'a' + (uint8_t)below(26);
	}
}

static size_t str_len(void)
{
	if (chance(50))
		return STR_MAX; /* the boundary */
	if (chance(10))
		return below(STR_MAX + 1);
	return below(40);
}

static void gen_entry(struct buf *b)
{
	/* A nested entry with a random subset of the entry tags. */
	for (unsigned t = 1; t < TAG_LIMIT; t++) {
		if (!(entry_allowed_tags & TAGBIT(t)) || !chance(2))
			continue;
		const struct tag_spec *ts = tag_spec(t);
		unsigned reps = ts->repeated ? 1 + below(3) : 1;
		for (unsigned r = 0; r < reps; r++) {
			if (ts->kind == KIND_U32 || ts->kind == KIND_I32)
				tlv_u32(b, (uint8_t)t, (uint32_t)rnd());
			else if (ts->kind == KIND_U64)
				tlv_u64(b, (uint8_t)t, rnd());
			else {
				size_t n = below(30);
				uint8_t s[32];
				random_bytes(s, n, true);
				tlv_mem(b, (uint8_t)t, s, n);
			}
		}
	}
}

static void gen_value(struct gen *g, uint8_t tag)
{
	const struct tag_spec *ts = tag_spec(tag);
	struct buf *b = &g->b;
	size_t field_at = b->len;
	switch (ts->kind) {
	case KIND_U32:
		tlv_u32(b, tag, (uint32_t)rnd());
		break;
	case KIND_I32:
		tlv_i32(b, tag, (int32_t)rnd());
		break;
	case KIND_U64:
		tlv_u64(b, tag, rnd());
		break;
	case KIND_STR: {
		size_t n = str_len();
		uint8_t *v = buf_append(b, 5 + n);
		v[0] = tag;
		put_le32(v + 1, (uint32_t)n);
		random_bytes(v + 5, n, true);
		break;
	}
	case KIND_BYTES: {
		size_t at = tlv_begin(b, tag);
		gen_entry(b);
		tlv_end(b, at);
		break;
	}
	}
	if (g->nfields < MAX_FIELDS) {
		struct field *f = &g->fields[g->nfields++];
		f->tag = tag;
		f->off = field_at + 5;
		f->len = b->len - field_at - 5;
	}
}

uint16_t random_type(void)
{
	for (;;) {
		uint16_t t = (uint16_t)below(MSG_TYPE_LIMIT);
		if (msg_spec(t))
			return t;
	}
}

static uint32_t stream_for(const struct msg_spec *spec)
{
	switch (spec->stream) {
	case STREAM_ZERO:
		return 0;
	case STREAM_NONZERO:
		return 1 + below(1000);
	default:
		return chance(10) ? 0 : (chance(20) ? (uint32_t)rnd() : 1 + below(1000));
	}
}

/* Appends one valid frame of `type` to g->b and records its fields. */
void gen_frame(struct gen *g, uint16_t type, bool big)
{
	const struct msg_spec *spec = msg_spec(type);
	g->type = type;
	g->stream = stream_for(spec);
	g->nfields = 0;
	size_t at = frame_begin(&g->b, type, g->stream);
	size_t payload_at = g->b.len;
	switch (spec->payload) {
	case PAYLOAD_TLV: {
		uint8_t order[TAG_LIMIT * 4];
		unsigned n = 0;
		for (unsigned t = 1; t < TAG_LIMIT; t++) {
			if (!(spec->allowed & TAGBIT(t)))
				continue;
			if (!(spec->required & TAGBIT(t)) && !chance(2))
				continue;
			unsigned reps = tag_spec(t)->repeated ? 1 + below(4) : 1;
			for (unsigned r = 0; r < reps; r++)
				order[n++] = (uint8_t)t;
		}
		for (unsigned i = n; i > 1; i--) { /* field order is free: shuffle */
			unsigned j = below(i);
			uint8_t tmp = order[i - 1];
			order[i - 1] = order[j];
			order[j] = tmp;
		}
		for (unsigned i = 0; i < n; i++)
			gen_value(g, order[i]);
		break;
	}
	case PAYLOAD_DATA:
	case PAYLOAD_RAW: {
		size_t n = big ? FRAME_MAX_PAYLOAD - (spec->payload == PAYLOAD_DATA ? DATA_PREFIX_LEN : 0)
			       : (chance(20) ? below(70000) : below(300));
		if (spec->payload == PAYLOAD_DATA)
			put_le64(buf_append(&g->b, DATA_PREFIX_LEN), rnd());
		random_bytes(buf_append(&g->b, n), n, false);
		break;
	}
	case PAYLOAD_EMPTY:
		break;
	}
	/* Record field offsets relative to the payload. */
	for (unsigned i = 0; i < g->nfields; i++)
		g->fields[i].off -= payload_at;
	frame_end(&g->b, at);
}

/* ---- mutation ---- */

/* Positions of TLV field headers in a frame's payload (for tag and vlen mutations). */
static unsigned field_positions(const uint8_t *f, size_t n, size_t *pos, unsigned max)
{
	unsigned k = 0;
	if (n < FRAME_HEADER_LEN)
		return 0;
	size_t end = MIN(n, FRAME_HEADER_LEN + (size_t)get_le32(f));
	for (size_t p = FRAME_HEADER_LEN; p + 5 <= end && k < max;) {
		pos[k++] = p;
		uint32_t vlen = get_le32(f + p + 1);
		if (vlen > end - p - 5)
			break;
		p += 5 + vlen;
	}
	return k;
}

void mutate(struct buf *b, const struct buf *other)
{
	unsigned rounds = 1 + below(3);
	for (unsigned r = 0; r < rounds; r++) {
		size_t pos[64];
		unsigned nf = field_positions(b->p, b->len, pos, 64);
		switch (below(12)) {
		case 0: /* bit flips */
			for (unsigned i = 1 + below(8); i && b->len; i--)
				b->p[below((uint32_t)b->len)] ^= (uint8_t)(1u << below(8));
			break;
		case 1: /* truncation */
			b->len = below((uint32_t)b->len + 1);
			break;
		case 2: /* length field */
			if (b->len >= 4) {
				uint32_t len = get_le32(b->p);
				static const uint32_t edges[] = { 0, 1, FRAME_MAX_PAYLOAD, FRAME_MAX_PAYLOAD + 1, UINT32_MAX };
				uint32_t v = chance(3) ? edges[below(N_ELEMENTS(edges))]
						       : chance(2) ? len + below(33) - 16 : (uint32_t)rnd();
				put_le32(b->p, v);
			}
			break;
		case 3: /* type: another known one, or anything */
			if (b->len >= 6)
				put_le16(b->p + 4, chance(2) ? random_type() : (uint16_t)rnd());
			break;
		case 4: /* flags and stream */
			if (b->len >= 12) {
				if (chance(2))
					put_le16(b->p + 6, (uint16_t)(1u << below(16)));
				else
					put_le32(b->p + 8, chance(2) ? 0 : (uint32_t)rnd());
			}
			break;
		case 5: /* tag byte */
			if (nf)
				b->p[pos[below(nf)]] = chance(2) ? (uint8_t)below(TAG_LIMIT + 2) : (uint8_t)rnd();
			break;
		case 6: /* vlen */
			if (nf) {
				uint8_t *v = b->p + pos[below(nf)] + 1;
				uint32_t vlen = get_le32(v);
				put_le32(v, chance(2) ? vlen + below(9) - 4 : (uint32_t)rnd());
			}
			break;
		case 7: /* NUL into a value */
			if (nf) {
				size_t p = pos[below(nf)];
				uint32_t vlen = get_le32(b->p + p + 1);
				if (vlen && p + 5 + vlen <= b->len)
					b->p[p + 5 + below(vlen)] = 0;
			}
			break;
		case 8: /* duplicate a field at the end, growing len to match */
			if (nf && b->len >= FRAME_HEADER_LEN) {
				size_t p = pos[below(nf)];
				size_t flen = MIN(5 + (size_t)get_le32(b->p + p + 1), b->len - p);
				uint8_t *copy = xmalloc(flen);
				memcpy(copy, b->p + p, flen);
				buf_put(b, copy, flen);
				free(copy);
				put_le32(b->p, get_le32(b->p) + (uint32_t)flen);
			}
			break;
		case 9: { /* insert random bytes */
			size_t n = 1 + below(16), at = below((uint32_t)b->len + 1);
			buf_append(b, n);
			memmove(b->p + at + n, b->p + at, b->len - n - at);
			random_bytes(b->p + at, n, false);
			break;
		}
		case 10: /* delete a range */
			if (b->len) {
				size_t at = below((uint32_t)b->len), n = 1 + below((uint32_t)MIN(b->len - at, 16u));
				memmove(b->p + at, b->p + at + n, b->len - at - n);
				b->len -= n;
			}
			break;
		case 11: /* splice: a prefix of this frame, the tail of another */
			if (other->len) {
				size_t keep = below((uint32_t)b->len + 1), from = below((uint32_t)other->len);
				b->len = keep;
				buf_put(b, other->p + from, other->len - from);
			}
			break;
		}
	}
}
