/* shed-agent: PID 1 of a sandbox. Connects out to the host and serves processes and
 * files over one multiplexed stream (docs/protocol.md). Single-threaded; everything
 * happens in one epoll loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "loop.h"
#include "proc.h"
#include "spawn.h"
#include "stream.h"
#include "tcp.h"
#include "transport.h"
#include "util.h"

#ifndef SHED_AGENT_VERSION
#define SHED_AGENT_VERSION "0.0.0"
#endif

/* Rounds of pump-and-flush per batch of events before yielding to other fds. */
#define SERVICE_ROUNDS 8

static const char usage[] =
	"usage: shed-agent --connect unix:PATH|dev:PATH [--buffer-bytes N]\n"
	"       shed-agent --version\n"
	"The connect target may also come from SHED_AGENT_CONNECT (the flag wins).\n";

struct options {
	const char *connect;
	size_t buffer_bytes;
};

__attribute__((noreturn)) static void die_usage(const char *why)
{
	fprintf(stderr, "shed-agent: %s\n%s", why, usage);
	exit(2);
}

static void parse_args(int argc, char **argv, struct options *o)
{
	o->connect = getenv("SHED_AGENT_CONNECT");
	o->buffer_bytes = BUFFER_BYTES_DEFAULT;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--version")) {
			printf("shed-agent %s\n", SHED_AGENT_VERSION);
			exit(0);
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			exit(0);
		} else if (!strcmp(a, "--connect") && i + 1 < argc) {
			o->connect = argv[++i];
		} else if (!strcmp(a, "--buffer-bytes") && i + 1 < argc) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(argv[++i], &end, 10);
			if (errno || *end || n < BUFFER_BYTES_MIN || n > BUFFER_BYTES_MAX)
				die_usage("--buffer-bytes must be 65536 to 67108864");
			o->buffer_bytes = (size_t)n;
		} else {
			die_usage("unknown or incomplete argument");
		}
	}
	if (!o->connect || !*o->connect)
		die_usage("no connect target");
}

/* Every fd the agent opens must land at 3 or above: children get their pipes dup'ed
 * onto 0-2, and an fd already sitting there would be clobbered. An init may be started
 * with 0-2 closed, so occupy them. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int nfd = open("/dev/null", O_RDWR);
		if (nfd < 0) {
			int p[2];
			if (pipe(p) < 0)
				die_with_error("no fd %d and no way to fill it", fd);
			nfd = p[0];
		}
		if (nfd != fd)
			die("fd %d is closed but fd %d is open", fd, nfd);
	}
}

static void setup_process(void)
{
	ensure_std_fds();
	/* Modes in MKDIR and FWRITE are applied exactly; children get 022 back (spawn.c). */
	umask(0);
	spawn_init();
	/* SIGCHLD is read from a signalfd in the loop, so it must not be delivered. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		die_with_error("sigprocmask");
	/* Writes to a gone host or a gone stdin reader fail with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	/* Outside a pid namespace (tests, or started by another init) orphans of our
	 * processes should still come to us to be reaped. */
	if (getpid() != 1)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
}

static void after_events(void)
{
	proc_collect_garbage();
	tcp_collect_garbage();
	for (int round = 0; round < SERVICE_ROUNDS; round++) {
		bool progress = conn_room() && streams_pump();
		bool blocked = conn_flush();
		if (!progress || blocked)
			break;
		if (round == SERVICE_ROUNDS - 1)
			loop_more_work(); /* still producing: come back right after other fds */
	}
	conn_update_interest();
}

int main(int argc, char **argv)
{
	uint64_t start = now_us();
	struct options o;
	parse_args(argc, argv, &o);
	struct transport target;
	switch (transport_parse(o.connect, &target)) {
	case TRANSPORT_PARSE_OK:
		break;
	case TRANSPORT_PARSE_SCHEME:
		die_usage("connect target must start with unix: or dev:");
	case TRANSPORT_PARSE_EMPTY:
		die_usage("connect target has no path");
	case TRANSPORT_PARSE_TOO_LONG:
		die_usage("connect path is too long");
	}
	setup_process();
	loop_init();
	proc_init(o.buffer_bytes);
	conn_init(&target, start);
	loop_run(after_events);
}
