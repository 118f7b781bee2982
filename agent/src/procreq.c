/* The process requests (EXEC, ATTACH, PS) and the stream that follows a process:
 * replay and live output from the ring under the stream's window, then EXIT. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "config.h"
#include "conn.h"
#include "dispatch.h"
#include "proc.h"
#include "stream.h"
#include "util.h"

/* Output frames are cut at this size so streams interleave fairly. */
#define OUT_CHUNK (64u * 1024u)
/* PS frames stay under 64 KiB like LIST's; each entry's argv is cut to fit. */
#define PS_FRAME_MAX (60u * 1024u)
#define PS_ARGV_MAX (16u * 1024u)
#define DEFAULT_ROWS 24
#define DEFAULT_COLS 80

struct proc_stream {
	struct stream base;
	struct proc *proc;
	uint64_t in_base; /* p->in_queued when this stream attached */
};

static bool ps_on_frame(struct stream *s, const struct msg *m);
static bool ps_pump(struct stream *s);
static void ps_release(struct stream *s);

static const struct stream_ops proc_stream_ops = {
	.name = "process",
	.on_frame = ps_on_frame,
	.pump = ps_pump,
	.release = ps_release,
};

void proc_stream_input_progress(struct proc *p)
{
	struct proc_stream *ps = p->stream;
	if (!ps)
		return;
	/* Bytes queued before this stream attached belong to an earlier one. */
	uint64_t written = p->in_written > ps->in_base ? p->in_written - ps->in_base : 0;
	stream_input_written(&ps->base, MIN(written, ps->base.in_received));
}

static void ps_release(struct stream *s)
{
	struct proc_stream *ps = (struct proc_stream *)s;
	ps->proc->stream = NULL;
	proc_detached(ps->proc);
}

static struct proc_stream *attach(uint32_t id, struct proc *p, uint64_t offset, uint32_t window)
{
	struct proc_stream *ps = (struct proc_stream *)stream_open(id, &proc_stream_ops, sizeof *ps);
	ps->proc = p;
	ps->in_base = p->in_queued;
	ps->base.window = window;
	ps->base.sent = ps->base.acked = offset;
	p->stream = ps;
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_STARTED, id);
	tlv_u32(q, TAG_PROC_ID, p->id);
	tlv_u32(q, TAG_PID, (uint32_t)p->pid);
	tlv_u64(q, TAG_OFFSET, offset);
	frame_end(q, at);
	return ps;
}

static void send_exit(uint32_t id, const struct proc *p)
{
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_EXIT, id);
	tlv_u64(q, TAG_OFFSET, p->ring.end);
	if (WIFEXITED(p->status))
		tlv_i32(q, TAG_EXIT_CODE, WEXITSTATUS(p->status));
	if (WIFSIGNALED(p->status))
		tlv_u32(q, TAG_TERM_SIGNAL, (uint32_t)WTERMSIG(p->status));
	if (p->timed_out)
		tlv_u32(q, TAG_TIMED_OUT, 1);
	frame_end(q, at);
}

static bool ps_pump(struct stream *s)
{
	struct proc *p = ((struct proc_stream *)s)->proc;
	struct ring *r = &p->ring;
	if (s->sent < r->start) {
		/* keep=drop overwrote bytes before they were sent: skip them. The OUT_*
		 * offsets show the gap, and the skipped bytes do not count against the
		 * window (the host can only acknowledge what it received). */
		s->sent = r->start;
		s->acked = MAX(s->acked, r->start);
	}
	if (s->sent < r->end) {
		uint64_t credit = stream_credit(s);
		if (!credit)
			return false;
		enum out_kind kind;
		struct iovec iov[2];
		size_t n = ring_peek(r, s->sent, (size_t)MIN(credit, (uint64_t)OUT_CHUNK), &kind, iov);
		struct buf *q = conn_queue();
		size_t at = frame_begin(q, kind == OUT_STDOUT ? MSG_OUT_STDOUT : MSG_OUT_STDERR, s->id);
		uint8_t *dst = buf_append(q, DATA_PREFIX_LEN + n);
		put_le64(dst, s->sent);
		memcpy(dst + DATA_PREFIX_LEN, iov[0].iov_base, iov[0].iov_len);
		memcpy(dst + DATA_PREFIX_LEN + iov[0].iov_len, iov[1].iov_base, iov[1].iov_len);
		frame_end(q, at);
		s->sent += n;
		if (!conn_has_cap(CAP_CREDIT)) {
			/* Without flow control, sent counts as consumed: the socket is the
			 * only back-pressure, and keep=block must not wait for CREDIT. */
			s->acked = s->sent;
			ring_ack(r, s->sent);
			proc_update(p);
		}
		return true;
	}
	if (!p->done)
		return false;
	/* Every byte is out; EXIT is the stream's last frame. */
	send_exit(s->id, p);
	stream_end(s);
	return true;
}

static bool ps_on_frame(struct stream *s, const struct msg *m)
{
	struct proc *p = ((struct proc_stream *)s)->proc;
	switch (m->type) {
	case MSG_STDIN:
		if (stream_input_arrived(s, m->data_len))
			proc_stdin_push(p, m->data, m->data_len);
		return true;
	case MSG_STDIN_EOF:
		proc_stdin_eof(p);
		return true;
	case MSG_SIGNAL: {
		uint32_t sig = msg_u32(m, TAG_SIGNAL, 0);
		int err = sig >= 1 && sig < _NSIG ? proc_signal(p, (int)sig) : EINVAL;
		if (err) {
			conn_reply_error(s->id, err, "signal %u", sig);
			stream_end(s);
		}
		return true;
	}
	case MSG_RESIZE: {
		uint32_t rows = msg_u32(m, TAG_ROWS, 0), cols = msg_u32(m, TAG_COLS, 0);
		int err = rows <= UINT16_MAX && cols <= UINT16_MAX ? proc_resize(p, (uint16_t)rows, (uint16_t)cols)
								   : EINVAL;
		if (err) {
			conn_reply_error(s->id, err, "resize to %ux%u", rows, cols);
			stream_end(s);
		}
		return true;
	}
	case MSG_CLOSE:
		stream_end(s); /* detach: the process keeps running into its ring */
		return true;
	case MSG_CREDIT:
		stream_acked(s, msg_u64(m, TAG_OFFSET, 0));
		ring_ack(&p->ring, s->acked);
		proc_update(p);
		return true;
	}
	return false;
}

/* ---- EXEC ---- */

static char **argv_copy(const struct msg *m)
{
	char **argv = xcalloc(m->count[TAG_ARGV] + 1, sizeof *argv);
	struct str a;
	uint32_t cur = 0;
	for (size_t i = 0; msg_next(m, TAG_ARGV, &cur, &a); i++)
		argv[i] = xstrndup(a.p, a.len);
	return argv;
}

static void argv_free(char **argv)
{
	env_free(argv); /* same shape: NULL-terminated array of heap strings */
}

static bool flag_arg(const struct msg *m, enum tag t, bool *out)
{
	uint32_t v = msg_u32(m, t, 0);
	*out = v == 1;
	return v <= 1;
}

/* Checks the numeric EXEC fields; the name of the bad one, or NULL. */
static const char *exec_numbers(const struct msg *m, struct exec_params *x, uint32_t *window)
{
	if (!flag_arg(m, TAG_PTY, &x->pty))
		return "pty must be 0 or 1";
	if (!flag_arg(m, TAG_STDIN, &x->want_stdin))
		return "stdin must be 0 or 1";
	if (!flag_arg(m, TAG_KEEP, &x->drop))
		return "keep must be 0 (block) or 1 (drop)";
	uint32_t rows = msg_u32(m, TAG_ROWS, DEFAULT_ROWS), cols = msg_u32(m, TAG_COLS, DEFAULT_COLS);
	if (rows > UINT16_MAX || cols > UINT16_MAX)
		return "rows and cols must be at most 65535";
	x->rows = (uint16_t)rows;
	x->cols = (uint16_t)cols;
	x->buffer_bytes = msg_u32(m, TAG_BUFFER_BYTES, (uint32_t)proc_default_buffer());
	if (x->buffer_bytes < BUFFER_BYTES_MIN || x->buffer_bytes > BUFFER_BYTES_MAX)
		return "buffer_bytes must be 65536 to 67108864";
	*window = stream_window_arg(m);
	if (!*window)
		return "window must be 65536 to 16777216";
	x->timeout_ms = msg_u32(m, TAG_TIMEOUT_MS, 0);
	x->uid = msg_u32(m, TAG_UID, 0);
	x->gid = msg_u32(m, TAG_GID, 0);
	return NULL;
}

void proc_exec(const struct msg *m)
{
	struct exec_params x = { 0 };
	uint32_t window;
	const char *bad = exec_numbers(m, &x, &window);
	if (bad) {
		conn_reply_error(m->stream, EINVAL, "%s", bad);
		return;
	}
	if (x.pty && !conn_has_cap(CAP_PTY)) {
		conn_reply_error(m->stream, ENOTSUP, "pty=1 needs the PTY capability");
		return;
	}
	if (msg_str(m, TAG_ARGV).len == 0) {
		conn_reply_error(m->stream, EINVAL, "argv[0] is empty");
		return;
	}
	struct str bad_env;
	char **envp = config_build_env(m, &bad_env);
	if (!envp) {
		conn_reply_error(m->stream, EINVAL, "env entry '%.*s' is not KEY=VALUE", (int)MIN(bad_env.len, 200u),
				 bad_env.p);
		return;
	}
	struct str cwd = msg_str(m, TAG_CWD);
	autofree char *cwd_buf = cwd.p ? xstrndup(cwd.p, cwd.len) : NULL;
	x.cwd = cwd_buf ? cwd_buf : "/";
	x.argv = argv_copy(m);
	x.envp = envp;
	struct spawn_result res;
	struct proc *p = proc_start(&x, &res);
	env_free(envp);
	if (!p) {
		conn_reply_error(m->stream, res.err, "%s %s: %s", spawn_stage_name(res.stage),
				 res.stage == SPAWN_CHDIR ? x.cwd : x.argv[0], strerror(res.err));
		argv_free(x.argv);
		return;
	}
	attach(m->stream, p, 0, window);
}

/* ---- ATTACH ---- */

void proc_attach(const struct msg *m)
{
	uint32_t id = msg_u32(m, TAG_PROC_ID, 0);
	struct proc *p = proc_find(id);
	if (!p) {
		conn_reply_error(m->stream, ESRCH, "no process %u (never started, or evicted)", id);
		return;
	}
	uint32_t window = stream_window_arg(m);
	if (!window) {
		conn_reply_error(m->stream, EINVAL, "window must be 65536 to 16777216");
		return;
	}
	uint64_t offset = msg_u64(m, TAG_OFFSET, p->ring.start);
	if (offset < p->ring.start) {
		conn_reply_error(m->stream, ERANGE, "offset %llu was discarded; the oldest held is %llu",
				 (unsigned long long)offset, (unsigned long long)p->ring.start);
		return;
	}
	if (offset > p->ring.end) {
		conn_reply_error(m->stream, EINVAL, "offset %llu is past the end of the output (%llu)",
				 (unsigned long long)offset, (unsigned long long)p->ring.end);
		return;
	}
	if (p->stream) {
		struct stream *old = &p->stream->base;
		conn_reply_error(old->id, EBUSY, "process %u was attached by stream %u", p->id, m->stream);
		stream_end(old);
	}
	/* Attaching at an offset says everything before it was consumed. */
	ring_ack(&p->ring, offset);
	attach(m->stream, p, offset, window);
	proc_update(p);
}

/* ---- PS ---- */

static void ps_entry(struct buf *e, const struct proc *p)
{
	e->len = 0;
	tlv_u32(e, TAG_PROC_ID, p->id);
	tlv_u32(e, TAG_PID, (uint32_t)p->pid);
	tlv_u32(e, TAG_STATE, p->reaped ? 1 : 0);
	tlv_u64(e, TAG_OFFSET, p->ring.end);
	if (p->reaped && WIFEXITED(p->status))
		tlv_i32(e, TAG_EXIT_CODE, WEXITSTATUS(p->status));
	if (p->reaped && WIFSIGNALED(p->status))
		tlv_u32(e, TAG_TERM_SIGNAL, (uint32_t)WTERMSIG(p->status));
	size_t argv_bytes = 0;
	for (char **a = p->argv; a && *a; a++) {
		size_t n = strlen(*a);
		if (argv_bytes + n > PS_ARGV_MAX)
			break;
		tlv_mem(e, TAG_ARGV, *a, n);
		argv_bytes += n;
	}
}

void proc_ps(const struct msg *m)
{
	struct buf *q = conn_queue();
	struct buf entry = { 0 };
	size_t at = 0;
	bool open = false;
	for (struct proc *p = proc_first(); p; p = p->next) {
		ps_entry(&entry, p);
		if (open && q->len - at + entry.len + 5 > PS_FRAME_MAX) {
			frame_end(q, at);
			open = false;
		}
		if (!open) {
			at = frame_begin(q, MSG_ENTRIES, m->stream);
			open = true;
		}
		tlv_mem(q, TAG_ENTRY, entry.p, entry.len);
	}
	if (open)
		frame_end(q, at);
	buf_free(&entry);
	conn_reply_ok(m->stream);
}
