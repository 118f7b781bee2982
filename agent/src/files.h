/* Helpers shared by the file requests (fileio.c, fsops.c, list.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "buf.h"
#include "frame.h"

/* Copies the absolute path in tag t to out (STR_MAX + 1 bytes). false, after replying
 * EINVAL on the request's stream, when it is not absolute. */
bool files_path_arg(const struct msg *m, enum tag t, char *out);
/* ftype numbers of docs/protocol.md: 1 file, 2 dir, 3 symlink, 4 chr, 5 blk, 6 fifo, 7 sock. */
uint32_t files_ftype(mode_t mode);
uint64_t files_mtime_ns(const struct stat *st);
/* Appends `target` for a symlink (best effort: a link can change under us). */
void files_put_target(struct buf *b, int dirfd, const char *path, const struct stat *st);
