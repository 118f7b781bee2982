/* The tables behind proto.h, transcribed from docs/protocol.md. The decoder, the
 * dispatcher and the fuzz driver all read these rows, so a rule lives in one place. */
#include "proto.h"

#include "util.h"

#define T(t) TAGBIT(TAG_##t)

static const struct tag_spec tags[TAG_LIMIT] = {
	[TAG_ARGV] = { "argv", KIND_STR, true },
	[TAG_ENV] = { "env", KIND_STR, true },
	[TAG_CWD] = { "cwd", KIND_STR, false },
	[TAG_UID] = { "uid", KIND_U32, false },
	[TAG_GID] = { "gid", KIND_U32, false },
	[TAG_PTY] = { "pty", KIND_U32, false },
	[TAG_ROWS] = { "rows", KIND_U32, false },
	[TAG_COLS] = { "cols", KIND_U32, false },
	[TAG_TIMEOUT_MS] = { "timeout_ms", KIND_U32, false },
	[TAG_BUFFER_BYTES] = { "buffer_bytes", KIND_U32, false },
	[TAG_WINDOW] = { "window", KIND_U32, false },
	[TAG_PROC_ID] = { "proc_id", KIND_U32, false },
	[TAG_OFFSET] = { "offset", KIND_U64, false },
	[TAG_PID] = { "pid", KIND_U32, false },
	[TAG_SIGNAL] = { "signal", KIND_U32, false },
	[TAG_EXIT_CODE] = { "exit_code", KIND_I32, false },
	[TAG_PATH] = { "path", KIND_STR, false },
	[TAG_PATH2] = { "path2", KIND_STR, false },
	[TAG_MODE] = { "mode", KIND_U32, false },
	[TAG_FLAGS] = { "flags", KIND_U32, false },
	[TAG_LENGTH] = { "length", KIND_U64, false },
	[TAG_SIZE] = { "size", KIND_U64, false },
	[TAG_ERRNO] = { "errno", KIND_STR, false },
	[TAG_MESSAGE] = { "message", KIND_STR, false },
	[TAG_VERSION] = { "version", KIND_U32, false },
	[TAG_CAPS] = { "caps", KIND_U64, false },
	[TAG_AGENT_VERSION] = { "agent_version", KIND_STR, false },
	[TAG_HOSTNAME] = { "hostname", KIND_STR, false },
	[TAG_TIMING] = { "timing", KIND_STR, true },
	[TAG_BOOT_ID] = { "boot_id", KIND_U64, false },
	[TAG_ENTRY] = { "entry", KIND_BYTES, true },
	[TAG_NAME] = { "name", KIND_STR, false },
	[TAG_FTYPE] = { "ftype", KIND_U32, false },
	[TAG_MTIME_NS] = { "mtime_ns", KIND_U64, false },
	[TAG_TARGET] = { "target", KIND_STR, false },
	[TAG_STATE] = { "state", KIND_U32, false },
	[TAG_TIMED_OUT] = { "timed_out", KIND_U32, false },
	[TAG_TERM_SIGNAL] = { "term_signal", KIND_U32, false },
	[TAG_STDIN] = { "stdin", KIND_U32, false },
	[TAG_KEEP] = { "keep", KIND_U32, false },
	[TAG_PORT] = { "port", KIND_U32, false },
	[TAG_ADDR] = { "addr", KIND_STR, false },
};

/* Shorthands for the rows below: direction, payload, stream rule, opens. */
#define HOST_REQ(pl) DIR_HOST, pl, STREAM_NONZERO, true
#define HOST_MSG(pl) DIR_HOST, pl, STREAM_ANY, false
#define AGENT_MSG(pl) DIR_AGENT, pl, STREAM_ANY, false

static const struct msg_spec msgs[MSG_TYPE_LIMIT] = {
	[MSG_READY] = { "READY", DIR_AGENT, PAYLOAD_TLV, STREAM_ZERO, false,
		T(VERSION) | T(CAPS) | T(AGENT_VERSION) | T(PID) | T(BOOT_ID) | T(WINDOW) | T(TIMING),
		T(VERSION) | T(CAPS) | T(AGENT_VERSION) | T(PID) | T(BOOT_ID) | T(WINDOW), 0 },
	[MSG_HELLO] = { "HELLO", DIR_HOST, PAYLOAD_TLV, STREAM_ZERO, false,
		T(VERSION) | T(CAPS), T(VERSION) | T(CAPS), 0 },
	[MSG_EXEC] = { "EXEC", HOST_REQ(PAYLOAD_TLV),
		T(ARGV) | T(ENV) | T(CWD) | T(UID) | T(GID) | T(PTY) | T(ROWS) | T(COLS) | T(TIMEOUT_MS) |
			T(BUFFER_BYTES) | T(WINDOW) | T(STDIN) | T(KEEP),
		T(ARGV), CAP_EXEC },
	[MSG_ATTACH] = { "ATTACH", HOST_REQ(PAYLOAD_TLV), T(PROC_ID) | T(OFFSET) | T(WINDOW), T(PROC_ID), CAP_ATTACH },
	[MSG_PS] = { "PS", HOST_REQ(PAYLOAD_TLV), 0, 0, CAP_ATTACH },
	[MSG_STDIN] = { "STDIN", HOST_MSG(PAYLOAD_RAW), 0, 0, CAP_EXEC },
	[MSG_STDIN_EOF] = { "STDIN_EOF", HOST_MSG(PAYLOAD_EMPTY), 0, 0, CAP_EXEC },
	[MSG_SIGNAL] = { "SIGNAL", HOST_MSG(PAYLOAD_TLV), T(SIGNAL), T(SIGNAL), CAP_EXEC },
	[MSG_RESIZE] = { "RESIZE", HOST_MSG(PAYLOAD_TLV), T(ROWS) | T(COLS), T(ROWS) | T(COLS), CAP_PTY },
	[MSG_CLOSE] = { "CLOSE", HOST_MSG(PAYLOAD_EMPTY), 0, 0, 0 },
	[MSG_CREDIT] = { "CREDIT", DIR_BOTH, PAYLOAD_TLV, STREAM_ANY, false, T(OFFSET), T(OFFSET), CAP_CREDIT },
	[MSG_FREAD] = { "FREAD", HOST_REQ(PAYLOAD_TLV), T(PATH) | T(OFFSET) | T(LENGTH) | T(WINDOW), T(PATH), CAP_FILES },
	[MSG_FWRITE] = { "FWRITE", HOST_REQ(PAYLOAD_TLV), T(PATH) | T(MODE) | T(FLAGS), T(PATH), CAP_FILES },
	[MSG_WDATA] = { "WDATA", HOST_MSG(PAYLOAD_RAW), 0, 0, CAP_FILES },
	[MSG_WEND] = { "WEND", HOST_MSG(PAYLOAD_EMPTY), 0, 0, CAP_FILES },
	[MSG_STAT] = { "STAT", HOST_REQ(PAYLOAD_TLV), T(PATH) | T(FLAGS), T(PATH), CAP_FILES },
	[MSG_LIST] = { "LIST", HOST_REQ(PAYLOAD_TLV), T(PATH), T(PATH), CAP_FILES },
	[MSG_MKDIR] = { "MKDIR", HOST_REQ(PAYLOAD_TLV), T(PATH) | T(MODE) | T(FLAGS), T(PATH), CAP_FILES },
	[MSG_REMOVE] = { "REMOVE", HOST_REQ(PAYLOAD_TLV), T(PATH) | T(FLAGS), T(PATH), CAP_FILES },
	[MSG_RENAME] = { "RENAME", HOST_REQ(PAYLOAD_TLV), T(PATH) | T(PATH2), T(PATH) | T(PATH2), CAP_FILES },
	[MSG_CONFIGURE] = { "CONFIGURE", HOST_REQ(PAYLOAD_TLV), T(HOSTNAME) | T(ENV), 0, CAP_CONFIGURE },
	[MSG_PING] = { "PING", HOST_REQ(PAYLOAD_TLV), 0, 0, 0 },
	[MSG_TCP_CONNECT] = { "TCP_CONNECT", HOST_REQ(PAYLOAD_TLV), T(PORT) | T(ADDR) | T(WINDOW), T(PORT), CAP_TCP },
	[MSG_STARTED] = { "STARTED", AGENT_MSG(PAYLOAD_TLV), T(PROC_ID) | T(PID) | T(OFFSET),
		T(PROC_ID) | T(PID) | T(OFFSET), CAP_EXEC },
	[MSG_OUT_STDOUT] = { "OUT_STDOUT", AGENT_MSG(PAYLOAD_DATA), 0, 0, CAP_EXEC },
	[MSG_OUT_STDERR] = { "OUT_STDERR", AGENT_MSG(PAYLOAD_DATA), 0, 0, CAP_EXEC },
	[MSG_EXIT] = { "EXIT", AGENT_MSG(PAYLOAD_TLV), T(OFFSET) | T(EXIT_CODE) | T(TERM_SIGNAL) | T(TIMED_OUT),
		T(OFFSET), CAP_EXEC },
	[MSG_DATA] = { "DATA", AGENT_MSG(PAYLOAD_DATA), 0, 0, CAP_FILES },
	[MSG_ENTRIES] = { "ENTRIES", AGENT_MSG(PAYLOAD_TLV), T(ENTRY), 0, 0 },
	/* OK carries a different set per request (FREAD/FWRITE: size; STAT: the stat
	 * fields); the decoder allows their union. */
	[MSG_OK] = { "OK", AGENT_MSG(PAYLOAD_TLV),
		T(SIZE) | T(FTYPE) | T(MODE) | T(UID) | T(GID) | T(MTIME_NS) | T(TARGET), 0, 0 },
	[MSG_ERROR] = { "ERROR", AGENT_MSG(PAYLOAD_TLV), T(ERRNO) | T(MESSAGE), T(ERRNO), 0 },
	[MSG_CONNECTED] = { "CONNECTED", AGENT_MSG(PAYLOAD_TLV), T(ADDR), 0, CAP_TCP },
	[MSG_EOF] = { "EOF", AGENT_MSG(PAYLOAD_EMPTY), 0, 0, CAP_TCP },
};

const uint64_t entry_allowed_tags = T(NAME) | T(FTYPE) | T(MODE) | T(SIZE) | T(MTIME_NS) | T(TARGET) |
				    T(PROC_ID) | T(PID) | T(ARGV) | T(STATE) | T(OFFSET) | T(EXIT_CODE) |
				    T(TERM_SIGNAL);

const struct cap_spec cap_table[] = {
	{ CAP_EXEC, "EXEC" },
	{ CAP_PTY, "PTY" },
	{ CAP_ATTACH, "ATTACH" },
	{ CAP_FILES, "FILES" },
	{ CAP_CONFIGURE, "CONFIGURE" },
	{ CAP_CREDIT, "CREDIT" },
	{ CAP_TCP, "TCP" },
};
const unsigned cap_table_len = N_ELEMENTS(cap_table);

uint64_t caps_supported(void)
{
	uint64_t caps = 0;
	for (unsigned i = 0; i < cap_table_len; i++)
		caps |= cap_table[i].bit;
	return caps;
}

const struct msg_spec *msg_spec(uint32_t type)
{
	if (type >= MSG_TYPE_LIMIT || !msgs[type].name)
		return NULL;
	return &msgs[type];
}

const struct tag_spec *tag_spec(uint32_t tag)
{
	if (tag >= TAG_LIMIT || !tags[tag].name)
		return NULL;
	return &tags[tag];
}
