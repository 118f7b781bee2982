#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "dispatch.h"
#include "util.h"

#define DEFAULT_PATH_ENTRY "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOSTNAME_MAX 64 /* HOST_NAME_MAX on Linux */

static char **default_env; /* NULL-terminated; NULL until CONFIGURE sets one */

struct env_list {
	char **v;
	size_t n, cap;
};

static bool env_entry_valid(struct str s)
{
	const char *eq = memchr(s.p, '=', s.len);
	return eq && eq != s.p;
}

static size_t key_len(const char *entry)
{
	return (size_t)(strchr(entry, '=') - entry);
}

/* Sets entry (KEY=VALUE, taken over) replacing any entry with the same key. */
static void env_set(struct env_list *l, char *entry)
{
	size_t k = key_len(entry);
	for (size_t i = 0; i < l->n; i++) {
		if (key_len(l->v[i]) == k && memcmp(l->v[i], entry, k) == 0) {
			free(l->v[i]);
			l->v[i] = entry;
			return;
		}
	}
	if (l->n + 2 > l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = entry;
	l->v[l->n] = NULL;
}

static bool env_has(const struct env_list *l, const char *key)
{
	size_t k = strlen(key);
	for (size_t i = 0; i < l->n; i++)
		if (key_len(l->v[i]) == k && memcmp(l->v[i], key, k) == 0)
			return true;
	return false;
}

/* Validates every `env` of m; on failure *bad is the first invalid one. */
static bool env_args_valid(const struct msg *m, struct str *bad)
{
	struct str s;
	uint32_t cur = 0;
	while (msg_next(m, TAG_ENV, &cur, &s)) {
		if (!env_entry_valid(s)) {
			*bad = s;
			return false;
		}
	}
	return true;
}

static void env_add_args(struct env_list *l, const struct msg *m)
{
	struct str s;
	uint32_t cur = 0;
	while (msg_next(m, TAG_ENV, &cur, &s))
		env_set(l, xstrndup(s.p, s.len));
}

void env_free(char **env)
{
	if (!env)
		return;
	for (char **e = env; *e; e++)
		free(*e);
	free(env);
}

char **config_build_env(const struct msg *m, struct str *bad)
{
	if (!env_args_valid(m, bad))
		return NULL;
	struct env_list l = { .v = xcalloc(1, sizeof(char *)), .cap = 1 };
	for (char **e = default_env; e && *e; e++)
		env_set(&l, xstrndup(*e, strlen(*e)));
	env_add_args(&l, m);
	if (!env_has(&l, "PATH"))
		env_set(&l, xstrndup(DEFAULT_PATH_ENTRY, strlen(DEFAULT_PATH_ENTRY)));
	return l.v;
}

void config_configure(const struct msg *m)
{
	struct str bad;
	if (!env_args_valid(m, &bad)) {
		conn_reply_error(m->stream, EINVAL, "env entry '%.*s' is not KEY=VALUE", (int)MIN(bad.len, 200u),
				 bad.p);
		return;
	}
	if (msg_has(m, TAG_HOSTNAME)) {
		struct str h = msg_str(m, TAG_HOSTNAME);
		if (h.len == 0 || h.len > HOSTNAME_MAX) {
			conn_reply_error(m->stream, EINVAL, "hostname must be 1 to %d bytes", HOSTNAME_MAX);
			return;
		}
		if (sethostname(h.p, h.len) < 0) {
			conn_reply_error(m->stream, errno, "sethostname: %s", strerror(errno));
			return;
		}
	}
	/* Given env entries replace the defaults as a whole; none leaves them alone, so a
	 * CONFIGURE that only sets the hostname does not wipe the environment. */
	if (msg_has(m, TAG_ENV)) {
		struct env_list l = { .v = xcalloc(1, sizeof(char *)), .cap = 1 };
		env_add_args(&l, m);
		env_free(default_env);
		default_env = l.v;
	}
	conn_reply_ok(m->stream);
}

void config_ping(const struct msg *m)
{
	conn_reply_ok(m->stream);
}
