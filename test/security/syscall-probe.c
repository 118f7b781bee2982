/* Makes syscalls the sandbox's seccomp profile should deny (or allow) and prints
 * "<name> ok" or "<name> errno=<n>" for each (EPERM is 1, ENOSYS 38). Built static by the isolation tests and copied into a sandbox.
 * Arguments are harmless: a call that got past seccomp fails on its own or does nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long probe(const char *name)
{
	if (strcmp(name, "getpid") == 0) return syscall(SYS_getpid);
	if (strcmp(name, "keyctl") == 0) return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0);
	if (strcmp(name, "bpf") == 0) return syscall(SYS_bpf, 0, NULL, 0);
	if (strcmp(name, "perf_event_open") == 0) return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
	if (strcmp(name, "userfaultfd") == 0) return syscall(SYS_userfaultfd, 0);
	if (strcmp(name, "unshare_user") == 0) return syscall(SYS_unshare, CLONE_NEWUSER);
	if (strcmp(name, "unshare_uts") == 0) return syscall(SYS_unshare, CLONE_NEWUTS);
	if (strcmp(name, "clone3") == 0) return syscall(SYS_clone3, NULL, 0);
	return -1000;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		errno = 0;
		long r = probe(argv[i]);
		if (r == -1000)
			printf("%s unknown\n", argv[i]);
		else if (r >= 0)
			printf("%s ok\n", argv[i]);
		else
			printf("%s errno=%d\n", argv[i], errno);
	}
	return 0;
}
