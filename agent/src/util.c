#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void vlog(const char *fmt, va_list ap, int err)
{
	/* One write per line so concurrent writers to the console do not interleave. */
	char line[512];
	int n = snprintf(line, sizeof line, "shed-agent: ");
	n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	if (n > (int)sizeof line - 64)
		n = (int)sizeof line - 64;
	if (err)
		n += snprintf(line + n, sizeof line - (size_t)n, ": %s", strerror(err));
	line[n++] = '\n';
	ssize_t r = write(STDERR_FILENO, line, (size_t)n);
	(void)r;
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void die_with_error(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap, err);
	va_end(ap);
	exit(1);
}

void die_oom(void)
{
	static const char msg[] = "shed-agent: out of memory\n";
	ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)r;
	exit(1);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap, 0);
	va_end(ap);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die_oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die_oom();
	return q;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void cleanup_freep(void *pp)
{
	void **p = pp;
	free(*p);
	*p = NULL;
}

void cleanup_fdp(int *fdp)
{
	if (*fdp >= 0) {
		int saved = errno; /* close must not clobber the errno a caller is reporting */
		close(*fdp);
		errno = saved;
	}
	*fdp = -1;
}

uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
