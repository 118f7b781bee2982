/* LIST: a directory's entries in ENTRIES frames of under 64 KiB, produced as the
 * connection has room (a directory can be huge), then OK. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "dispatch.h"
#include "files.h"
#include "stream.h"
#include "util.h"

#define LIST_FRAME_MAX (64u * 1024u - 1u) /* header + payload */

struct list_stream {
	struct stream base;
	DIR *dir;
	struct buf entry; /* an encoded entry that did not fit the previous frame */
};

static void list_release(struct stream *s)
{
	struct list_stream *l = (struct list_stream *)s;
	if (l->dir)
		closedir(l->dir);
	buf_free(&l->entry);
}

static bool list_on_frame(struct stream *s, const struct msg *m)
{
	if (m->type != MSG_CLOSE)
		return false;
	stream_end(s);
	return true;
}

static void encode_entry(struct buf *e, int dfd, const struct dirent *de)
{
	struct stat st;
	size_t at = tlv_begin(e, TAG_ENTRY);
	tlv_str(e, TAG_NAME, de->d_name);
	if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		memset(&st, 0, sizeof st); /* unreadable: name only, zero attributes */
	tlv_u32(e, TAG_FTYPE, files_ftype(st.st_mode));
	tlv_u32(e, TAG_MODE, (uint32_t)st.st_mode & 07777u);
	tlv_u64(e, TAG_SIZE, (uint64_t)st.st_size);
	tlv_u64(e, TAG_MTIME_NS, files_mtime_ns(&st));
	files_put_target(e, dfd, de->d_name, &st);
	tlv_end(e, at);
}

/* Fills l->entry with the next entry; false at the end (errno set on failure). */
static bool next_entry(struct list_stream *l)
{
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(l->dir);
		if (!de)
			return false;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		l->entry.len = 0;
		encode_entry(&l->entry, dirfd(l->dir), de);
		return true;
	}
}

static bool list_pump(struct stream *s)
{
	struct list_stream *l = (struct list_stream *)s;
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_ENTRIES, s->id);
	bool more = true;
	for (;;) {
		if (!l->entry.len && !(more = next_entry(l)))
			break;
		if (q->len - at + l->entry.len > LIST_FRAME_MAX)
			break;
		buf_put(q, l->entry.p, l->entry.len);
		l->entry.len = 0;
	}
	int err = errno;
	if (q->len - at > FRAME_HEADER_LEN)
		frame_end(q, at);
	else
		q->len = at; /* nothing in it: no empty frame */
	if (more)
		return true;
	if (err)
		conn_reply_error(s->id, err, "readdir: %s", strerror(err));
	else
		conn_reply_ok(s->id);
	stream_end(s);
	return true;
}

static const struct stream_ops list_ops = {
	.name = "LIST",
	.on_frame = list_on_frame,
	.pump = list_pump,
	.release = list_release,
};

void files_list(const struct msg *m)
{
	char path[STR_MAX + 1];
	if (!files_path_arg(m, TAG_PATH, path))
		return;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		conn_reply_error(m->stream, err, "open %s: %s", path, strerror(err));
		return;
	}
	struct list_stream *l = (struct list_stream *)stream_open(m->stream, &list_ops, sizeof *l);
	l->dir = dir;
}
