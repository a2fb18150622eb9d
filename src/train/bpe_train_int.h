/* bpe_train_int.h - hash maps shared by bpe_train.c and bpe_train_io.c. */
#ifndef RS_BPE_TRAIN_INT_H
#define RS_BPE_TRAIN_INT_H

#include <stddef.h>
#include <stdint.h>

/* uint64 key -> int64 value, open addressing; never shrinks. */
typedef struct bpe_pairmap {
	uint64_t *keys; /* key + 1; 0 marks an empty slot */
	int64_t *vals;
	size_t cap, n;
} bpe_pairmap;

void pairmap_init(bpe_pairmap *m);
void pairmap_free(bpe_pairmap *m);
/* Pointer to the value of key, inserted as dflt when absent. */
int64_t *pairmap_get(bpe_pairmap *m, uint64_t key, int64_t dflt);
/* The value of key, or dflt when absent (no insertion). */
int64_t pairmap_find(const bpe_pairmap *m, uint64_t key, int64_t dflt);

static inline uint64_t pair_key(int32_t a, int32_t b)
{
	return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

/* Byte string -> int64 value, keys copied into an arena. */
typedef struct bpe_strmap {
	struct strmap_slot {
		uint64_t hash;
		size_t off;   /* into arena; SIZE_MAX marks an empty slot */
		uint32_t len;
		int64_t val;
	} *slot;
	size_t cap, n;
	char *arena;
	size_t arena_n, arena_cap;
} bpe_strmap;

void strmap_init(bpe_strmap *m);
void strmap_free(bpe_strmap *m);
int64_t *strmap_get(bpe_strmap *m, const char *s, size_t len, int64_t dflt);
int64_t strmap_find(const bpe_strmap *m, const char *s, size_t len, int64_t dflt);
/* The key of a slot, for iteration over slot[0..cap) with off != SIZE_MAX. */
static inline const char *strmap_key(const bpe_strmap *m, size_t i)
{
	return m->arena + m->slot[i].off;
}

struct bpe_counts {
	bpe_strmap words; /* pre-token -> count */
	uint64_t total;
};

#endif
