/* Where the host is: `unix:PATH` (a stream socket) or `dev:PATH` (a character device
 * such as a virtio-serial port). Opening never blocks the loop. */
#pragma once

#include <limits.h>

enum transport_kind { TRANSPORT_UNIX, TRANSPORT_DEV };

struct transport {
	enum transport_kind kind;
	char path[PATH_MAX];
};

enum transport_parse_result {
	TRANSPORT_PARSE_OK,
	TRANSPORT_PARSE_SCHEME,   /* neither unix: nor dev: */
	TRANSPORT_PARSE_EMPTY,    /* no path after the scheme */
	TRANSPORT_PARSE_TOO_LONG, /* path does not fit (sun_path is 108 bytes) */
};

enum transport_open_result {
	TRANSPORT_OPEN_DONE,    /* *fd is connected */
	TRANSPORT_OPEN_PENDING, /* connect in progress: wait for EPOLLOUT, then transport_finish */
	TRANSPORT_OPEN_RETRY,   /* host not there (yet); *err says why */
};

enum transport_parse_result transport_parse(const char *spec, struct transport *t);
enum transport_open_result transport_open(const struct transport *t, int *fd, int *err);
/* After EPOLLOUT on a pending connect: 0 when connected, else the errno. */
int transport_finish(int fd);
