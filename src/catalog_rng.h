/* catalog_rng.h - counter-based random numbers for the catalog generator.
 *
 * Every generated value is a pure function of (seed, table, row, field):
 * no state is carried from one row to the next, so any row can be made
 * alone, by any thread, in any order, on any machine. The mixer is the
 * splitmix64 finalizer (Steele et al., "Fast splittable PRNGs", 2014).
 */
#ifndef GW_CATALOG_RNG_H
#define GW_CATALOG_RNG_H

#include <stdint.h>

#define GW_RNG_GOLDEN 0x9E3779B97F4A7C15ULL

/* Tables (streams) of the generator: distinct keys, distinct numbers. */
enum { GW_RNG_SKUS = 1, GW_RNG_INVENTORY = 2, GW_RNG_SETUP = 3 };

/* splitmix64's output function: a bijection of 64-bit words with full
 * avalanche. */
static inline uint64_t gw_rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The key of one table's stream for a seed. */
static inline uint64_t gw_rng_stream(uint64_t seed, uint32_t table)
{
    return gw_rng_mix(gw_rng_mix(seed) + GW_RNG_GOLDEN * (uint64_t)table);
}

/* The state of one row of a stream. */
static inline uint64_t gw_rng_row(uint64_t stream, uint64_t row)
{
    return gw_rng_mix(stream ^ gw_rng_mix(row + GW_RNG_GOLDEN));
}

/* 64 random bits for one field of a row. */
static inline uint64_t gw_rng_field(uint64_t row_state, uint32_t field)
{
    return gw_rng_mix(row_state + GW_RNG_GOLDEN * ((uint64_t)field + 1));
}

/* All in one: gw_rng_field(gw_rng_row(gw_rng_stream(seed, table), row), field). */
static inline uint64_t gw_rng_hash(uint64_t seed, uint32_t table, uint64_t row, uint32_t field)
{
    return gw_rng_field(gw_rng_row(gw_rng_stream(seed, table), row), field);
}

/* A number in [0, n) from the high 32 bits of x (n <= 2^32; Lemire's
 * multiply-shift, bias below 2^-32 * n). */
static inline uint32_t gw_rng_below(uint64_t x, uint32_t n)
{
    return (uint32_t)(((x >> 32) * (uint64_t)n) >> 32);
}

/* The same from the low 32 bits, so one 64-bit draw gives two numbers. */
static inline uint32_t gw_rng_below_lo(uint64_t x, uint32_t n)
{
    return (uint32_t)(((x & 0xFFFFFFFFULL) * (uint64_t)n) >> 32);
}

/* A double in (0, 1]: never 0, so log() of it is finite. */
static inline double gw_rng_unit(uint64_t x)
{
    return (double)((x >> 11) + 1) * 0x1.0p-53;
}

#endif
