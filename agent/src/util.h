/* Small helpers shared by every file: fatal errors, checked allocation, cleanup
 * attributes for fds and heap memory, monotonic time. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Fatal errors: only for start-up and for states the agent cannot continue from.
 * Everything a request can cause is reported on the wire instead. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2))) void die_with_error(const char *fmt, ...);
__attribute__((noreturn)) void die_oom(void);
__attribute__((format(printf, 1, 2))) void warn(const char *fmt, ...);

/* Allocation that cannot fail: the agent's own bookkeeping is small and bounded, so
 * running out of memory for it means the sandbox is beyond saving. Large buffers whose
 * size a request chooses use plain malloc and report ENOMEM instead. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrndup(const char *s, size_t n);

void cleanup_freep(void *pp);
void cleanup_fdp(int *fdp);

#define autofree __attribute__((cleanup(cleanup_freep)))
#define autofd __attribute__((cleanup(cleanup_fdp))) int

/* Take ownership away from a cleanup variable. */
static inline int steal_fd(int *fdp)
{
	int fd = *fdp;
	*fdp = -1;
	return fd;
}

static inline void *steal_pointer(void *pp)
{
	void **p = pp;
	void *v = *p;
	*p = NULL;
	return v;
}

/* Microseconds on CLOCK_MONOTONIC. */
uint64_t now_us(void);

/* Little-endian loads and stores: the wire is little-endian on every host. */
static inline uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t get_le64(const uint8_t *p) { return get_le32(p) | ((uint64_t)get_le32(p + 4) << 32); }
static inline void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}
