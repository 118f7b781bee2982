/* Process records: a started process, its pipes or pty, its output ring, its stdin
 * queue, and its exit. A record outlives the connection and any stream attached to it;
 * the 64 most recently finished ones are kept for ATTACH and PS. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "loop.h"
#include "ring.h"
#include "spawn.h"

#define BUFFER_BYTES_MIN (64u * 1024u)
#define BUFFER_BYTES_MAX (64u * 1024u * 1024u)
#define BUFFER_BYTES_DEFAULT (1024u * 1024u)
#define EXITED_KEEP 64

struct proc_stream;

struct proc {
	uint32_t id;
	pid_t pid;
	char **argv; /* for PS */
	struct ring ring;
	struct watch out;   /* stdout pipe, or the pty master (read output, write stdin) */
	struct watch err;   /* stderr pipe; closed from the start with a pty */
	struct watch in;    /* stdin pipe; closed when there is none, and with a pty */
	struct watch timer; /* timeout_ms; closed when there is none */
	bool pty;
	bool reaped;        /* exit status collected */
	bool done;          /* reaped and every output fd at EOF: EXIT may be sent */
	bool timed_out;
	int status;         /* wait status */
	/* stdin: bytes the host sent (queued) and those that reached the process or
	 * were dropped because nothing reads them any more (written). */
	bool stdin_open, stdin_eof, veof_pending;
	struct buf in_buf;
	size_t in_head;
	uint64_t in_queued, in_written;
	struct proc_stream *stream; /* the attached stream, if any */
	uint64_t done_seq;
	struct proc *prev, *next;   /* all records, oldest first */
	struct proc *gc_next;
};

struct exec_params {
	char **argv, **envp;
	const char *cwd;
	uid_t uid;
	gid_t gid;
	bool pty, want_stdin, drop;
	uint16_t rows, cols;
	uint32_t timeout_ms;
	size_t buffer_bytes;
};

void proc_init(size_t default_buffer_bytes);
size_t proc_default_buffer(void);
/* Frees records evicted during the last batch of events (their watches may still have
 * been referenced by that batch). */
void proc_collect_garbage(void);

/* Starts a process; takes argv on success. NULL with *res saying what failed. */
struct proc *proc_start(struct exec_params *x, struct spawn_result *res);
struct proc *proc_find(uint32_t id);
struct proc *proc_first(void);

/* Re-derives which fds the process's record waits on (call after any change). */
void proc_update(struct proc *p);
void proc_stdin_push(struct proc *p, const uint8_t *data, size_t n);
void proc_stdin_eof(struct proc *p);
/* kill() on the process group; returns 0 or an errno. */
int proc_signal(struct proc *p, int sig);
int proc_resize(struct proc *p, uint16_t rows, uint16_t cols);
/* The attached stream went away: the record may now be evicted. */
void proc_detached(struct proc *p);

/* Between proc.c (records) and procio.c (their fds). */
void proc_io_init(struct proc *p, int out_fd, int err_fd, int in_fd);
/* Reaped and every output fd at EOF: the record is finished (EXIT may go out). */
void proc_maybe_done(struct proc *p);
/* Nothing reads stdin any more: drop what is queued, count it as consumed. */
void proc_stdin_gone(struct proc *p);

/* Provided by procreq.c: stdin progress to credit back on the attached stream. */
void proc_stream_input_progress(struct proc *p);
