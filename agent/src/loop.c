#include "loop.h"

#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "util.h"

static int epfd = -1;
static bool more_work;

void loop_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die_with_error("epoll_create1");
}

void watch_init(struct watch *w, int fd, void (*fn)(struct watch *, uint32_t))
{
	w->fd = fd;
	w->events = 0;
	w->fn = fn;
}

void watch_set(struct watch *w, uint32_t events)
{
	if (w->fd < 0 || w->events == events)
		return;
	struct epoll_event ev = { .events = events, .data.ptr = w };
	int op = !events ? EPOLL_CTL_DEL : w->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(epfd, op, w->fd, &ev) < 0)
		die_with_error("epoll_ctl(%d, fd %d)", op, w->fd);
	w->events = events;
}

void watch_close(struct watch *w)
{
	if (w->fd < 0)
		return;
	watch_set(w, 0);
	close(w->fd);
	w->fd = -1;
}

void loop_more_work(void)
{
	more_work = true;
}

void loop_run(void (*after)(void))
{
	struct epoll_event evs[64];
	for (;;) {
		int timeout = more_work ? 0 : -1;
		more_work = false;
		int n = epoll_wait(epfd, evs, (int)N_ELEMENTS(evs), timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_with_error("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			/* A handler earlier in this batch may have closed it. */
			if (w->fd >= 0 && w->events)
				w->fn(w, evs[i].events);
		}
		after();
	}
}

int timer_create_fd(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		die_with_error("timerfd_create");
	return fd;
}

void timer_arm(int fd, uint64_t us)
{
	struct itimerspec its = { 0 };
	its.it_value.tv_sec = (time_t)(us / 1000000u);
	its.it_value.tv_nsec = (long)(us % 1000000u) * 1000;
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		die_with_error("timerfd_settime");
}
