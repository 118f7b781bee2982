/* Frame decoder: bytes in, a result and a parsed message out. Pure: no I/O, no global
 * state, no allocation beyond the payload a decoder buffers, so it can be fuzzed on
 * its own (fuzz/fuzz_decoder.c). The rules are docs/protocol.md "Frames". */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

enum frame_result {
	FRAME_OK = 0,
	FRAME_MORE,               /* a complete frame needs more bytes */
	FRAME_ERR_TOO_LARGE,      /* header len above FRAME_MAX_PAYLOAD */
	FRAME_ERR_UNKNOWN_TYPE,   /* type not in the message table */
	FRAME_ERR_FLAGS,          /* reserved header flags not 0 */
	FRAME_ERR_STREAM,         /* request on stream 0, READY/HELLO on another */
	FRAME_ERR_OVERRUN,        /* a TLV field runs past the payload end */
	FRAME_ERR_UNKNOWN_TAG,    /* tag not in the tag table */
	FRAME_ERR_TAG_NOT_ALLOWED,/* tag the message (or entry) does not allow */
	FRAME_ERR_REPEATED_TAG,   /* a non-repeatable tag given twice */
	FRAME_ERR_VALUE_SIZE,     /* wrong size for the kind, or a str over STR_MAX */
	FRAME_ERR_NUL_IN_STRING,  /* NUL byte inside a str */
	FRAME_ERR_SHORT_DATA,     /* DATA payload shorter than its offset */
	FRAME_ERR_NONEMPTY,       /* EMPTY payload with len != 0 */
};

struct frame_header {
	uint32_t len;
	uint16_t type;
	uint16_t flags;
	uint32_t stream;
};

struct str {
	const char *p; /* not NUL-terminated */
	uint32_t len;
};

struct msg {
	uint16_t type;
	uint32_t stream;
	uint32_t len;
	const uint8_t *payload; /* points into the caller's bytes or the decoder's buffer */
	/* TLV payloads: which tags appeared, where each first value is, how many times. */
	uint64_t present;
	struct {
		uint32_t off, len;
	} first[TAG_LIMIT];
	uint32_t count[TAG_LIMIT];
	/* DATA payloads: the offset prefix and the bytes after it. RAW: the whole payload. */
	uint64_t data_offset;
	const uint8_t *data;
	uint32_t data_len;
	/* On a TLV error: the offending tag number (0 when not known). */
	uint32_t bad_tag;
};

/* Validates a 12-byte header. `len` is checked first, before anything else looks at
 * the frame, so a hostile length never causes an allocation or a read. */
enum frame_result frame_header_parse(const uint8_t hdr[FRAME_HEADER_LEN], struct frame_header *out);

/* Parses the payload of a validated header (h->len bytes at p). */
enum frame_result frame_payload_parse(const struct frame_header *h, const uint8_t *p, struct msg *out);

/* One frame from a contiguous buffer: FRAME_OK with *used = its size, FRAME_MORE when
 * the buffer holds only part of a frame whose header is valid, or an error. */
enum frame_result frame_parse(const uint8_t *buf, size_t n, struct msg *out, size_t *used);

/* Validates a TLV payload against a tag set (also used for nested `entry` values). */
enum frame_result tlv_parse(const uint8_t *p, uint32_t len, uint64_t allowed, struct msg *out);

/* Incremental decoder for a byte stream that arrives in arbitrary pieces. */
struct decoder {
	uint8_t hdr[FRAME_HEADER_LEN];
	uint32_t hdr_have;
	struct frame_header h;
	uint8_t *buf; /* payload of a frame split across feeds */
	uint32_t have;
	int delivered; /* buf holds a frame handed out by the last feed */
	enum frame_result failed; /* sticky: a broken stream stays broken */
};

void decoder_init(struct decoder *d);
void decoder_free(struct decoder *d);
/* Consumes bytes from `in` until one frame is complete (FRAME_OK; `out` stays valid
 * until the next call), all input is used (FRAME_MORE), or the stream breaks (an
 * error, sticky). *used says how many bytes were consumed. */
enum frame_result decoder_feed(struct decoder *d, const uint8_t *in, size_t n, size_t *used, struct msg *out);

static inline int msg_has(const struct msg *m, enum tag t) { return (m->present & TAGBIT(t)) != 0; }
uint32_t msg_u32(const struct msg *m, enum tag t, uint32_t absent);
int32_t msg_i32(const struct msg *m, enum tag t, int32_t absent);
uint64_t msg_u64(const struct msg *m, enum tag t, uint64_t absent);
struct str msg_str(const struct msg *m, enum tag t); /* {NULL, 0} when absent */
/* Iterates the values of a (repeated) tag in order; *cursor starts at 0. */
int msg_next(const struct msg *m, enum tag t, uint32_t *cursor, struct str *out);
/* Iterates every field of a validated TLV buffer. */
int tlv_next(const uint8_t *p, uint32_t len, uint32_t *cursor, uint8_t *tag, struct str *value);
