/* STAT, MKDIR, REMOVE, RENAME: answered at once with OK or ERROR {errno}. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "dispatch.h"
#include "files.h"
#include "proto.h"
#include "util.h"

#define STAT_FOLLOW 1u
#define MKDIR_PARENTS 1u
#define REMOVE_RECURSIVE 1u
#define MKDIR_MODE_DEFAULT 0755u
#define PARENT_MODE 0755u

bool files_path_arg(const struct msg *m, enum tag t, char *out)
{
	struct str s = msg_str(m, t);
	if (s.len == 0 || s.p[0] != '/') {
		conn_reply_error(m->stream, EINVAL, "%s must be an absolute path", tag_spec(t)->name);
		return false;
	}
	memcpy(out, s.p, s.len);
	out[s.len] = '\0';
	return true;
}

uint32_t files_ftype(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return 1;
	case S_IFDIR: return 2;
	case S_IFLNK: return 3;
	case S_IFCHR: return 4;
	case S_IFBLK: return 5;
	case S_IFIFO: return 6;
	case S_IFSOCK: return 7;
	}
	return 0;
}

uint64_t files_mtime_ns(const struct stat *st)
{
	if (st->st_mtim.tv_sec < 0)
		return 0; /* before 1970: not representable in a u64 of ns since the epoch */
	return (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
}

void files_put_target(struct buf *b, int dirfd, const char *path, const struct stat *st)
{
	if (!S_ISLNK(st->st_mode))
		return;
	char target[PATH_MAX];
	ssize_t n = readlinkat(dirfd, path, target, sizeof target);
	if (n >= 0 && (size_t)n <= STR_MAX)
		tlv_mem(b, TAG_TARGET, target, (size_t)n);
}

static void reply_errno(const struct msg *m, const char *op, const char *path)
{
	int err = errno;
	conn_reply_error(m->stream, err, "%s %s: %s", op, path, strerror(err));
}

void files_stat(const struct msg *m)
{
	char path[STR_MAX + 1];
	if (!files_path_arg(m, TAG_PATH, path))
		return;
	uint32_t flags = msg_u32(m, TAG_FLAGS, 0);
	if (flags & ~STAT_FOLLOW) {
		conn_reply_error(m->stream, EINVAL, "unknown STAT flags 0x%x", flags);
		return;
	}
	struct stat st;
	int r = (flags & STAT_FOLLOW) ? stat(path, &st) : lstat(path, &st);
	if (r < 0) {
		reply_errno(m, "stat", path);
		return;
	}
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_OK, m->stream);
	tlv_u32(q, TAG_FTYPE, files_ftype(st.st_mode));
	tlv_u32(q, TAG_MODE, (uint32_t)st.st_mode);
	tlv_u64(q, TAG_SIZE, (uint64_t)st.st_size);
	tlv_u32(q, TAG_UID, st.st_uid);
	tlv_u32(q, TAG_GID, st.st_gid);
	tlv_u64(q, TAG_MTIME_NS, files_mtime_ns(&st));
	files_put_target(q, AT_FDCWD, path, &st);
	frame_end(q, at);
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p: every missing component; an existing directory (or a symlink to one) is
 * fine, anything else in the way is ENOTDIR / EEXIST from mkdir itself. */
static int mkdir_parents(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, PARENT_MODE);
		int err = errno;
		bool ok = r == 0 || (err == EEXIST && is_dir(path));
		*p = '/';
		if (!ok) {
			errno = err == EEXIST ? ENOTDIR : err;
			return -1;
		}
	}
	if (mkdir(path, mode) == 0 || (errno == EEXIST && is_dir(path)))
		return 0;
	return -1;
}

void files_mkdir(const struct msg *m)
{
	char path[STR_MAX + 1];
	if (!files_path_arg(m, TAG_PATH, path))
		return;
	uint32_t flags = msg_u32(m, TAG_FLAGS, 0), mode = msg_u32(m, TAG_MODE, MKDIR_MODE_DEFAULT);
	if (flags & ~MKDIR_PARENTS || mode & ~07777u) {
		conn_reply_error(m->stream, EINVAL, "bad MKDIR flags 0x%x or mode 0%o", flags, mode);
		return;
	}
	int r = (flags & MKDIR_PARENTS) ? mkdir_parents(path, mode) : mkdir(path, mode);
	if (r < 0)
		reply_errno(m, "mkdir", path);
	else
		conn_reply_ok(m->stream);
}

static int remove_at(int dirfd, const char *name);

/* Empties the directory open as fd. Entries are opened relative to it with
 * O_NOFOLLOW, so a symlink met on the way is unlinked, never followed. */
static int remove_children(int fd)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int err = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_at(dirfd(d), de->d_name) < 0 && errno != ENOENT) {
			err = errno;
			break;
		}
	}
	if (!err && errno)
		err = errno;
	closedir(d);
	errno = err;
	return err ? -1 : 0;
}

static int remove_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* Swapped for a symlink or file since the fstatat: remove that instead. */
		if (errno == ELOOP || errno == ENOTDIR)
			return unlinkat(dirfd, name, 0);
		return -1;
	}
	if (remove_children(fd) < 0)
		return -1;
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

void files_remove(const struct msg *m)
{
	char path[STR_MAX + 1];
	if (!files_path_arg(m, TAG_PATH, path))
		return;
	uint32_t flags = msg_u32(m, TAG_FLAGS, 0);
	if (flags & ~REMOVE_RECURSIVE) {
		conn_reply_error(m->stream, EINVAL, "unknown REMOVE flags 0x%x", flags);
		return;
	}
	int r;
	if (flags & REMOVE_RECURSIVE) {
		r = remove_at(AT_FDCWD, path);
	} else {
		struct stat st;
		r = lstat(path, &st);
		if (r == 0)
			r = unlinkat(AT_FDCWD, path, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
	}
	if (r < 0)
		reply_errno(m, "remove", path);
	else
		conn_reply_ok(m->stream);
}

void files_rename(const struct msg *m)
{
	char from[STR_MAX + 1], to[STR_MAX + 1];
	if (!files_path_arg(m, TAG_PATH, from) || !files_path_arg(m, TAG_PATH2, to))
		return;
	if (rename(from, to) < 0)
		reply_errno(m, "rename", from);
	else
		conn_reply_ok(m->stream);
}
