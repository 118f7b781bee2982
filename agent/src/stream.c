#include "stream.h"

#include <stdlib.h>

#include "conn.h"
#include "util.h"

/* Open addressing on the stream id: requests and their frames look streams up on
 * every frame, and a busy host may have hundreds open. */
static struct {
	struct stream **slots;
	uint32_t cap, count;
	struct stream *head, *tail;
} tab;

static uint32_t slot_of(uint32_t id)
{
	return (id * 2654435761u) & (tab.cap - 1);
}

static void table_insert(struct stream *s)
{
	uint32_t i = slot_of(s->id);
	while (tab.slots[i])
		i = (i + 1) & (tab.cap - 1);
	tab.slots[i] = s;
	tab.count++;
}

static void table_grow(void)
{
	struct stream **old = tab.slots;
	uint32_t old_cap = tab.cap;
	tab.cap = old_cap ? old_cap * 2 : 64;
	tab.slots = xcalloc(tab.cap, sizeof *tab.slots);
	tab.count = 0;
	for (uint32_t i = 0; i < old_cap; i++)
		if (old[i])
			table_insert(old[i]);
	free(old);
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void table_remove(struct stream *s)
{
	uint32_t i = slot_of(s->id);
	while (tab.slots[i] != s)
		i = (i + 1) & (tab.cap - 1);
	tab.slots[i] = NULL;
	tab.count--;
	for (uint32_t j = (i + 1) & (tab.cap - 1); tab.slots[j]; j = (j + 1) & (tab.cap - 1)) {
		uint32_t home = slot_of(tab.slots[j]->id);
		/* Move j into the hole at i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (!stays) {
			tab.slots[i] = tab.slots[j];
			tab.slots[j] = NULL;
			i = j;
		}
	}
}

struct stream *stream_find(uint32_t id)
{
	if (!tab.cap)
		return NULL;
	for (uint32_t i = slot_of(id); tab.slots[i]; i = (i + 1) & (tab.cap - 1))
		if (tab.slots[i]->id == id)
			return tab.slots[i];
	return NULL;
}

struct stream *stream_open(uint32_t id, const struct stream_ops *ops, size_t size)
{
	if ((tab.count + 1) * 2 > tab.cap)
		table_grow();
	struct stream *s = xcalloc(1, size);
	s->id = id;
	s->ops = ops;
	s->window = DEFAULT_WINDOW;
	table_insert(s);
	s->prev = tab.tail;
	if (tab.tail)
		tab.tail->next = s;
	else
		tab.head = s;
	tab.tail = s;
	return s;
}

static void unlink_stream(struct stream *s)
{
	table_remove(s);
	if (s->prev)
		s->prev->next = s->next;
	else
		tab.head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		tab.tail = s->prev;
}

void stream_end(struct stream *s)
{
	unlink_stream(s);
	s->ops->release(s);
	free(s);
}

void streams_drop_all(void)
{
	while (tab.head)
		stream_end(tab.head);
}

bool streams_pump(void)
{
	bool progress = false, any;
	/* One frame per stream per pass, so a fast producer cannot starve the others. */
	do {
		any = false;
		for (struct stream *s = tab.head, *next; s && conn_room(); s = next) {
			next = s->next; /* pump may end s */
			if (s->ops->pump && s->ops->pump(s))
				any = true;
		}
		progress |= any;
	} while (any && conn_room());
	return progress;
}

uint32_t stream_window_arg(const struct msg *m)
{
	uint32_t w = msg_u32(m, TAG_WINDOW, DEFAULT_WINDOW);
	return w >= WINDOW_MIN && w <= WINDOW_MAX ? w : 0;
}

uint64_t stream_credit(const struct stream *s)
{
	if (!conn_has_cap(CAP_CREDIT))
		return UINT64_MAX;
	uint64_t inflight = s->sent - s->acked;
	return inflight >= s->window ? 0 : s->window - inflight;
}

void stream_acked(struct stream *s, uint64_t offset)
{
	/* Acknowledging bytes never sent would open the window beyond its size. */
	offset = MIN(offset, s->sent);
	if (offset > s->acked)
		s->acked = offset;
}

bool stream_input_arrived(struct stream *s, size_t n)
{
	s->in_received += n;
	if (conn_has_cap(CAP_CREDIT) && s->in_received - s->in_credited > INPUT_WINDOW) {
		conn_protocol_error("bad_value", "stream %u sent %llu input bytes beyond the window of %u", s->id,
				    (unsigned long long)(s->in_received - s->in_credited - INPUT_WINDOW),
				    INPUT_WINDOW);
		return false;
	}
	return true;
}

void stream_input_written(struct stream *s, uint64_t written)
{
	/* Credit in quarter windows: the host never waits while a quarter is still free,
	 * and small writes do not each cost a frame. */
	if (conn_has_cap(CAP_CREDIT) && written - s->in_credited >= INPUT_WINDOW / 4) {
		conn_send_credit(s->id, written);
		s->in_credited = written;
	}
}
