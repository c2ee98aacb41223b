/* Weighted Maglev table builder: deterministic, bounded, O(n) scratch.
 * Built in gatewayd, looked up by the data plane as table[flow_hash % m]. */
#include <errno.h>
#include <stdlib.h>

#include "gw/maglev.h"

/* Seeds for the two hashes that give each backend its offset and skip. */
#define MAGLEV_SEED_OFFSET 0x9e3779b97f4a7c15ULL
#define MAGLEV_SEED_SKIP   0xc2b2ae3d27d4eb4fULL

/* Marks a free slot while building; entries hold indexes < n <= m < 2^32 - 1. */
#define MAGLEV_SLOT_FREE UINT32_MAX

struct maglev_state {
	uint64_t key;
	uint32_t id;
	uint32_t weight;
	uint32_t pos;	 /* current slot of this backend's permutation */
	uint32_t skip;	 /* in [1, m-1]; m prime, so the permutation covers all m slots */
	uint32_t next;	 /* how many permutation entries have been consumed, <= m */
	uint32_t turns;	 /* turns taken so far */
	uint64_t due;	 /* round of the next turn: ceil((turns + 1) * wmax / weight) */
	uint64_t credit; /* round-by-round fill: weight earned, < 2 * wmax */
};

/* MurmurHash3 fmix64: a bijective mixer with full avalanche. */
static uint64_t fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint64_t gw_maglev_key(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL; /* FNV-1a 64 prime */
	}
	return fmix64(h);
}

bool gw_maglev_is_prime(uint32_t m)
{
	uint32_t d;

	if (m < 2)
		return false;
	if (m < 4)
		return true;
	if (m % 2 == 0 || m % 3 == 0)
		return false;
	/* d * d is computed in 64 bits: near 2^32 it would wrap in 32. */
	for (d = 5; (uint64_t)d * d <= m; d += 6) {
		if (m % d == 0 || m % (d + 2) == 0)
			return false;
	}
	return true;
}

uint32_t gw_maglev_prime_at_least(uint32_t n)
{
	uint64_t c;

	if (n <= 2)
		return 2;
	/* The largest prime below 2^32 is 4294967291; the loop ends at 2^32. */
	for (c = n | 1; c <= UINT32_MAX; c += 2) {
		if (gw_maglev_is_prime((uint32_t)c))
			return (uint32_t)c;
	}
	return 0;
}

/* Total order on (key, id, weight) so that input order never matters. */
static int maglev_state_cmp(const void *a, const void *b)
{
	const struct maglev_state *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight < y->weight ? -1 : 1;
	return 0;
}

/*
 * Claim the next free slot in s's permutation. Returns false only if s has
 * walked its whole permutation, which cannot happen while a slot is free:
 * every slot s skipped was already taken, and the permutation visits every
 * slot once.
 */
static bool maglev_claim(struct maglev_state *s, uint32_t idx, uint32_t m, uint32_t *table)
{
	while (s->next < m) {
		uint32_t slot = s->pos;
		uint64_t pos = (uint64_t)s->pos + s->skip;

		s->pos = (uint32_t)(pos >= m ? pos - m : pos);
		s->next++;
		if (table[slot] == MAGLEV_SLOT_FREE) {
			table[slot] = idx;
			return true;
		}
	}
	return false;
}

/*
 * Both fills below produce the same weighted round robin over the
 * permutation turns: in round r (from 1) a backend of weight w has taken
 * floor(r * w / wmax) turns, and turns within a round go in sorted order.
 * Equal weights give the paper's one turn each per round. Each turn fills one
 * slot, so there are exactly m turns; each backend walks at most m
 * permutation entries in total (see maglev_claim).
 */

/*
 * Round by round, visiting every backend each round. A backend of weight
 * wmax takes a turn every round, so there are at most m rounds; the caller
 * uses this only when wmax * cnt < 4 * wsum + 4, and then after r rounds at
 * least r * wsum / wmax - cnt turns are taken, so about 4 * (m + cnt) / cnt
 * rounds suffice: at most ~9 * m steps in all.
 */
static int maglev_fill_rounds(struct maglev_state *st, uint32_t cnt, uint32_t wmax, uint32_t m,
			      uint32_t *table)
{
	uint32_t filled = 0, round, i;

	for (round = 0; round < m && filled < m; round++) {
		for (i = 0; i < cnt && filled < m; i++) {
			struct maglev_state *s = &st[i];

			s->credit += s->weight;
			if (s->credit < wmax)
				continue;
			s->credit -= wmax;
			if (!maglev_claim(s, i, m, table))
				return -EFAULT;
			filled++;
		}
	}
	return filled == m ? 0 : -EFAULT;
}

static void maglev_set_due(struct maglev_state *s, uint32_t wmax)
{
	/* (turns + 1) * wmax < 2^64 as both factors are below 2^32. */
	s->due = (((uint64_t)s->turns + 1) * wmax + s->weight - 1) / s->weight;
}

/* Turn order: earlier round first, then sorted position within the round. */
static bool maglev_before(const struct maglev_state *st, uint32_t a, uint32_t b)
{
	return st[a].due < st[b].due || (st[a].due == st[b].due && a < b);
}

static void maglev_sift_down(const struct maglev_state *st, uint32_t *heap, uint32_t cnt,
			     uint32_t at)
{
	for (;;) {
		uint32_t l = 2 * at + 1, best = at, tmp;

		if (l < cnt && maglev_before(st, heap[l], heap[best]))
			best = l;
		if (l + 1 < cnt && maglev_before(st, heap[l + 1], heap[best]))
			best = l + 1;
		if (best == at)
			return;
		tmp = heap[at];
		heap[at] = heap[best];
		heap[best] = tmp;
		at = best;
	}
}

/*
 * Turn by turn from a heap ordered by (round of next turn, position): exactly
 * m turns of O(log cnt), never visiting idle backends, so skewed weights
 * (one heavy backend among many light ones) cost no more than even ones.
 */
static int maglev_fill_heap(struct maglev_state *st, uint32_t *heap, uint32_t cnt, uint32_t wmax,
			    uint32_t m, uint32_t *table)
{
	uint32_t filled, i;

	for (i = 0; i < cnt; i++) {
		maglev_set_due(&st[i], wmax);
		heap[i] = i;
	}
	for (i = cnt / 2; i-- > 0;)
		maglev_sift_down(st, heap, cnt, i);

	for (filled = 0; filled < m; filled++) {
		struct maglev_state *s = &st[heap[0]];

		if (!maglev_claim(s, heap[0], m, table))
			return -EFAULT;
		s->turns++;
		maglev_set_due(s, wmax);
		maglev_sift_down(st, heap, cnt, 0);
	}
	return 0;
}

int gw_maglev_build(const struct gw_maglev_backend *be, size_t n, uint32_t m, uint32_t *table)
{
	struct maglev_state *st = NULL;
	uint32_t *heap = NULL;
	uint32_t wmax = 0, i, cnt = 0;
	uint64_t wsum = 0;
	size_t j;
	int ret;

	if (n == 0)
		return -ENOENT;
	if (!be || !table || !gw_maglev_is_prime(m) || m < n)
		return -EINVAL;

	for (j = 0; j < n; j++) {
		if (be[j].weight > wmax)
			wmax = be[j].weight;
	}
	if (wmax == 0)
		return -ENOENT;

	/* n <= m < 2^32, so counts and indexes fit in uint32_t from here on. */
	st = calloc(n, sizeof(*st));
	if (!st)
		return -ENOMEM;

	for (j = 0; j < n; j++) {
		struct maglev_state *s;

		if (be[j].weight == 0)
			continue;
		s = &st[cnt++];
		s->key = be[j].key;
		s->id = be[j].id;
		s->weight = be[j].weight;
		wsum += be[j].weight;
	}

	/*
	 * Round by round costs about m * cnt * wmax / wsum steps: cheapest
	 * when wmax is within 4x of the mean weight. Otherwise use the heap,
	 * which is slower per turn but independent of the weights. Both give
	 * the same table. Neither product overflows: all factors < 2^32.
	 */
	if ((uint64_t)wmax * cnt / 4 > wsum) {
		heap = calloc(cnt, sizeof(*heap));
		if (!heap) {
			ret = -ENOMEM;
			goto out;
		}
	}

	qsort(st, cnt, sizeof(*st), maglev_state_cmp);
	for (i = 0; i < cnt; i++) {
		st[i].pos = (uint32_t)(fmix64(st[i].key ^ MAGLEV_SEED_OFFSET) % m);
		st[i].skip = (uint32_t)(fmix64(st[i].key ^ MAGLEV_SEED_SKIP) % (m - 1)) + 1;
	}

	for (i = 0; i < m; i++)
		table[i] = MAGLEV_SLOT_FREE;
	if (heap)
		ret = maglev_fill_heap(st, heap, cnt, wmax, m, table);
	else
		ret = maglev_fill_rounds(st, cnt, wmax, m, table);
	/* -EFAULT is unreachable by the bound argument; never hand out a partial table. */
	if (ret)
		goto out;

	for (i = 0; i < m; i++)
		table[i] = st[table[i]].id;
out:
	free(heap);
	free(st);
	return ret;
}
