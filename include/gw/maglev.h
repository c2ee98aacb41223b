/* Weighted Maglev consistent-hash table builder (Eisenbud et al., NSDI'16).
 * gatewayd builds the tables here; the data plane only does table[flow_hash % m]. */
#ifndef GW_MAGLEV_H
#define GW_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One backend as the builder sees it.
 *
 * @id:     what the data plane gets back from the table (any value).
 * @weight: relative share of slots; 0 means "present but gets no slots".
 * @key:    stable identity of the backend, e.g. gw_maglev_key() over
 *          "site|address|port". Offset and skip are derived from it, so the
 *          same set of backends yields the same table on every gateway and
 *          across restarts, whatever the input order.
 */
struct gw_maglev_backend {
	uint32_t id;
	uint32_t weight;
	uint64_t key;
};

/*
 * Fill table[0..m-1] with backend ids.
 *
 * Backends are ordered internally by (key, id, weight), so input order does
 * not matter. Each backend with weight w gets about m * w / sum(weights)
 * slots. With equal weights this is exactly the paper's algorithm.
 *
 * Returns 0, or:
 *   -ENOENT  n == 0, or every weight is 0 (the caller decides what an empty
 *            service means: drop, or keep the previous table);
 *   -EINVAL  be or table is NULL, m is not prime, or m < n;
 *   -ENOMEM  the O(n) scratch could not be allocated;
 *   -EFAULT  internal invariant broken (a bug: cannot happen by the bound
 *            argument in maglev.c); the table then holds garbage.
 * On any other error the table is not modified.
 *
 * Cost: O(n) scratch memory; whatever the weights, the fill takes at most
 * 9 * m round-robin steps or m heap turns of O(log n), plus at most n * m
 * permutation probes (about m * ln(m) in practice). No static state;
 * thread-safe.
 */
int gw_maglev_build(const struct gw_maglev_backend *be, size_t n, uint32_t m, uint32_t *table);

/* Deterministic primality test for the whole uint32_t range. */
bool gw_maglev_is_prime(uint32_t m);

/* Smallest prime >= n (2 for n <= 2); 0 if there is none below 2^32. */
uint32_t gw_maglev_prime_at_least(uint32_t n);

/*
 * Stable 64-bit hash for backend keys: FNV-1a 64 over the bytes, then the
 * MurmurHash3 64-bit finaliser for avalanche. Independent of host byte order.
 * This value is shared by every gateway: changing it reshuffles every table.
 */
uint64_t gw_maglev_key(const void *data, size_t len);

#endif /* GW_MAGLEV_H */
