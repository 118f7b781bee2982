#include "frame.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define TLV_FIELD_HEADER 5u /* u8 tag + u32 vlen */

enum frame_result frame_header_parse(const uint8_t hdr[FRAME_HEADER_LEN], struct frame_header *out)
{
	out->len = get_le32(hdr);
	out->type = get_le16(hdr + 4);
	out->flags = get_le16(hdr + 6);
	out->stream = get_le32(hdr + 8);
	if (out->len > FRAME_MAX_PAYLOAD)
		return FRAME_ERR_TOO_LARGE;
	const struct msg_spec *spec = msg_spec(out->type);
	if (!spec)
		return FRAME_ERR_UNKNOWN_TYPE;
	if (out->flags != 0)
		return FRAME_ERR_FLAGS;
	if ((spec->stream == STREAM_ZERO && out->stream != 0) || (spec->stream == STREAM_NONZERO && out->stream == 0))
		return FRAME_ERR_STREAM;
	/* Payload-size rules that need no payload byte are enforced here, early. */
	if (spec->payload == PAYLOAD_EMPTY && out->len != 0)
		return FRAME_ERR_NONEMPTY;
	if (spec->payload == PAYLOAD_DATA && out->len < DATA_PREFIX_LEN)
		return FRAME_ERR_SHORT_DATA;
	return FRAME_OK;
}

static enum frame_result check_value(const struct tag_spec *ts, uint8_t tag, const uint8_t *v, uint32_t vlen)
{
	switch (ts->kind) {
	case KIND_U32:
	case KIND_I32:
		return vlen == 4 ? FRAME_OK : FRAME_ERR_VALUE_SIZE;
	case KIND_U64:
		return vlen == 8 ? FRAME_OK : FRAME_ERR_VALUE_SIZE;
	case KIND_STR:
		if (vlen > STR_MAX)
			return FRAME_ERR_VALUE_SIZE;
		return memchr(v, 0, vlen) ? FRAME_ERR_NUL_IN_STRING : FRAME_OK;
	case KIND_BYTES:
		if (tag == TAG_ENTRY) {
			/* Nested once: entry_allowed_tags does not contain `entry`. */
			struct msg nested;
			return tlv_parse(v, vlen, entry_allowed_tags, &nested);
		}
		return FRAME_OK;
	}
	return FRAME_ERR_VALUE_SIZE;
}

enum frame_result tlv_parse(const uint8_t *p, uint32_t len, uint64_t allowed, struct msg *out)
{
	out->present = 0;
	out->bad_tag = 0;
	uint32_t pos = 0;
	while (pos < len) {
		out->bad_tag = p[pos];
		if (len - pos < TLV_FIELD_HEADER)
			return FRAME_ERR_OVERRUN;
		uint8_t tag = p[pos];
		uint32_t vlen = get_le32(p + pos + 1);
		pos += TLV_FIELD_HEADER;
		if (vlen > len - pos)
			return FRAME_ERR_OVERRUN;
		/* Look the tag up before using it as a bit index. */
		const struct tag_spec *ts = tag_spec(tag);
		if (!ts)
			return FRAME_ERR_UNKNOWN_TAG;
		if (!(allowed & TAGBIT(tag)))
			return FRAME_ERR_TAG_NOT_ALLOWED;
		if (out->present & TAGBIT(tag)) {
			if (!ts->repeated)
				return FRAME_ERR_REPEATED_TAG;
			out->count[tag]++;
		} else {
			out->present |= TAGBIT(tag);
			out->first[tag].off = pos;
			out->first[tag].len = vlen;
			out->count[tag] = 1;
		}
		enum frame_result r = check_value(ts, tag, p + pos, vlen);
		if (r != FRAME_OK)
			return r;
		pos += vlen;
	}
	out->bad_tag = 0;
	return FRAME_OK;
}

enum frame_result frame_payload_parse(const struct frame_header *h, const uint8_t *p, struct msg *out)
{
	const struct msg_spec *spec = msg_spec(h->type);
	out->type = h->type;
	out->stream = h->stream;
	out->len = h->len;
	out->payload = p;
	out->present = 0;
	out->bad_tag = 0;
	out->data_offset = 0;
	out->data = NULL;
	out->data_len = 0;
	switch (spec->payload) {
	case PAYLOAD_TLV:
		return tlv_parse(p, h->len, spec->allowed, out);
	case PAYLOAD_DATA:
		out->data_offset = get_le64(p);
		out->data = p + DATA_PREFIX_LEN;
		out->data_len = h->len - DATA_PREFIX_LEN;
		return FRAME_OK;
	case PAYLOAD_RAW:
		out->data = p;
		out->data_len = h->len;
		return FRAME_OK;
	case PAYLOAD_EMPTY:
		return FRAME_OK;
	}
	return FRAME_ERR_UNKNOWN_TYPE;
}

/* A broken header still tells the caller what it said, for the error message. */
static enum frame_result header_error(const struct frame_header *h, enum frame_result r, struct msg *out)
{
	out->type = h->type;
	out->stream = h->stream;
	out->len = h->len;
	out->payload = NULL;
	out->present = 0;
	out->bad_tag = 0;
	return r;
}

enum frame_result frame_parse(const uint8_t *buf, size_t n, struct msg *out, size_t *used)
{
	struct frame_header h;
	*used = 0;
	if (n < FRAME_HEADER_LEN)
		return FRAME_MORE;
	enum frame_result r = frame_header_parse(buf, &h);
	if (r != FRAME_OK)
		return header_error(&h, r, out);
	if (n - FRAME_HEADER_LEN < h.len)
		return FRAME_MORE;
	*used = FRAME_HEADER_LEN + h.len;
	return frame_payload_parse(&h, buf + FRAME_HEADER_LEN, out);
}

void decoder_init(struct decoder *d)
{
	memset(d, 0, sizeof *d);
}

void decoder_free(struct decoder *d)
{
	free(d->buf);
	decoder_init(d);
}

static enum frame_result decoder_fail(struct decoder *d, enum frame_result r)
{
	d->failed = r;
	return r;
}

enum frame_result decoder_feed(struct decoder *d, const uint8_t *in, size_t n, size_t *used, struct msg *out)
{
	*used = 0;
	if (d->failed != FRAME_OK)
		return d->failed;
	if (d->delivered) {
		free(d->buf);
		d->buf = NULL;
		d->delivered = 0;
		d->hdr_have = 0;
		d->have = 0;
	}
	/* Fast path: a whole frame in the input is parsed in place, without a copy. */
	if (d->hdr_have == 0) {
		enum frame_result r = frame_parse(in, n, out, used);
		if (r != FRAME_MORE)
			return r == FRAME_OK ? r : decoder_fail(d, r);
	}
	size_t pos = 0;
	if (d->hdr_have < FRAME_HEADER_LEN) {
		size_t take = MIN(FRAME_HEADER_LEN - d->hdr_have, n);
		memcpy(d->hdr + d->hdr_have, in, take);
		d->hdr_have += (uint32_t)take;
		pos = take;
		*used = pos;
		if (d->hdr_have < FRAME_HEADER_LEN)
			return FRAME_MORE;
		enum frame_result r = frame_header_parse(d->hdr, &d->h);
		if (r != FRAME_OK)
			return decoder_fail(d, header_error(&d->h, r, out));
		/* Safe to allocate: len was bounded by frame_header_parse. */
		d->buf = d->h.len ? xmalloc(d->h.len) : NULL;
		d->have = 0;
	}
	size_t take = MIN((size_t)(d->h.len - d->have), n - pos);
	if (take)
		memcpy(d->buf + d->have, in + pos, take);
	d->have += (uint32_t)take;
	pos += take;
	*used = pos;
	if (d->have < d->h.len)
		return FRAME_MORE;
	d->delivered = 1;
	enum frame_result r = frame_payload_parse(&d->h, d->buf, out);
	return r == FRAME_OK ? r : decoder_fail(d, r);
}

uint32_t msg_u32(const struct msg *m, enum tag t, uint32_t absent)
{
	return msg_has(m, t) ? get_le32(m->payload + m->first[t].off) : absent;
}

int32_t msg_i32(const struct msg *m, enum tag t, int32_t absent)
{
	return msg_has(m, t) ? (int32_t)get_le32(m->payload + m->first[t].off) : absent;
}

uint64_t msg_u64(const struct msg *m, enum tag t, uint64_t absent)
{
	return msg_has(m, t) ? get_le64(m->payload + m->first[t].off) : absent;
}

struct str msg_str(const struct msg *m, enum tag t)
{
	struct str s = { NULL, 0 };
	if (msg_has(m, t)) {
		s.p = (const char *)m->payload + m->first[t].off;
		s.len = m->first[t].len;
	}
	return s;
}

int tlv_next(const uint8_t *p, uint32_t len, uint32_t *cursor, uint8_t *tag, struct str *value)
{
	if (*cursor >= len || len - *cursor < TLV_FIELD_HEADER)
		return 0;
	uint32_t pos = *cursor;
	uint32_t vlen = get_le32(p + pos + 1);
	if (vlen > len - pos - TLV_FIELD_HEADER)
		return 0;
	*tag = p[pos];
	value->p = (const char *)p + pos + TLV_FIELD_HEADER;
	value->len = vlen;
	*cursor = pos + TLV_FIELD_HEADER + vlen;
	return 1;
}

int msg_next(const struct msg *m, enum tag t, uint32_t *cursor, struct str *out)
{
	uint8_t tag;
	if (!msg_has(m, t))
		return 0;
	if (*cursor < m->first[t].off - TLV_FIELD_HEADER)
		*cursor = m->first[t].off - TLV_FIELD_HEADER; /* skip straight to the first one */
	while (tlv_next(m->payload, m->len, cursor, &tag, out))
		if (tag == t)
			return 1;
	return 0;
}
