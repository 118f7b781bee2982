/* What the agent says back outside the data path: OK, ERROR and CREDIT frames, and the
 * protocol-error text for each decoder result (the decoder returns only an enum; the
 * message is written here, by its caller). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "conn.h"
#include "errnames.h"
#include "frame.h"
#include "proto.h"

void conn_reply_ok(uint32_t stream)
{
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_OK, stream);
	frame_end(q, at);
}

void conn_reply_error(uint32_t stream, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_ERROR, stream);
	tlv_str(q, TAG_ERRNO, errno_name(err));
	if (msg[0])
		tlv_str(q, TAG_MESSAGE, msg);
	frame_end(q, at);
}

void conn_send_credit(uint32_t stream, uint64_t offset)
{
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_CREDIT, stream);
	tlv_u64(q, TAG_OFFSET, offset);
	frame_end(q, at);
}

static const char *frame_error_code(enum frame_result r)
{
	switch (r) {
	case FRAME_ERR_TOO_LARGE: return "frame_too_large";
	case FRAME_ERR_UNKNOWN_TYPE: return "unknown_type";
	case FRAME_ERR_FLAGS: return "reserved_flags";
	case FRAME_ERR_STREAM: return "wrong_stream";
	case FRAME_ERR_OVERRUN: return "field_overrun";
	case FRAME_ERR_UNKNOWN_TAG: return "unknown_tag";
	case FRAME_ERR_TAG_NOT_ALLOWED: return "tag_not_allowed";
	case FRAME_ERR_REPEATED_TAG: return "repeated_tag";
	case FRAME_ERR_VALUE_SIZE: return "bad_value_size";
	case FRAME_ERR_NUL_IN_STRING: return "nul_in_string";
	case FRAME_ERR_SHORT_DATA: return "short_data";
	case FRAME_ERR_NONEMPTY: return "nonempty_payload";
	case FRAME_OK:
	case FRAME_MORE:
		break;
	}
	return "bad_frame";
}

void conn_frame_error(enum frame_result r, const struct msg *m)
{
	const struct msg_spec *spec = msg_spec(m->type);
	const char *type = spec ? spec->name : "?";
	switch (r) {
	case FRAME_ERR_TOO_LARGE:
		conn_protocol_error(frame_error_code(r), "len %u exceeds %u", m->len, FRAME_MAX_PAYLOAD);
		break;
	case FRAME_ERR_UNKNOWN_TYPE:
		conn_protocol_error(frame_error_code(r), "type 0x%x", m->type);
		break;
	case FRAME_ERR_OVERRUN:
	case FRAME_ERR_UNKNOWN_TAG:
	case FRAME_ERR_TAG_NOT_ALLOWED:
	case FRAME_ERR_REPEATED_TAG:
	case FRAME_ERR_VALUE_SIZE:
	case FRAME_ERR_NUL_IN_STRING:
		conn_protocol_error(frame_error_code(r), "tag %u in %s on stream %u", m->bad_tag, type, m->stream);
		break;
	default:
		conn_protocol_error(frame_error_code(r), "%s on stream %u (len %u)", type, m->stream, m->len);
		break;
	}
}
