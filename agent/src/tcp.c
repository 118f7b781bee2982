/* TCP_CONNECT: a TCP connection from inside the sandbox to one of its own ports, carried
 * on a stream. Sandbox→host bytes go out as DATA under the stream's credit (read from
 * the socket only while there is credit, so a slow host backs up into the sender's TCP
 * window); host→sandbox bytes arrive as WDATA under the input window and are credited
 * back once the socket took them. Each direction closes on its own: EOF when the
 * sandbox side finished sending, WEND for the host's; OK once both are closed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "dispatch.h"
#include "loop.h"
#include "stream.h"
#include "tcp.h"
#include "util.h"

#define TCP_READ_CHUNK (128u * 1024u)
#define ADDR_TEXT_MAX 64u

/* The socket lives apart from the stream: a stream ends (and is freed) inside other
 * handlers, while this batch of epoll events may still name the socket's watch. */
struct tcp_sock {
	struct watch w;
	struct tcp_stream *t; /* NULL once the stream ended; then it waits for collection */
	struct tcp_sock *gc_next;
};

struct tcp_stream {
	struct stream base; /* sent/acked count bytes of the connection sent to the host */
	struct tcp_sock *sock;
	bool connecting;
	bool try_v6;   /* no address given: after 127.0.0.1 refuses, try ::1 */
	bool fell_back; /* and this is that second try */
	bool readable; /* EPOLLIN seen and the socket not yet read to EAGAIN */
	bool rd_eof;   /* the sandbox side finished sending; EOF was queued */
	bool wr_eof;   /* the host sent WEND */
	bool wr_shut;  /* and shutdown(SHUT_WR) was done */
	struct buf in; /* host bytes the socket has not taken yet */
	size_t in_head;
	uint64_t in_written;
	uint16_t port;
	char addr[ADDR_TEXT_MAX];
};

static struct tcp_sock *garbage;

void tcp_collect_garbage(void)
{
	while (garbage) {
		struct tcp_sock *k = garbage;
		garbage = k->gc_next;
		free(k);
	}
}

static void tcp_update(struct tcp_stream *t);
static void on_sock(struct watch *w, uint32_t ev);

/* ---- connecting ---- */

enum addr_parse { ADDR_OK, ADDR_BAD };

static enum addr_parse parse_addr(const char *text, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		*len = sizeof *v4;
		return ADDR_OK;
	}
	if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		*len = sizeof *v6;
		return ADDR_OK;
	}
	return ADDR_BAD;
}

/* Starts a non-blocking connect to t->addr; 0, or the errno of a failure known now. */
static int start_connect(struct tcp_stream *t)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr(t->addr, t->port, &ss, &len) != ADDR_OK)
		return EINVAL;
	autofd fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
		return errno;
	struct tcp_sock *k = xcalloc(1, sizeof *k);
	watch_init(&k->w, steal_fd(&fd), on_sock);
	k->t = t;
	t->sock = k;
	t->connecting = true;
	return 0;
}

static void drop_sock(struct tcp_stream *t)
{
	struct tcp_sock *k = t->sock;
	if (!k)
		return;
	t->sock = NULL;
	watch_close(&k->w);
	k->t = NULL;
	k->gc_next = garbage;
	garbage = k;
}

/* Whether a refused 127.0.0.1 should be retried on ::1 (servers bound to "localhost"
 * often listen on ::1 only). Any failure there reports the first refusal. */
static bool retry_v6(struct tcp_stream *t)
{
	if (!t->try_v6)
		return false;
	t->try_v6 = false;
	t->fell_back = true;
	drop_sock(t);
	snprintf(t->addr, sizeof t->addr, "::1");
	return start_connect(t) == 0;
}

static void fail_stream(struct tcp_stream *t, int err, const char *what)
{
	if (t->connecting || !t->sock) {
		if (t->fell_back) {
			err = ECONNREFUSED; /* ::1 was a guess; the refusal on 127.0.0.1 is the answer */
			snprintf(t->addr, sizeof t->addr, "127.0.0.1 or ::1");
		}
	}
	conn_reply_error(t->base.id, err, "%s %s port %u: %s", what, t->addr, t->port, strerror(err));
	stream_end(&t->base);
}

static void connect_done(struct tcp_stream *t)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(t->sock->w.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == ECONNREFUSED && retry_v6(t)) {
		tcp_update(t);
		return;
	}
	if (err) {
		fail_stream(t, err, "connect");
		return;
	}
	t->connecting = false;
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_CONNECTED, t->base.id);
	tlv_str(q, TAG_ADDR, t->addr);
	frame_end(q, at);
}

/* ---- host→sandbox ---- */

static size_t in_pending(const struct tcp_stream *t)
{
	return t->in.len - t->in_head;
}

/* true when both directions are closed and the stream ended with OK. */
static bool finish_if_done(struct tcp_stream *t)
{
	if (!t->rd_eof || !t->wr_shut)
		return false;
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_OK, t->base.id);
	tlv_u64(q, TAG_SIZE, t->base.sent);
	frame_end(q, at);
	stream_end(&t->base);
	return true;
}

/* Writes what the socket takes now. false when the stream ended (an error, or done). */
static bool drain_input(struct tcp_stream *t)
{
	while (!t->connecting && in_pending(t)) {
		ssize_t w = send(t->sock->w.fd, t->in.p + t->in_head, in_pending(t), MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w < 0) {
			fail_stream(t, errno, "send to");
			return false;
		}
		t->in_head += (size_t)w;
		t->in_written += (uint64_t)w;
	}
	if (!in_pending(t))
		t->in.len = t->in_head = 0;
	stream_input_written(&t->base, t->in_written);
	if (!t->connecting && t->wr_eof && !t->wr_shut && !in_pending(t)) {
		/* The host is done sending: the sandbox side reads EOF, and may still answer. */
		shutdown(t->sock->w.fd, SHUT_WR);
		t->wr_shut = true;
		return !finish_if_done(t);
	}
	return true;
}

static bool tcp_on_frame(struct stream *s, const struct msg *m)
{
	struct tcp_stream *t = (struct tcp_stream *)s;
	switch (m->type) {
	case MSG_WDATA:
		if (t->wr_eof)
			return false; /* data after WEND */
		if (!stream_input_arrived(s, m->data_len))
			return true;
		buf_put(&t->in, m->data, m->data_len);
		break;
	case MSG_WEND:
		if (t->wr_eof)
			return false;
		t->wr_eof = true;
		break;
	case MSG_CREDIT:
		stream_acked(s, msg_u64(m, TAG_OFFSET, 0));
		return true;
	case MSG_CLOSE: {
		/* Abandoned by the host: reset the connection rather than pretend a clean end. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(t->sock->w.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		stream_end(s);
		return true;
	}
	default:
		return false;
	}
	if (drain_input(t))
		tcp_update(t);
	return true;
}

/* ---- sandbox→host ---- */

static void read_eof(struct tcp_stream *t)
{
	t->rd_eof = true;
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_EOF, t->base.id);
	frame_end(q, at);
	if (!finish_if_done(t))
		tcp_update(t);
}

static bool tcp_pump(struct stream *s)
{
	struct tcp_stream *t = (struct tcp_stream *)s;
	if (t->connecting || t->rd_eof || !t->readable)
		return false;
	uint64_t credit = stream_credit(s);
	if (!credit)
		return false;
	size_t want = (size_t)MIN(credit, (uint64_t)TCP_READ_CHUNK);
	/* Read straight into the connection queue; the frame is trimmed to what came. */
	struct buf *q = conn_queue();
	size_t at = frame_begin(q, MSG_DATA, s->id);
	uint8_t *dst = buf_append(q, DATA_PREFIX_LEN + want);
	put_le64(dst, s->sent);
	ssize_t n;
	do
		n = recv(t->sock->w.fd, dst + DATA_PREFIX_LEN, want, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		int err = errno;
		q->len = at;
		if (n == 0) {
			read_eof(t);
			return true;
		}
		if (err == EAGAIN) {
			t->readable = false;
			tcp_update(t);
			return false;
		}
		fail_stream(t, err, "recv from");
		return true;
	}
	q->len = at + FRAME_HEADER_LEN + DATA_PREFIX_LEN + (size_t)n;
	frame_end(q, at);
	s->sent += (uint64_t)n;
	if (!conn_has_cap(CAP_CREDIT))
		s->acked = s->sent;
	return true;
}

/* ---- the socket's events ---- */

static void tcp_update(struct tcp_stream *t)
{
	uint32_t ev = 0;
	if (t->connecting)
		ev = EPOLLOUT;
	else {
		if (!t->readable && !t->rd_eof)
			ev |= EPOLLIN;
		if (in_pending(t))
			ev |= EPOLLOUT;
	}
	watch_set(&t->sock->w, ev);
}

static void on_sock(struct watch *w, uint32_t ev)
{
	struct tcp_sock *k = container_of(w, struct tcp_sock, w);
	struct tcp_stream *t = k->t;
	if (!t)
		return;
	if (t->connecting) {
		connect_done(t);
		if (!k->t)
			return; /* failed (the stream ended) or retrying on ::1 with a new socket */
		if (!drain_input(t))
			return;
	} else {
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
			t->readable = true;
		if ((ev & (EPOLLOUT | EPOLLERR)) && !drain_input(t))
			return;
	}
	tcp_update(t);
}

static void tcp_release(struct stream *s)
{
	struct tcp_stream *t = (struct tcp_stream *)s;
	drop_sock(t);
	buf_free(&t->in);
}

static const struct stream_ops tcp_ops = {
	.name = "TCP",
	.on_frame = tcp_on_frame,
	.pump = tcp_pump,
	.release = tcp_release,
};

void tcp_connect(const struct msg *m)
{
	uint32_t port = msg_u32(m, TAG_PORT, 0);
	uint32_t window = stream_window_arg(m);
	struct str addr = msg_str(m, TAG_ADDR);
	if (port < 1 || port > 65535 || !window || addr.len >= ADDR_TEXT_MAX) {
		conn_reply_error(m->stream, EINVAL, "port must be 1 to 65535, window 65536 to 16777216, addr an IP address");
		return;
	}
	struct tcp_stream *t = (struct tcp_stream *)stream_open(m->stream, &tcp_ops, sizeof *t);
	t->base.window = window;
	t->port = (uint16_t)port;
	t->try_v6 = !addr.p;
	if (addr.p)
		memcpy(t->addr, addr.p, addr.len); /* zeroed by stream_open; len < ADDR_TEXT_MAX */
	else
		snprintf(t->addr, sizeof t->addr, "127.0.0.1");
	int err = start_connect(t);
	if (err == ECONNREFUSED && retry_v6(t))
		err = 0;
	if (err) {
		fail_stream(t, err, "connect");
		return;
	}
	tcp_update(t);
}
