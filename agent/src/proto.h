/* The wire contract of docs/protocol.md as data: limits, message types, tags and
 * capability bits. Every other file names these constants; none spells a number. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define PROTO_VERSION 1u
#define FRAME_HEADER_LEN 12u
#define FRAME_MAX_PAYLOAD (1024u * 1024u)
#define STR_MAX 4096u
#define DATA_PREFIX_LEN 8u /* u64 offset in front of DATA payloads */

enum msg_type {
	MSG_READY = 0x01,
	MSG_HELLO = 0x02,
	MSG_EXEC = 0x10,
	MSG_ATTACH = 0x11,
	MSG_PS = 0x12,
	MSG_STDIN = 0x13,
	MSG_STDIN_EOF = 0x14,
	MSG_SIGNAL = 0x15,
	MSG_RESIZE = 0x16,
	MSG_CLOSE = 0x17,
	MSG_CREDIT = 0x18,
	MSG_FREAD = 0x20,
	MSG_FWRITE = 0x21,
	MSG_WDATA = 0x22,
	MSG_WEND = 0x23,
	MSG_STAT = 0x24,
	MSG_LIST = 0x25,
	MSG_MKDIR = 0x26,
	MSG_REMOVE = 0x27,
	MSG_RENAME = 0x28,
	MSG_CONFIGURE = 0x30,
	MSG_PING = 0x31,
	MSG_TCP_CONNECT = 0x40,
	MSG_STARTED = 0x80,
	MSG_OUT_STDOUT = 0x81,
	MSG_OUT_STDERR = 0x82,
	MSG_EXIT = 0x83,
	MSG_DATA = 0x84,
	MSG_ENTRIES = 0x85,
	MSG_OK = 0x86,
	MSG_ERROR = 0x87,
	MSG_CONNECTED = 0x88,
	MSG_EOF = 0x89,
	MSG_TYPE_LIMIT /* one past the highest type */
};

enum tag {
	TAG_ARGV = 1,
	TAG_ENV,
	TAG_CWD,
	TAG_UID,
	TAG_GID,
	TAG_PTY,
	TAG_ROWS,
	TAG_COLS,
	TAG_TIMEOUT_MS,
	TAG_BUFFER_BYTES,
	TAG_WINDOW,
	TAG_PROC_ID,
	TAG_OFFSET,
	TAG_PID,
	TAG_SIGNAL,
	TAG_EXIT_CODE,
	TAG_PATH,
	TAG_PATH2,
	TAG_MODE,
	TAG_FLAGS,
	TAG_LENGTH,
	TAG_SIZE,
	TAG_ERRNO,
	TAG_MESSAGE,
	TAG_VERSION,
	TAG_CAPS,
	TAG_AGENT_VERSION,
	TAG_HOSTNAME,
	TAG_TIMING,
	TAG_BOOT_ID,
	TAG_ENTRY,
	TAG_NAME,
	TAG_FTYPE,
	TAG_MTIME_NS,
	TAG_TARGET,
	TAG_STATE,
	TAG_TIMED_OUT,
	TAG_TERM_SIGNAL,
	TAG_STDIN,
	TAG_KEEP,
	TAG_PORT,
	TAG_ADDR,
	TAG_LIMIT /* one past the highest tag; tags fit a u64 bit set */
};

#define TAGBIT(t) (UINT64_C(1) << (t))

enum value_kind { KIND_U32 = 1, KIND_I32, KIND_U64, KIND_STR, KIND_BYTES };
enum payload_kind { PAYLOAD_TLV = 1, PAYLOAD_DATA, PAYLOAD_RAW, PAYLOAD_EMPTY };
enum msg_dir { DIR_HOST = 1, DIR_AGENT = 2, DIR_BOTH = 3 };
/* Which stream ids a type may use: stream 0 only, a non-zero stream only, or any. */
enum stream_rule { STREAM_ZERO = 1, STREAM_NONZERO, STREAM_ANY };

struct tag_spec {
	const char *name;
	uint8_t kind;
	bool repeated;
};

struct msg_spec {
	const char *name;
	uint8_t dir;
	uint8_t payload;
	uint8_t stream;
	bool opens;    /* a request that opens the stream it arrives on */
	uint64_t allowed;  /* TAGBIT set of tags the TLV payload may carry */
	uint64_t required; /* subset of allowed that must be present */
	uint64_t cap;      /* capability a host must have negotiated to send it */
};

/* Capability bits (docs/protocol.md "Capability bits"). */
enum cap {
	CAP_EXEC = UINT64_C(1) << 0,
	CAP_PTY = UINT64_C(1) << 1,
	CAP_ATTACH = UINT64_C(1) << 2,
	CAP_FILES = UINT64_C(1) << 3,
	CAP_CONFIGURE = UINT64_C(1) << 4,
	CAP_CREDIT = UINT64_C(1) << 5,
	CAP_TCP = UINT64_C(1) << 6,
};

struct cap_spec {
	uint64_t bit;
	const char *name;
};

extern const struct cap_spec cap_table[];
extern const unsigned cap_table_len;
/* The capabilities this agent implements: the union of cap_table. */
uint64_t caps_supported(void);

/* NULL for a type or tag number the protocol does not define. */
const struct msg_spec *msg_spec(uint32_t type);
const struct tag_spec *tag_spec(uint32_t tag);

/* Tags an `entry` value (nested TLV) may carry: a directory entry or a process. */
extern const uint64_t entry_allowed_tags;
