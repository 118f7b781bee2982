/* A process's I/O: output from its pipes or pty into the ring (paused while the ring
 * has no room, which is what blocks a keep=block writer), and the host's stdin queued
 * and written as the process reads it. */
#include <errno.h>
#include <termios.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

/* Bytes moved from a pipe per read(): a pipe holds 64 KiB by default. */
#define READ_CHUNK (64u * 1024u)

static size_t stdin_pending(const struct proc *p)
{
	return p->in_buf.len - p->in_head;
}

static int stdin_fd(const struct proc *p)
{
	return p->pty ? p->out.fd : p->in.fd;
}

/* Nothing will read stdin any more: what is queued and what still comes counts as
 * consumed, so the host's window never stalls on a process that stopped reading. */
void proc_stdin_gone(struct proc *p)
{
	p->stdin_open = false;
	p->veof_pending = false;
	p->in_written = p->in_queued;
	buf_free(&p->in_buf);
	p->in_head = 0;
	if (!p->pty)
		watch_close(&p->in);
}

/* Writes what the fd takes now; the bytes written are counted in in_written. */
static size_t stdin_write(struct proc *p, const uint8_t *d, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(stdin_fd(p), d + off, n - off);
		if (w > 0) {
			off += (size_t)w;
			p->in_written += (uint64_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN) {
			break;
		} else {
			proc_stdin_gone(p); /* EPIPE: the reader exited; EIO: the pty hung up */
			break;
		}
	}
	return off;
}

static void stdin_finish(struct proc *p)
{
	if (!p->pty) {
		watch_close(&p->in);
		p->stdin_open = false;
		return;
	}
	/* A terminal has no "close": end-of-file is the VEOF character (^D), which a
	 * canonical-mode reader sees as EOF at the start of a line. */
	struct termios tio;
	uint8_t veof = 4;
	if (tcgetattr(p->out.fd, &tio) == 0)
		veof = tio.c_cc[VEOF];
	ssize_t w = write(p->out.fd, &veof, 1);
	p->veof_pending = w != 1 && errno == EAGAIN;
}

static void stdin_drain(struct proc *p)
{
	while (p->stdin_open && stdin_pending(p)) {
		size_t n = stdin_pending(p);
		size_t off = stdin_write(p, p->in_buf.p + p->in_head, n);
		if (!p->stdin_open)
			break;
		p->in_head += off;
		if (off < n)
			break;
	}
	if (p->stdin_open && !stdin_pending(p)) {
		p->in_buf.len = p->in_head = 0;
		if (p->stdin_eof && (p->veof_pending || !p->pty))
			stdin_finish(p);
	}
	proc_stream_input_progress(p);
}

void proc_stdin_push(struct proc *p, const uint8_t *data, size_t n)
{
	p->in_queued += n;
	if (!p->stdin_open || p->stdin_eof) {
		p->in_written = p->in_queued;
		proc_stream_input_progress(p);
		return;
	}
	size_t off = stdin_pending(p) ? 0 : stdin_write(p, data, n);
	if (p->stdin_open && off < n)
		buf_put(&p->in_buf, data + off, n - off);
	proc_stream_input_progress(p);
	proc_update(p);
}

void proc_stdin_eof(struct proc *p)
{
	if (p->stdin_eof || !p->stdin_open)
		return;
	p->stdin_eof = true;
	p->veof_pending = p->pty;
	stdin_drain(p);
	proc_update(p);
}

static void output_eof(struct proc *p, struct watch *w)
{
	watch_close(w);
	if (p->pty)
		proc_stdin_gone(p);
	proc_maybe_done(p);
}

static void read_output(struct proc *p, struct watch *w, enum out_kind kind)
{
	/* A few reads per wake-up; level-triggered epoll brings us back for the rest. */
	for (int i = 0; i < 4 && w->fd >= 0; i++) {
		size_t room = ring_room(&p->ring, kind);
		if (!room)
			return;
		struct iovec iov[2];
		int cnt = ring_reserve(&p->ring, MIN(room, READ_CHUNK), iov);
		ssize_t n = readv(w->fd, iov, cnt);
		if (n > 0) {
			ring_commit(&p->ring, kind, (size_t)n);
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return;
		} else {
			/* 0: the pipe's writers are all gone. EIO: Linux's pty master once the
			 * last slave fd closes. Anything else cannot be retried either. */
			output_eof(p, w);
			return;
		}
	}
}

static void on_out(struct watch *w, uint32_t ev)
{
	struct proc *p = container_of(w, struct proc, out);
	if (p->pty && (ev & EPOLLOUT))
		stdin_drain(p);
	if (w->fd >= 0 && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		if (ring_room(&p->ring, OUT_STDOUT))
			read_output(p, w, OUT_STDOUT);
		else if (p->pty && (ev & (EPOLLHUP | EPOLLERR)))
			/* Output is paused and the terminal hung up: stop asking for EPOLLOUT
			 * (the hang-up would wake us forever); the EIO waits for ring room. */
			proc_stdin_gone(p);
	}
	proc_update(p);
}

static void on_err(struct watch *w, uint32_t ev)
{
	(void)ev;
	struct proc *p = container_of(w, struct proc, err);
	read_output(p, w, OUT_STDERR);
	proc_update(p);
}

static void on_in(struct watch *w, uint32_t ev)
{
	(void)ev;
	struct proc *p = container_of(w, struct proc, in);
	stdin_drain(p);
	proc_update(p);
}

void proc_update(struct proc *p)
{
	bool want_write = p->stdin_open && (stdin_pending(p) || p->veof_pending);
	uint32_t out_ev = 0;
	if (p->out.fd >= 0 && ring_room(&p->ring, OUT_STDOUT))
		out_ev |= EPOLLIN;
	if (p->pty && want_write)
		out_ev |= EPOLLOUT;
	watch_set(&p->out, out_ev);
	watch_set(&p->err, p->err.fd >= 0 && ring_room(&p->ring, OUT_STDERR) ? EPOLLIN : 0);
	watch_set(&p->in, !p->pty && want_write ? EPOLLOUT : 0);
}

void proc_io_init(struct proc *p, int out_fd, int err_fd, int in_fd)
{
	watch_init(&p->out, out_fd, on_out);
	watch_init(&p->err, err_fd, on_err);
	watch_init(&p->in, in_fd, on_in);
}
