/* ratelimit.c - token buckets and the sharded keyed limiter.
 *
 * Each shard is a power-of-two array of slots with linear probing, at most
 * half full (capacity >= 2 * max_keys), deleted from by backward shifting
 * (no tombstones). Keys are copied on insert, the only allocation after
 * gw_ratelimit_new. The eviction policy is documented in ratelimit.h.
 */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "alloc.h"

#define RL_EPS 1e-9 /* tolerance for float drift in token counts and seconds */

typedef struct rl_entry {
    char *key; /* NULL: empty slot */
    size_t key_len;
    uint64_t hash;
    gw_bucket_t b;
} rl_entry_t;

typedef struct rl_shard {
    pthread_mutex_t mu;
    rl_entry_t *slots;
    size_t mask; /* slots - 1 */
    size_t count;
    size_t max_keys;
    double rate, burst;
    char pad[64]; /* keep neighbouring shards' locks off one cache line */
} rl_shard_t;

struct gw_ratelimit {
    rl_shard_t *shards;
    size_t nshards;
    size_t inited; /* shards whose mutex is initialised */
    uint64_t seed;
};

void gw_bucket_init(gw_bucket_t *b, double rate, double capacity, uint64_t now_ns)
{
    b->tokens = capacity;
    b->capacity = capacity;
    b->rate = rate;
    b->last_ns = now_ns;
}

/* Tokens b would hold at now_ns (not above capacity). */
static double bucket_level(const gw_bucket_t *b, uint64_t now_ns)
{
    double t = b->tokens;
    if (now_ns > b->last_ns)
        t += (double)(now_ns - b->last_ns) / 1e9 * b->rate;
    return t < b->capacity ? t : b->capacity;
}

int gw_bucket_take(gw_bucket_t *b, double cost, uint64_t now_ns, double *retry_after_s,
                   double *remaining)
{
    double retry = 0;
    int ok = 1;
    if (!(cost >= 0))
        cost = 0;
    if (b->rate <= 0) {
        b->tokens = b->capacity;
    } else {
        b->tokens = bucket_level(b, now_ns);
        if (now_ns > b->last_ns)
            b->last_ns = now_ns;
        if (cost > b->capacity) {
            ok = -1;
            retry = INFINITY;
        } else if (b->tokens + RL_EPS >= cost) {
            b->tokens = b->tokens > cost ? b->tokens - cost : 0;
        } else {
            ok = 0;
            retry = (cost - b->tokens) / b->rate;
        }
    }
    if (retry_after_s != NULL)
        *retry_after_s = retry;
    if (remaining != NULL)
        *remaining = b->tokens;
    return ok;
}

static uint64_t rl_hash(uint64_t seed, const char *key, size_t len)
{
    uint64_t h = seed ^ 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 0x100000001b3ull;
    h ^= h >> 33; /* murmur3 fmix64: spread FNV's weak low bits */
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static size_t home_slot(const gw_ratelimit_t *rl, const rl_shard_t *s, uint64_t h)
{
    return (size_t)(h / rl->nshards) & s->mask; /* bits not used to pick the shard */
}

/* Returns the slot holding key, or the empty slot where it would go. */
static size_t find_slot(const gw_ratelimit_t *rl, const rl_shard_t *s, uint64_t h, const char *key,
                        size_t len)
{
    size_t i = home_slot(rl, s, h);
    while (s->slots[i].key != NULL) {
        const rl_entry_t *e = &s->slots[i];
        if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
            break;
        i = (i + 1) & s->mask;
    }
    return i;
}

/* Deletes slot i by backward shifting the rest of its probe cluster. */
static void remove_at(const gw_ratelimit_t *rl, rl_shard_t *s, size_t i)
{
    gw_free(s->slots[i].key);
    for (size_t j = (i + 1) & s->mask; s->slots[j].key != NULL; j = (j + 1) & s->mask) {
        size_t home = home_slot(rl, s, s->slots[j].hash);
        /* slots[j] may fill the hole unless its home lies cyclically in (i, j] */
        if (((j - home) & s->mask) >= ((j - i) & s->mask)) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i].key = NULL;
    s->count--;
}

/* The shard is full: evict every idle entry (its bucket would be full by
 * now), or, if none is idle, the one closest to full. */
static void evict(const gw_ratelimit_t *rl, rl_shard_t *s, uint64_t now_ns)
{
    size_t start = 0, best = 0;
    double best_level = -1;
    while (s->slots[start].key != NULL) /* an empty slot: clusters never wrap past it */
        start++;
    for (size_t k = 1; k <= s->mask; k++) {
        size_t i = (start + k) & s->mask;
        while (s->slots[i].key != NULL && bucket_level(&s->slots[i].b, now_ns) >= s->slots[i].b.capacity)
            remove_at(rl, s, i); /* a later entry may shift into i: test it too */
        if (s->slots[i].key != NULL && bucket_level(&s->slots[i].b, now_ns) > best_level) {
            best_level = bucket_level(&s->slots[i].b, now_ns);
            best = i;
        }
    }
    if (s->count >= s->max_keys)
        remove_at(rl, s, best);
}

/* Returns key's entry, adding a full bucket when new; NULL on OOM. */
static rl_entry_t *get_entry(const gw_ratelimit_t *rl, rl_shard_t *s, uint64_t h, const char *key,
                             size_t len, uint64_t now_ns)
{
    size_t i = find_slot(rl, s, h, key, len);
    if (s->slots[i].key != NULL)
        return &s->slots[i];
    char *copy = gw_malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, key, len);
    copy[len] = '\0';
    if (s->count >= s->max_keys) {
        evict(rl, s, now_ns);
        i = find_slot(rl, s, h, key, len);
    }
    rl_entry_t *e = &s->slots[i];
    e->key = copy;
    e->key_len = len;
    e->hash = h;
    gw_bucket_init(&e->b, s->rate, s->burst, now_ns);
    s->count++;
    return e;
}

static uint64_t ceil_s(double s)
{
    if (!(s > RL_EPS))
        return 0;
    return s >= 1e18 ? (uint64_t)1e18 : (uint64_t)ceil(s - RL_EPS);
}

static void fill_result(gw_rl_result_t *res, const gw_bucket_t *b, int ok, double retry)
{
    res->unlimited = 0;
    res->limit = (uint64_t)floor(b->capacity + RL_EPS);
    res->remaining = (uint64_t)floor(b->tokens + RL_EPS);
    res->reset_s = ceil_s((b->capacity - b->tokens) / b->rate);
    res->retry_after_s = 0;
    if (ok == 0) {
        res->retry_after_s = ceil_s(retry);
        if (res->retry_after_s < 1)
            res->retry_after_s = 1;
    }
}

int gw_ratelimit_take(gw_ratelimit_t *rl, const char *key, size_t key_len, double cost,
                      uint64_t now_ns, gw_rl_result_t *res)
{
    uint64_t h = rl_hash(rl->seed, key, key_len);
    rl_shard_t *s = &rl->shards[h % rl->nshards];
    int ok = 1;
    double retry = 0;
    gw_rl_result_t dummy;
    if (res == NULL)
        res = &dummy;
    memset(res, 0, sizeof *res);
    res->unlimited = 1;
    pthread_mutex_lock(&s->mu);
    if (s->rate > 0) {
        rl_entry_t *e = get_entry(rl, s, h, key, key_len, now_ns);
        if (e != NULL) {
            ok = gw_bucket_take(&e->b, cost, now_ns, &retry, NULL);
            fill_result(res, &e->b, ok, retry);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static int valid_config(double rate, double burst)
{
    return isfinite(rate) && isfinite(burst) && rate >= 0 && burst >= 0;
}

/* Smallest power of two >= 2 * max_keys (at least 4); 0 on overflow. */
static size_t table_size(size_t max_keys)
{
    size_t n = 4;
    while (n / 2 < max_keys) {
        if (n > SIZE_MAX / 2 / sizeof(rl_entry_t))
            return 0;
        n *= 2;
    }
    return n;
}

gw_ratelimit_t *gw_ratelimit_new(size_t shards, double rate, double burst, size_t max_keys_per_shard)
{
    size_t slots = table_size(max_keys_per_shard);
    gw_ratelimit_t *rl = NULL;
    if (shards == 0 || max_keys_per_shard == 0 || slots == 0 || !valid_config(rate, burst))
        return NULL;
    if ((rl = gw_calloc(1, sizeof *rl)) == NULL || (rl->shards = gw_calloc(shards, sizeof *rl->shards)) == NULL)
        goto out;
    rl->nshards = shards;
    if (getrandom(&rl->seed, sizeof rl->seed, GRND_NONBLOCK) != (ssize_t)sizeof rl->seed)
        rl->seed = (uint64_t)(uintptr_t)rl ^ 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < shards; i++) {
        rl_shard_t *s = &rl->shards[i];
        if ((s->slots = gw_calloc(slots, sizeof *s->slots)) == NULL || pthread_mutex_init(&s->mu, NULL) != 0)
            goto out;
        rl->inited++;
        s->mask = slots - 1;
        s->max_keys = max_keys_per_shard;
        s->rate = rate;
        s->burst = burst;
    }
    return rl;
out:
    gw_ratelimit_free(rl);
    return NULL;
}

void gw_ratelimit_free(gw_ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    for (size_t i = 0; rl->shards != NULL && i < rl->nshards; i++) {
        rl_shard_t *s = &rl->shards[i];
        for (size_t j = 0; s->slots != NULL && j <= s->mask; j++)
            gw_free(s->slots[j].key);
        gw_free(s->slots);
        if (i < rl->inited)
            pthread_mutex_destroy(&s->mu);
    }
    gw_free(rl->shards);
    gw_free(rl);
}

int gw_ratelimit_set(gw_ratelimit_t *rl, double rate, double burst)
{
    if (!valid_config(rate, burst))
        return -1;
    for (size_t i = 0; i < rl->nshards; i++) {
        rl_shard_t *s = &rl->shards[i];
        pthread_mutex_lock(&s->mu);
        s->rate = rate;
        s->burst = burst;
        for (size_t j = 0; j <= s->mask; j++) {
            gw_bucket_t *b = &s->slots[j].b;
            if (s->slots[j].key == NULL)
                continue;
            b->rate = rate;
            b->capacity = burst;
            if (b->tokens > burst)
                b->tokens = burst;
        }
        pthread_mutex_unlock(&s->mu);
    }
    return 0;
}

size_t gw_ratelimit_count(gw_ratelimit_t *rl)
{
    size_t n = 0;
    for (size_t i = 0; i < rl->nshards; i++) {
        pthread_mutex_lock(&rl->shards[i].mu);
        n += rl->shards[i].count;
        pthread_mutex_unlock(&rl->shards[i].mu);
    }
    return n;
}
