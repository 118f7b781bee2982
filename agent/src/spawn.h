/* Starting a process: fork, set up the child, exec. The child reports a failure before
 * exec over a close-on-exec pipe, so "could not start" is known synchronously and
 * never confused with "started, then exited 127". */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct spawn_req {
	char *const *argv;
	char *const *envp;
	const char *cwd;
	uid_t uid;
	gid_t gid;
	int pty_slave;              /* >= 0: becomes the controlling tty and fds 0-2 */
	int stdin_fd, stdout_fd, stderr_fd; /* pipes mode */
};

enum spawn_stage {
	SPAWN_OK,
	SPAWN_PIPE,   /* error pipe */
	SPAWN_FORK,
	SPAWN_SETUP,  /* session, tty, fds */
	SPAWN_IDS,    /* setgroups/setgid/setuid */
	SPAWN_CHDIR,
	SPAWN_EXEC,
};

struct spawn_result {
	pid_t pid;
	enum spawn_stage stage; /* SPAWN_OK, or where it failed */
	int err;
};

/* Records the limits and settings children must get back (the agent changes its own). */
void spawn_init(void);
struct spawn_result spawn(const struct spawn_req *r);
const char *spawn_stage_name(enum spawn_stage stage);
