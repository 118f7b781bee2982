#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CHILD_UMASK 022

static struct rlimit child_nofile;

void spawn_init(void)
{
	/* The agent raises its own fd limit (it holds fds for many processes); children
	 * get the limit it was started with, since some programs loop over every fd
	 * number up to the soft limit. */
	if (getrlimit(RLIMIT_NOFILE, &child_nofile) < 0)
		die_with_error("getrlimit");
	struct rlimit raised = child_nofile;
	raised.rlim_cur = raised.rlim_max;
	setrlimit(RLIMIT_NOFILE, &raised);
}

const char *spawn_stage_name(enum spawn_stage stage)
{
	switch (stage) {
	case SPAWN_OK: return "ok";
	case SPAWN_PIPE: return "pipe";
	case SPAWN_FORK: return "fork";
	case SPAWN_SETUP: return "setup";
	case SPAWN_IDS: return "setuid";
	case SPAWN_CHDIR: return "chdir";
	case SPAWN_EXEC: return "execve";
	}
	return "?";
}

static const char *env_get(char *const *envp, const char *key)
{
	size_t n = strlen(key);
	for (; *envp; envp++)
		if (strncmp(*envp, key, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* execvpe() searches the PATH of the agent's own environment; the protocol says the
 * process's environment, so search it here. Returns only on failure (errno set). */
static void exec_search(char *const *argv, char *const *envp)
{
	const char *file = argv[0];
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return;
	}
	const char *path = env_get(envp, "PATH");
	if (!path)
		path = DEFAULT_PATH;
	size_t flen = strlen(file);
	bool seen_eacces = false;
	char full[PATH_MAX];
	errno = ENOENT;
	for (const char *p = path;; p++) {
		const char *z = strchrnul(p, ':');
		size_t dlen = (size_t)(z - p);
		if (dlen + 1 + flen < sizeof full) {
			memcpy(full, p, dlen);
			full[dlen] = '/';
			/* An empty PATH element means the current directory. */
			memcpy(full + dlen + (dlen > 0), file, flen + 1);
			execve(full, argv, envp);
			switch (errno) {
			case EACCES:
				seen_eacces = true;
				break;
			case ENOENT:
			case ENOTDIR:
				break;
			default:
				return;
			}
		}
		if (!*z)
			break;
		p = z;
	}
	if (seen_eacces)
		errno = EACCES;
}

static int move_fd(int from, int to)
{
	if (from == to) /* dup2 would leave close-on-exec set */
		return fcntl(to, F_SETFD, 0);
	return dup2(from, to) < 0 ? -1 : 0;
}

static int setup_fds(const struct spawn_req *r)
{
	if (setsid() < 0)
		return -1;
	if (r->pty_slave >= 0) {
		if (ioctl(r->pty_slave, TIOCSCTTY, 0) < 0)
			return -1;
		for (int fd = 0; fd < 3; fd++)
			if (move_fd(r->pty_slave, fd) < 0)
				return -1;
		return 0;
	}
	if (move_fd(r->stdin_fd, 0) < 0 || move_fd(r->stdout_fd, 1) < 0 || move_fd(r->stderr_fd, 2) < 0)
		return -1;
	return 0;
}

/* Raw system calls, not the libc wrappers: musl's setuid/setgid/setgroups broadcast the
 * change to every thread of the process (__synccall), which touches libc state that a
 * vfork child shares with the suspended agent. The child is one thread; the raw calls
 * are exactly what it needs. */
static int set_ids(const struct spawn_req *r)
{
	/* In a user namespace whose setgroups is denied this fails with EPERM; that only
	 * matters when the identity changes. */
	if (syscall(SYS_setgroups, 0, NULL) < 0 && !(errno == EPERM && r->uid == getuid() && r->gid == getgid()))
		return -1;
	if (syscall(SYS_setgid, r->gid) < 0 || syscall(SYS_setuid, r->uid) < 0)
		return -1;
	return 0;
}

/* The host may shield the agent from the OOM killer (a negative oom_score_adj) so that a
 * sandbox running out of memory loses a workload process, never its init. Children
 * inherit the value, so each one puts itself back to neutral. Raising the value needs no
 * privilege; without /proc (or on failure) the child just keeps the inherited value. */
static void reset_oom_score(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = write(fd, "0", 1);
	(void)n;
	close(fd);
}

__attribute__((noreturn)) static void child(const struct spawn_req *r, int report_fd)
{
	int report[2] = { SPAWN_SETUP, 0 };
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	umask(CHILD_UMASK);
	syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &child_nofile, NULL);
	reset_oom_score();
	if (setup_fds(r) < 0)
		goto fail;
	report[0] = SPAWN_IDS;
	if (set_ids(r) < 0)
		goto fail;
	report[0] = SPAWN_CHDIR;
	if (chdir(r->cwd) < 0)
		goto fail;
	report[0] = SPAWN_EXEC;
	exec_search(r->argv, r->envp);
fail:
	report[1] = errno;
	ssize_t n = write(report_fd, report, sizeof report);
	(void)n;
	_exit(127);
}

struct spawn_result spawn(const struct spawn_req *r)
{
	struct spawn_result res = { -1, SPAWN_OK, 0 };
	int report_pipe[2];
	if (pipe2(report_pipe, O_CLOEXEC) < 0) {
		res.stage = SPAWN_PIPE;
		res.err = errno;
		return res;
	}
	autofd rd = report_pipe[0];
	autofd wr = report_pipe[1];
	/* vfork: the child borrows the agent's memory until it execs, so starting a process
	 * costs no page-table copy and the agent resumes the moment exec succeeds (a static C
	 * loop on a 2-core host: fork+exec+wait of /usr/bin/true 0.75 ms p50, the vfork way
	 * 0.66 ms). The child only makes system calls and never returns from child(). */
	pid_t pid = vfork();
	if (pid < 0) {
		res.stage = SPAWN_FORK;
		res.err = errno;
		return res;
	}
	if (pid == 0)
		child(r, wr);
	close(steal_fd(&wr));
	/* Blocks only until the child execs (the pipe closes) or reports: the child does
	 * nothing that waits on anyone else. */
	int report[2];
	ssize_t n;
	do
		n = read(rd, report, sizeof report);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof report) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		res.stage = (enum spawn_stage)report[0];
		res.err = report[1];
		return res;
	}
	res.pid = pid;
	return res;
}
