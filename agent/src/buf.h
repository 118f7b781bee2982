/* A growable byte buffer and the frame encoder that appends to it. The encoder is the
 * mirror of frame.c and is shared with the fuzz driver, which builds valid frames. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *p;
	size_t len, cap;
};

/* Returns a pointer to n new bytes at the end (uninitialised). */
uint8_t *buf_append(struct buf *b, size_t n);
void buf_put(struct buf *b, const void *data, size_t n);
/* Drops the first n bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);

/* Frames: frame_begin writes a header with len 0 and returns its position;
 * frame_end patches len once the payload has been appended. */
size_t frame_begin(struct buf *b, uint16_t type, uint32_t stream);
void frame_end(struct buf *b, size_t at);

void tlv_u32(struct buf *b, uint8_t tag, uint32_t v);
void tlv_i32(struct buf *b, uint8_t tag, int32_t v);
void tlv_u64(struct buf *b, uint8_t tag, uint64_t v);
void tlv_mem(struct buf *b, uint8_t tag, const void *v, size_t n);
void tlv_str(struct buf *b, uint8_t tag, const char *s); /* NUL-terminated C string */
/* A nested TLV value (an `entry`): begin, append fields, end. */
size_t tlv_begin(struct buf *b, uint8_t tag);
void tlv_end(struct buf *b, size_t at);
