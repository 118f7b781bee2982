/* FREAD and FWRITE: file contents streamed in DATA / WDATA frames under credit. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "dispatch.h"
#include "files.h"
#include "stream.h"
#include "util.h"

#define FREAD_CHUNK (128u * 1024u)
#define FWRITE_CREATE 1u
#define FWRITE_TRUNCATE 2u
#define FWRITE_APPEND 4u
#define FWRITE_EXCLUSIVE 8u
#define FWRITE_FLAGS_DEFAULT (FWRITE_CREATE | FWRITE_TRUNCATE)
#define FWRITE_MODE_DEFAULT 0644u

/* ---- FREAD ---- */

struct fread_stream {
	struct stream base; /* sent/acked count file bytes sent on this stream */
	int fd;
	uint64_t pos;  /* file position of the next byte */
	uint64_t left; /* bytes still wanted; UINT64_MAX = to the end */
};

static void fread_release(struct stream *s)
{
	struct fread_stream *f = (struct fread_stream *)s;
	if (f->fd >= 0)
		close(f->fd);
}

static bool fread_on_frame(struct stream *s, const struct msg *m)
{
	switch (m->type) {
	case MSG_CREDIT:
		stream_acked(s, msg_u64(m, TAG_OFFSET, 0));
		return true;
	case MSG_CLOSE:
		stream_end(s);
		return true;
	}
	return false;
}

static void fread_finish(struct stream *s)
{
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_OK, s->id);
	tlv_u64(q, TAG_SIZE, s->sent);
	frame_end(q, at);
	stream_end(s);
}

static bool fread_pump(struct stream *s)
{
	struct fread_stream *f = (struct fread_stream *)s;
	if (f->left == 0) {
		fread_finish(s);
		return true;
	}
	uint64_t credit = stream_credit(s);
	if (!credit)
		return false;
	size_t want = (size_t)MIN(MIN(credit, (uint64_t)FREAD_CHUNK), f->left);
	/* Read straight into the connection queue; the frame is trimmed to what came. */
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_DATA, s->id);
	uint8_t *dst = buf_append(q, DATA_PREFIX_LEN + want);
	put_le64(dst, f->pos);
	ssize_t n;
	do
		n = read(f->fd, dst + DATA_PREFIX_LEN, want);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		int err = errno;
		q->len = at;
		if (n == 0) {
			fread_finish(s);
		} else {
			conn_reply_error(s->id, err, "read: %s", strerror(err));
			stream_end(s);
		}
		return true;
	}
	q->len = at + FRAME_HEADER_LEN + DATA_PREFIX_LEN + (size_t)n;
	frame_end(q, at);
	f->pos += (uint64_t)n;
	s->sent += (uint64_t)n;
	if (f->left != UINT64_MAX)
		f->left -= (uint64_t)n;
	if (!conn_has_cap(CAP_CREDIT))
		s->acked = s->sent;
	return true;
}

static const struct stream_ops fread_ops = {
	.name = "FREAD",
	.on_frame = fread_on_frame,
	.pump = fread_pump,
	.release = fread_release,
};

void files_fread(const struct msg *m)
{
	char path[STR_MAX + 1];
	if (!files_path_arg(m, TAG_PATH, path))
		return;
	uint32_t window = stream_window_arg(m);
	if (!window) {
		conn_reply_error(m->stream, EINVAL, "window must be 65536 to 16777216");
		return;
	}
	/* O_NONBLOCK: opening a FIFO must not wait for a writer and stall the agent. */
	autofd fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		conn_reply_error(m->stream, errno, "open %s: %s", path, strerror(errno));
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		conn_reply_error(m->stream, EISDIR, "%s is a directory", path);
		return;
	}
	uint64_t offset = msg_u64(m, TAG_OFFSET, 0);
	if (offset && lseek(fd, (off_t)offset, SEEK_SET) < 0) {
		conn_reply_error(m->stream, errno, "seek %s: %s", path, strerror(errno));
		return;
	}
	struct fread_stream *f = (struct fread_stream *)stream_open(m->stream, &fread_ops, sizeof *f);
	f->base.window = window;
	f->fd = steal_fd(&fd);
	f->pos = offset;
	f->left = msg_u64(m, TAG_LENGTH, UINT64_MAX);
}

/* ---- FWRITE ---- */

struct fwrite_stream {
	struct stream base;
	int fd;
	uint64_t written;
};

static void fwrite_release(struct stream *s)
{
	struct fwrite_stream *f = (struct fwrite_stream *)s;
	if (f->fd >= 0)
		close(f->fd);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static bool fwrite_on_frame(struct stream *s, const struct msg *m)
{
	struct fwrite_stream *f = (struct fwrite_stream *)s;
	switch (m->type) {
	case MSG_WDATA:
		if (!stream_input_arrived(s, m->data_len))
			return true;
		/* Regular-file writes complete (or fail) synchronously, so nothing is
		 * buffered here and the credit goes back at once. */
		if (write_all(f->fd, m->data, m->data_len) < 0) {
			conn_reply_error(s->id, errno, "write: %s", strerror(errno));
			stream_end(s);
			return true;
		}
		f->written += m->data_len;
		stream_input_written(s, f->written);
		return true;
	case MSG_WEND: {
		int fd = f->fd;
		f->fd = -1;
		if (close(fd) < 0) {
			/* NFS and friends report deferred write errors at close. */
			conn_reply_error(s->id, errno, "close: %s", strerror(errno));
		} else {
			struct buf *q = conn_queue();
			size_t at = frame_begin(q, MSG_OK, s->id);
			tlv_u64(q, TAG_SIZE, f->written);
			frame_end(q, at);
		}
		stream_end(s);
		return true;
	}
	case MSG_CLOSE:
		stream_end(s); /* abandoned: what was written stays */
		return true;
	}
	return false;
}

static const struct stream_ops fwrite_ops = {
	.name = "FWRITE",
	.on_frame = fwrite_on_frame,
	.pump = NULL,
	.release = fwrite_release,
};

void files_fwrite(const struct msg *m)
{
	char path[STR_MAX + 1];
	if (!files_path_arg(m, TAG_PATH, path))
		return;
	uint32_t flags = msg_u32(m, TAG_FLAGS, FWRITE_FLAGS_DEFAULT), mode = msg_u32(m, TAG_MODE, FWRITE_MODE_DEFAULT);
	if (flags & ~(FWRITE_CREATE | FWRITE_TRUNCATE | FWRITE_APPEND | FWRITE_EXCLUSIVE) || mode & ~07777u) {
		conn_reply_error(m->stream, EINVAL, "bad FWRITE flags 0x%x or mode 0%o", flags, mode);
		return;
	}
	int oflags = O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	if (flags & FWRITE_CREATE)
		oflags |= O_CREAT;
	if (flags & FWRITE_TRUNCATE)
		oflags |= O_TRUNC;
	if (flags & FWRITE_APPEND)
		oflags |= O_APPEND;
	if (flags & FWRITE_EXCLUSIVE)
		oflags |= O_EXCL;
	int fd = open(path, oflags, (mode_t)mode);
	if (fd < 0) {
		conn_reply_error(m->stream, errno, "open %s: %s", path, strerror(errno));
		return;
	}
	struct fwrite_stream *f = (struct fwrite_stream *)stream_open(m->stream, &fwrite_ops, sizeof *f);
	f->fd = fd;
}
