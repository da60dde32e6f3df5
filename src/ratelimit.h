/* ratelimit.h - token buckets and a sharded, bounded, keyed rate limiter.
 *
 * Time is always passed in (monotonic nanoseconds) and never read here, so
 * results are deterministic. gw_bucket_t is a plain token bucket;
 * gw_ratelimit_t holds one bucket per key (client IP, tenant) in N shards,
 * each a fixed-size open-addressing table under its own mutex, so worker
 * threads never share a global lock.
 *
 * Bound and eviction policy: a shard never holds more than
 * max_keys_per_shard keys. When a new key finds its shard full, every idle
 * entry is evicted first: a bucket that would be full by now. Forgetting
 * it loses nothing, because a new bucket starts full anyway. If no entry is
 * idle, the entry closest to full is evicted (the smallest loss of state;
 * memory stays bounded and a new client is never refused just because the
 * table is full).
 */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_bucket {
    double tokens;   /* available now (as of last_ns) */
    double capacity; /* burst */
    double rate;     /* tokens per second; 0 = unlimited */
    uint64_t last_ns;
} gw_bucket_t;

/* Initialises a full bucket at time now_ns. */
void gw_bucket_init(gw_bucket_t *b, double rate, double capacity, uint64_t now_ns);

/* Refills b up to now_ns (a now_ns older than the last one adds nothing),
 * then takes cost (>= 0) tokens if there are enough.
 * Returns 1 when allowed. Returns 0 when refused: *retry_after_s = seconds
 * until cost tokens will be there. Returns -1 when cost > capacity, which
 * can never succeed (*retry_after_s = INFINITY). *remaining = tokens left
 * afterwards. rate 0: always 1, *remaining = capacity. Either out pointer
 * may be NULL. */
int gw_bucket_take(gw_bucket_t *b, double cost, uint64_t now_ns, double *retry_after_s,
                   double *remaining);

typedef struct gw_ratelimit gw_ratelimit_t;

/* For rate-limit response headers (X-RateLimit-*, Retry-After). */
typedef struct gw_rl_result {
    int unlimited;          /* rate 0: nothing is limited, the rest is 0 */
    uint64_t limit;         /* burst (capacity), rounded down */
    uint64_t remaining;     /* tokens left, rounded down */
    uint64_t reset_s;       /* seconds until the bucket is full again, rounded up */
    uint64_t retry_after_s; /* refused: seconds until cost is there, rounded up, >= 1; else 0 */
} gw_rl_result_t;

/* Returns a new limiter (free with gw_ratelimit_free), NULL on OOM or bad
 * arguments (shards or max_keys_per_shard 0, rate or burst negative or
 * not finite). rate is tokens per second (0 = unlimited), burst the
 * capacity of each key's bucket. */
gw_ratelimit_t *gw_ratelimit_new(size_t shards, double rate, double burst, size_t max_keys_per_shard);

/* Frees rl and all its keys; NULL is fine. No other thread may use rl. */
void gw_ratelimit_free(gw_ratelimit_t *rl);

/* Takes cost tokens from key's bucket (created full on first use).
 * Thread-safe; locks only the key's shard. The key is copied; it is
 * borrowed for the call only. Returns 1 allowed, 0 refused (retry later),
 * -1 if cost > burst (can never succeed; retry_after_s = 0). If adding a
 * new key fails for lack of memory the request is allowed untracked (fail
 * open) and res->unlimited is set. res may be NULL. */
int gw_ratelimit_take(gw_ratelimit_t *rl, const char *key, size_t key_len, double cost,
                      uint64_t now_ns, gw_rl_result_t *res);

/* Applies a new rate and burst (config reload): existing buckets keep their
 * tokens, clamped to the new burst. Thread-safe, one shard at a time.
 * Returns 0, or -1 (nothing changed) for a negative or non-finite value. */
int gw_ratelimit_set(gw_ratelimit_t *rl, double rate, double burst);

/* Returns the number of keys held now (for metrics and tests). Thread-safe. */
size_t gw_ratelimit_count(gw_ratelimit_t *rl);

#endif
