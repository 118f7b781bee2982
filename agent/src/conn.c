#include "conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "dispatch.h"
#include "errnames.h"
#include "frame.h"
#include "loop.h"
#include "proto.h"
#include "stream.h"
#include "util.h"

#ifndef SHED_AGENT_VERSION
#define SHED_AGENT_VERSION "0.0.0"
#endif

#define BACKOFF_MIN_US 1000u
#define BACKOFF_MAX_US 250000u
/* After a protocol error the ERROR frame gets this long to reach a host that may have
 * stopped reading; then the connection is closed regardless. */
#define CLOSE_GRACE_US 1000000u

enum conn_state {
	CONN_DOWN,       /* waiting for the backoff timer */
	CONN_CONNECTING, /* non-blocking connect in progress */
	CONN_HELLO,      /* READY sent, waiting for HELLO */
	CONN_UP,         /* serving requests */
	CONN_CLOSING,    /* flushing ERROR {EPROTO}, then close */
};

static struct {
	enum conn_state state;
	struct transport target;
	struct watch w;
	struct watch timer;
	uint64_t backoff_us;
	bool quiet; /* a failure streak was already logged */
	struct decoder dec;
	struct buf out;
	size_t out_head; /* bytes of out already written */
	bool blocked;    /* the last write hit EAGAIN */
	uint64_t caps;   /* enabled by HELLO */
	uint64_t boot_id;
	uint64_t main_start_us;
} conn;

static void conn_event(struct watch *w, uint32_t ev);
static void attempt(void);

static size_t pending(void)
{
	return conn.out.len - conn.out_head;
}

static bool serving(void)
{
	return conn.state == CONN_HELLO || conn.state == CONN_UP;
}

bool conn_room(void)
{
	return conn.state == CONN_UP && pending() < OUT_SOFT_LIMIT;
}

bool conn_has_cap(uint64_t cap)
{
	return (conn.caps & cap) == cap;
}

struct buf *conn_queue(void)
{
	return &conn.out;
}

static void queue_reset(void)
{
	buf_free(&conn.out);
	conn.out_head = 0;
	conn.blocked = false;
}

static void close_fd(void)
{
	if (conn.w.fd >= 0)
		watch_close(&conn.w);
	decoder_free(&conn.dec);
	queue_reset();
	conn.caps = 0;
}

static void schedule_retry(void)
{
	conn.state = CONN_DOWN;
	timer_arm(conn.timer.fd, conn.backoff_us);
	conn.backoff_us = MIN(conn.backoff_us * 2, BACKOFF_MAX_US);
}

/* The connection is gone: processes keep running (detached), everything else on the
 * connection's streams is abandoned. */
static void conn_lost(const char *why)
{
	warn("connection lost: %s", why);
	streams_drop_all();
	close_fd();
	schedule_retry();
}

static void timing(struct buf *b, const char *name, uint64_t us)
{
	char t[64];
	snprintf(t, sizeof t, "%s=%llu", name, (unsigned long long)us);
	tlv_str(b, TAG_TIMING, t);
}

static void send_ready(uint64_t connected_us)
{
	struct buf *b = &conn.out;
	size_t at = frame_begin(b, MSG_READY, 0);
	tlv_u32(b, TAG_VERSION, PROTO_VERSION);
	tlv_u64(b, TAG_CAPS, caps_supported());
	tlv_str(b, TAG_AGENT_VERSION, SHED_AGENT_VERSION);
	tlv_u32(b, TAG_PID, (uint32_t)getpid());
	tlv_u64(b, TAG_BOOT_ID, conn.boot_id);
	tlv_u32(b, TAG_WINDOW, INPUT_WINDOW);
	timing(b, "main_to_connected", connected_us - conn.main_start_us);
	timing(b, "main_to_ready", now_us() - conn.main_start_us);
	frame_end(b, at);
}

static void connected(int fd)
{
	uint64_t t = now_us();
	watch_init(&conn.w, fd, conn_event);
	decoder_init(&conn.dec);
	queue_reset();
	conn.caps = 0;
	conn.state = CONN_HELLO;
	conn.quiet = false;
	/* Readiness is pushed, not polled for: READY goes out before anything else. */
	send_ready(t);
	conn_flush();
	conn_update_interest();
}

static void attempt(void)
{
	int fd, err;
	switch (transport_open(&conn.target, &fd, &err)) {
	case TRANSPORT_OPEN_DONE:
		connected(fd);
		return;
	case TRANSPORT_OPEN_PENDING:
		conn.state = CONN_CONNECTING;
		watch_init(&conn.w, fd, conn_event);
		watch_set(&conn.w, EPOLLOUT);
		return;
	case TRANSPORT_OPEN_RETRY:
		/* Log once per streak: the host may be away for a long time. */
		if (!conn.quiet)
			warn("waiting for the host at %s: %s", conn.target.path, strerror(err));
		conn.quiet = true;
		schedule_retry();
		return;
	}
}

static void timer_event(struct watch *w, uint32_t ev)
{
	uint64_t expirations;
	(void)ev;
	if (read(w->fd, &expirations, sizeof expirations) < 0 && errno == EAGAIN)
		return;
	if (conn.state == CONN_DOWN)
		attempt();
	else if (conn.state == CONN_CLOSING)
		conn_lost("host did not read the protocol error");
}

void conn_init(const struct transport *target, uint64_t main_start_us)
{
	conn.target = *target;
	conn.main_start_us = main_start_us;
	conn.backoff_us = BACKOFF_MIN_US;
	conn.w.fd = -1;
	/* boot_id tells the host that this is a new agent (not a reconnect of the old one).
	 * GRND_NONBLOCK: at early VM boot the pool may be uninitialised, and readiness must
	 * not wait for entropy; the clock is unique enough for this purpose. */
	if (getrandom(&conn.boot_id, sizeof conn.boot_id, GRND_NONBLOCK) != sizeof conn.boot_id)
		conn.boot_id = now_us() ^ ((uint64_t)getpid() << 48);
	watch_init(&conn.timer, timer_create_fd(), timer_event);
	watch_set(&conn.timer, EPOLLIN);
	attempt();
}

void conn_protocol_error(const char *code, const char *fmt, ...)
{
	if (!serving())
		return;
	char msg[512];
	int n = snprintf(msg, sizeof msg, "%s: ", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	va_end(ap);
	warn("protocol error: %s", msg);
	streams_drop_all();
	size_t at = frame_begin(&conn.out, MSG_ERROR, 0);
	tlv_str(&conn.out, TAG_ERRNO, errno_name(EPROTO));
	tlv_str(&conn.out, TAG_MESSAGE, msg);
	frame_end(&conn.out, at);
	conn.state = CONN_CLOSING;
	timer_arm(conn.timer.fd, CLOSE_GRACE_US);
}

static void on_hello(const struct msg *m)
{
	if (!msg_has(m, TAG_VERSION) || !msg_has(m, TAG_CAPS)) {
		conn_protocol_error("missing_field", "HELLO needs version and caps");
		return;
	}
	uint32_t version = msg_u32(m, TAG_VERSION, 0);
	uint64_t caps = msg_u64(m, TAG_CAPS, 0);
	if (version != PROTO_VERSION) {
		conn_protocol_error("bad_value", "HELLO version %u; this agent speaks %u", version, PROTO_VERSION);
		return;
	}
	if (caps & ~caps_supported()) {
		conn_protocol_error("bad_value", "HELLO caps 0x%llx include bits this agent did not offer (0x%llx)",
				    (unsigned long long)caps, (unsigned long long)caps_supported());
		return;
	}
	conn.caps = caps;
	conn.state = CONN_UP;
	/* A session got through: the next outage starts over at the shortest delay. */
	conn.backoff_us = BACKOFF_MIN_US;
}

static void on_frame(const struct msg *m)
{
	const struct msg_spec *spec = msg_spec(m->type);
	if (!(spec->dir & DIR_HOST)) {
		conn_protocol_error("unexpected_message", "%s is sent by the agent, not the host", spec->name);
		return;
	}
	if (conn.state == CONN_HELLO) {
		if (m->type != MSG_HELLO)
			conn_protocol_error("unexpected_message", "%s before HELLO", spec->name);
		else
			on_hello(m);
		return;
	}
	if (m->type == MSG_HELLO) {
		conn_protocol_error("unexpected_message", "a second HELLO");
		return;
	}
	dispatch(m);
}

static void receive(const uint8_t *data, size_t n)
{
	size_t pos = 0;
	while (pos < n && serving()) {
		struct msg m;
		size_t used;
		enum frame_result r = decoder_feed(&conn.dec, data + pos, n - pos, &used, &m);
		pos += used;
		if (r == FRAME_MORE)
			return;
		if (r != FRAME_OK) {
			conn_frame_error(r, &m);
			return;
		}
		on_frame(&m);
	}
}

static bool want_read(void)
{
	return serving() && pending() < OUT_HARD_LIMIT;
}

static void conn_read(void)
{
	static uint8_t rx[64 * 1024];
	/* A few reads per wake-up, then let other fds have a turn (level-triggered epoll
	 * brings us back). */
	for (int i = 0; i < 4 && want_read(); i++) {
		ssize_t n = read(conn.w.fd, rx, sizeof rx);
		if (n == 0) {
			conn_lost("host closed the connection");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_lost(strerror(errno));
			return;
		}
		receive(rx, (size_t)n);
		if ((size_t)n < sizeof rx)
			return;
	}
}

bool conn_flush(void)
{
	conn.blocked = false;
	if (conn.w.fd < 0 || !(serving() || conn.state == CONN_CLOSING))
		return false;
	while (pending()) {
		ssize_t n = write(conn.w.fd, conn.out.p + conn.out_head, pending());
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				conn.blocked = true;
				break;
			}
			conn_lost(strerror(errno));
			return false;
		}
		conn.out_head += (size_t)n;
	}
	if (!pending()) {
		conn.out.len = 0;
		conn.out_head = 0;
		if (conn.state == CONN_CLOSING) {
			close_fd();
			schedule_retry();
		}
	} else if (conn.out_head >= OUT_SOFT_LIMIT) {
		/* Keep the queue from creeping forward through memory. */
		buf_consume(&conn.out, conn.out_head);
		conn.out_head = 0;
	}
	return conn.blocked;
}

void conn_update_interest(void)
{
	if (conn.w.fd < 0 || conn.state == CONN_CONNECTING)
		return;
	uint32_t ev = 0;
	if (want_read())
		ev |= EPOLLIN;
	if (pending())
		ev |= EPOLLOUT;
	watch_set(&conn.w, ev);
}

static void conn_event(struct watch *w, uint32_t ev)
{
	if (conn.state == CONN_CONNECTING) {
		int err = transport_finish(w->fd);
		if (err) {
			if (!conn.quiet)
				warn("waiting for the host at %s: %s", conn.target.path, strerror(err));
			conn.quiet = true;
			watch_close(&conn.w);
			schedule_retry();
			return;
		}
		watch_set(&conn.w, 0);
		connected(w->fd);
		return;
	}
	if (serving() && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		conn_read();
	if (conn.w.fd >= 0 && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
		conn_flush();
	if (conn.state == CONN_CLOSING && conn.w.fd >= 0 && (ev & (EPOLLHUP | EPOLLERR)))
		conn_lost("host hung up");
}
