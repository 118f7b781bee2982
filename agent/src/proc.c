#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static struct {
	struct proc *head, *tail;
	struct proc *garbage;
	uint32_t last_id;
	unsigned n_done;
	uint64_t done_seq;
	size_t default_buffer;
	struct watch sigchld;
} procs;

struct proc *proc_first(void)
{
	return procs.head;
}

size_t proc_default_buffer(void)
{
	return procs.default_buffer;
}

struct proc *proc_find(uint32_t id)
{
	for (struct proc *p = procs.head; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

/* ---- signals, timeout, exit ---- */

int proc_signal(struct proc *p, int sig)
{
	if (p->done)
		return 0;
	if (kill(-p->pid, sig) == 0)
		return 0;
	int err = errno;
	/* The process may have left its group (setpgid); reach it directly. */
	if (err == ESRCH && !p->reaped && kill(p->pid, sig) == 0)
		return 0;
	return err == ESRCH ? 0 : err;
}

int proc_resize(struct proc *p, uint16_t rows, uint16_t cols)
{
	if (!p->pty || p->out.fd < 0)
		return 0;
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	return ioctl(p->out.fd, TIOCSWINSZ, &ws) < 0 ? errno : 0;
}

static void on_timeout(struct watch *w, uint32_t ev)
{
	(void)ev;
	struct proc *p = container_of(w, struct proc, timer);
	watch_close(w);
	if (p->done)
		return;
	p->timed_out = true;
	proc_signal(p, SIGKILL);
}

static void unlink_proc(struct proc *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		procs.head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		procs.tail = p->prev;
}

/* Keeps the EXITED_KEEP most recently finished records; an attached one is skipped
 * until its stream goes away. */
static void evict(void)
{
	while (procs.n_done > EXITED_KEEP) {
		struct proc *victim = NULL;
		for (struct proc *q = procs.head; q; q = q->next)
			if (q->done && !q->stream && (!victim || q->done_seq < victim->done_seq))
				victim = q;
		if (!victim)
			return;
		unlink_proc(victim);
		procs.n_done--;
		victim->gc_next = procs.garbage;
		procs.garbage = victim;
	}
}

void proc_detached(struct proc *p)
{
	(void)p;
	evict();
}

void proc_maybe_done(struct proc *p)
{
	if (p->done || !p->reaped || p->out.fd >= 0 || p->err.fd >= 0)
		return;
	p->done = true;
	watch_close(&p->timer);
	proc_stdin_gone(p);
	p->done_seq = ++procs.done_seq;
	procs.n_done++;
	evict();
}

static void reap(void)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		/* Orphans re-parented to PID 1 land here too: reaped and forgotten. */
		for (struct proc *p = procs.head; p; p = p->next) {
			if (p->pid == pid && !p->reaped) {
				p->reaped = true;
				p->status = status;
				proc_maybe_done(p);
				break;
			}
		}
	}
}

static void on_sigchld(struct watch *w, uint32_t ev)
{
	(void)ev;
	struct signalfd_siginfo si[16];
	/* Signals coalesce, so the siginfo says little; waitpid() finds every child. */
	while (read(w->fd, si, sizeof si) > 0)
		;
	reap();
}

void proc_init(size_t default_buffer_bytes)
{
	procs.default_buffer = default_buffer_bytes;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		die_with_error("signalfd");
	watch_init(&procs.sigchld, fd, on_sigchld);
	watch_set(&procs.sigchld, EPOLLIN);
	reap(); /* children inherited from whoever exec'd us */
}

static void proc_free(struct proc *p)
{
	if (p->argv) {
		for (char **a = p->argv; *a; a++)
			free(*a);
		free(p->argv);
	}
	ring_free(&p->ring);
	buf_free(&p->in_buf);
	free(p);
}

void proc_collect_garbage(void)
{
	while (procs.garbage) {
		struct proc *p = procs.garbage;
		procs.garbage = p->gc_next;
		proc_free(p);
	}
}

/* ---- start ---- */

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static bool fail(struct spawn_result *res, enum spawn_stage stage)
{
	res->stage = stage;
	res->err = errno;
	return false;
}

static bool start_pipes(struct proc *p, const struct exec_params *x, struct spawn_result *res)
{
	int o[2], e[2], i[2] = { -1, -1 };
	if (pipe2(o, O_CLOEXEC) < 0)
		return fail(res, SPAWN_PIPE);
	autofd out_r = o[0], out_w = o[1];
	if (pipe2(e, O_CLOEXEC) < 0)
		return fail(res, SPAWN_PIPE);
	autofd err_r = e[0], err_w = e[1];
	if (x->want_stdin) {
		if (pipe2(i, O_CLOEXEC) < 0)
			return fail(res, SPAWN_PIPE);
	} else if ((i[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		/* No /dev in this image: a pipe with no writer reads as EOF just the same. */
		if (pipe2(i, O_CLOEXEC) < 0)
			return fail(res, SPAWN_PIPE);
		close(i[1]);
		i[1] = -1;
	}
	autofd in_r = i[0], in_w = i[1];
	if (set_nonblock(out_r) < 0 || set_nonblock(err_r) < 0 || (in_w >= 0 && set_nonblock(in_w) < 0))
		return fail(res, SPAWN_PIPE);
	struct spawn_req req = { x->argv, x->envp, x->cwd, x->uid, x->gid, -1, in_r, out_w, err_w };
	*res = spawn(&req);
	if (res->stage != SPAWN_OK)
		return false;
	proc_io_init(p, steal_fd(&out_r), steal_fd(&err_r), steal_fd(&in_w));
	p->stdin_open = x->want_stdin;
	return true;
}

static int open_pty_slave(int master)
{
	/* TIOCGPTPEER (Linux 4.13) opens the peer without a path lookup, so it works even
	 * when /dev/pts in this mount namespace is not the master's devpts instance. */
	int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	char name[64];
	if (ptsname_r(master, name, sizeof name) != 0)
		return -1;
	return open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

static bool start_pty(struct proc *p, const struct exec_params *x, struct spawn_result *res)
{
	autofd master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
		return fail(res, SPAWN_PIPE);
	autofd slave = open_pty_slave(master);
	if (slave < 0)
		return fail(res, SPAWN_PIPE);
	struct winsize ws = { .ws_row = x->rows, .ws_col = x->cols };
	if (ioctl(master, TIOCSWINSZ, &ws) < 0 || set_nonblock(master) < 0)
		return fail(res, SPAWN_PIPE);
	struct spawn_req req = { x->argv, x->envp, x->cwd, x->uid, x->gid, slave, -1, -1, -1 };
	*res = spawn(&req);
	if (res->stage != SPAWN_OK)
		return false;
	proc_io_init(p, steal_fd(&master), -1, -1);
	p->stdin_open = true;
	return true;
}

struct proc *proc_start(struct exec_params *x, struct spawn_result *res)
{
	struct proc *p = xcalloc(1, sizeof *p);
	if (ring_init(&p->ring, x->buffer_bytes, x->drop) != RING_OK) {
		free(p);
		res->stage = SPAWN_SETUP;
		res->err = ENOMEM;
		return NULL;
	}
	if (!(x->pty ? start_pty(p, x, res) : start_pipes(p, x, res))) {
		proc_free(p);
		return NULL;
	}
	p->id = ++procs.last_id;
	p->pid = res->pid;
	p->pty = x->pty;
	p->argv = steal_pointer(&x->argv);
	watch_init(&p->timer, -1, on_timeout);
	if (x->timeout_ms) {
		watch_init(&p->timer, timer_create_fd(), on_timeout);
		timer_arm(p->timer.fd, (uint64_t)x->timeout_ms * 1000u);
		watch_set(&p->timer, EPOLLIN);
	}
	p->prev = procs.tail;
	if (procs.tail)
		procs.tail->next = p;
	else
		procs.head = p;
	procs.tail = p;
	proc_update(p);
	return p;
}
