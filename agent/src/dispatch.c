#include "dispatch.h"

#include <errno.h>

#include "conn.h"
#include "proto.h"
#include "stream.h"

typedef void (*request_fn)(const struct msg *m);

/* The behaviour behind each request type; which tags each may carry is in proto.c. */
static const request_fn requests[MSG_TYPE_LIMIT] = {
	[MSG_EXEC] = proc_exec,
	[MSG_ATTACH] = proc_attach,
	[MSG_PS] = proc_ps,
	[MSG_FREAD] = files_fread,
	[MSG_FWRITE] = files_fwrite,
	[MSG_STAT] = files_stat,
	[MSG_LIST] = files_list,
	[MSG_MKDIR] = files_mkdir,
	[MSG_REMOVE] = files_remove,
	[MSG_RENAME] = files_rename,
	[MSG_CONFIGURE] = config_configure,
	[MSG_PING] = config_ping,
	[MSG_TCP_CONNECT] = tcp_connect,
};

/* The first required tag that m lacks, or 0. */
static unsigned missing_tag(const struct msg_spec *spec, const struct msg *m)
{
	uint64_t missing = spec->required & ~m->present;
	for (unsigned t = 1; t < TAG_LIMIT; t++)
		if (missing & TAGBIT(t))
			return t;
	return 0;
}

static void request(const struct msg_spec *spec, const struct msg *m)
{
	if (stream_find(m->stream)) {
		conn_protocol_error("unexpected_message", "%s reuses stream %u, which is still open", spec->name,
				    m->stream);
		return;
	}
	if (!conn_has_cap(spec->cap)) {
		conn_reply_error(m->stream, ENOTSUP, "%s needs a capability the host did not enable in HELLO",
				 spec->name);
		return;
	}
	unsigned missing = missing_tag(spec, m);
	if (missing) {
		conn_reply_error(m->stream, EINVAL, "%s needs %s", spec->name, tag_spec(missing)->name);
		return;
	}
	requests[m->type](m);
}

void dispatch(const struct msg *m)
{
	const struct msg_spec *spec = msg_spec(m->type);
	if (spec->opens) {
		request(spec, m);
		return;
	}
	/* A malformed frame is an error whether or not its stream is still open. */
	unsigned missing = missing_tag(spec, m);
	if (missing) {
		conn_protocol_error("missing_field", "%s on stream %u needs %s", spec->name, m->stream,
				    tag_spec(missing)->name);
		return;
	}
	struct stream *s = stream_find(m->stream);
	if (!s)
		return; /* the stream just ended; the host could not know yet */
	if (!s->ops->on_frame(s, m))
		conn_protocol_error("unexpected_message", "%s on %s stream %u", spec->name, s->ops->name, s->id);
}
