#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"

uint8_t *buf_append(struct buf *b, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	uint8_t *at = b->p + b->len;
	b->len += n;
	return at;
}

void buf_put(struct buf *b, const void *data, size_t n)
{
	if (n)
		memcpy(buf_append(b, n), data, n);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

size_t frame_begin(struct buf *b, uint16_t type, uint32_t stream)
{
	size_t at = b->len;
	uint8_t *h = buf_append(b, FRAME_HEADER_LEN);
	put_le32(h, 0);
	put_le16(h + 4, type);
	put_le16(h + 6, 0);
	put_le32(h + 8, stream);
	return at;
}

void frame_end(struct buf *b, size_t at)
{
	put_le32(b->p + at, (uint32_t)(b->len - at - FRAME_HEADER_LEN));
}

static uint8_t *tlv_field(struct buf *b, uint8_t tag, size_t vlen)
{
	uint8_t *f = buf_append(b, 5 + vlen);
	f[0] = tag;
	put_le32(f + 1, (uint32_t)vlen);
	return f + 5;
}

void tlv_u32(struct buf *b, uint8_t tag, uint32_t v)
{
	put_le32(tlv_field(b, tag, 4), v);
}

void tlv_i32(struct buf *b, uint8_t tag, int32_t v)
{
	put_le32(tlv_field(b, tag, 4), (uint32_t)v);
}

void tlv_u64(struct buf *b, uint8_t tag, uint64_t v)
{
	put_le64(tlv_field(b, tag, 8), v);
}

void tlv_mem(struct buf *b, uint8_t tag, const void *v, size_t n)
{
	uint8_t *dst = tlv_field(b, tag, n);
	if (n)
		memcpy(dst, v, n);
}

void tlv_str(struct buf *b, uint8_t tag, const char *s)
{
	size_t n = strlen(s);
	tlv_mem(b, tag, s, n > STR_MAX ? STR_MAX : n);
}

size_t tlv_begin(struct buf *b, uint8_t tag)
{
	size_t at = b->len;
	tlv_field(b, tag, 0);
	return at;
}

void tlv_end(struct buf *b, size_t at)
{
	put_le32(b->p + at + 1, (uint32_t)(b->len - at - 5));
}
