#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

enum transport_parse_result transport_parse(const char *spec, struct transport *t)
{
	const char *path;
	size_t max;
	if (strncmp(spec, "unix:", 5) == 0) {
		t->kind = TRANSPORT_UNIX;
		path = spec + 5;
		max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	} else if (strncmp(spec, "dev:", 4) == 0) {
		t->kind = TRANSPORT_DEV;
		path = spec + 4;
		max = sizeof t->path - 1;
	} else {
		return TRANSPORT_PARSE_SCHEME;
	}
	size_t n = strlen(path);
	if (n == 0)
		return TRANSPORT_PARSE_EMPTY;
	if (n > max)
		return TRANSPORT_PARSE_TOO_LONG;
	memcpy(t->path, path, n + 1);
	return TRANSPORT_PARSE_OK;
}

static enum transport_open_result open_unix(const struct transport *t, int *fd, int *err)
{
	autofd s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		*err = errno;
		return TRANSPORT_OPEN_RETRY;
	}
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	memcpy(addr.sun_path, t->path, strlen(t->path) + 1);
	if (connect(s, (struct sockaddr *)&addr, sizeof addr) == 0) {
		*fd = steal_fd(&s);
		return TRANSPORT_OPEN_DONE;
	}
	/* A full listen backlog gives EAGAIN on a non-blocking unix socket; treat it like
	 * a refused connection and retry on the backoff timer. */
	if (errno == EINPROGRESS) {
		*fd = steal_fd(&s);
		return TRANSPORT_OPEN_PENDING;
	}
	*err = errno;
	return TRANSPORT_OPEN_RETRY;
}

static enum transport_open_result open_dev(const struct transport *t, int *fd, int *err)
{
	autofd d = open(t->path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (d < 0) {
		*err = errno;
		return TRANSPORT_OPEN_RETRY;
	}
	/* A tty-like port would otherwise echo and translate our binary frames. */
	struct termios tio;
	if (tcgetattr(d, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(d, TCSANOW, &tio);
	}
	*fd = steal_fd(&d);
	return TRANSPORT_OPEN_DONE;
}

enum transport_open_result transport_open(const struct transport *t, int *fd, int *err)
{
	*fd = -1;
	*err = 0;
	return t->kind == TRANSPORT_UNIX ? open_unix(t, fd, err) : open_dev(t, fd, err);
}

int transport_finish(int fd)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}
