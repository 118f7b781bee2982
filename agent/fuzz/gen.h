/* Input generation for fuzz_decoder.c (see gen.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MAX_FIELDS 64

extern uint64_t rng; /* PRNG state: set it to the seed */
uint64_t rnd(void);
uint32_t below(uint32_t n); /* 0 .. n-1 */
bool chance(uint32_t one_in);

void random_bytes(uint8_t *p, size_t n, bool no_nul);
uint16_t random_type(void);

struct field {
	uint8_t tag;
	size_t off, len; /* value position within the encoded payload */
};

struct gen {
	struct buf b;
	uint16_t type;
	uint32_t stream;
	struct field fields[MAX_FIELDS];
	unsigned nfields;
};

/* Appends to g->b one valid frame of `type` (a 1 MiB payload when big) and records
 * its fields. */
void gen_frame(struct gen *g, uint16_t type, bool big);
/* Applies one to three random mutations; `other` is material for splices. */
void mutate(struct buf *b, const struct buf *other);
