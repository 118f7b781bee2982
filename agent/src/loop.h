/* The one event loop: epoll over every fd the agent waits on. Single-threaded; every
 * handler runs to completion and never blocks on the host or on a process. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct watch {
	int fd;           /* -1 when closed: pending events for it are skipped */
	uint32_t events;  /* what epoll currently reports for fd (0 = not registered) */
	void (*fn)(struct watch *w, uint32_t revents);
};

void loop_init(void);
void watch_init(struct watch *w, int fd, void (*fn)(struct watch *, uint32_t));
/* Makes epoll report exactly `events` for w. 0 removes the fd from the set instead of
 * registering it with no events: epoll reports EPOLLHUP/EPOLLERR regardless of the
 * mask, and a pipe whose reader paused would otherwise wake the loop forever. */
void watch_set(struct watch *w, uint32_t events);
/* Unregisters and closes the fd. */
void watch_close(struct watch *w);

/* Runs forever: wait for events, dispatch them, then call `after` (which moves data
 * between the buffers the handlers filled). */
__attribute__((noreturn)) void loop_run(void (*after)(void));
/* The `after` step stopped with work left (it yields so fds are not starved): the next
 * wait returns at once instead of blocking. */
void loop_more_work(void);

/* A CLOCK_MONOTONIC timerfd, and arming it once `us` from now (0 disarms). */
int timer_create_fd(void);
void timer_arm(int fd, uint64_t us);
