/* One signature check per distinct (signature, message, key) for the
 * whole process: the simulator runs thousands of chains that each verify
 * the same txs, and Ed25519 was 45 % of a 1,000-node run's CPU. Linked
 * with -Wl,--wrap=sig_verify (sim/meson.build), so chain/ calls this
 * instead of sig_verify; the answer is the real one, remembered. The
 * virtual clock does not see any of this: validation time is simnet's
 * CPU model (docs/SIMULATION.md).
 *
 * For the same reason each chain's own signature cache (chain/sigcache.c,
 * a txid set that spares a second check of a tx the mempool already
 * checked) is cut to SIM_SIGCACHE_ENTRIES: with this memo a check is a
 * lookup, and the cache's table was ~20 KiB a node with 100 txs in flight.
 * A miss only means the memo answers; no answer changes. Linked with
 * -Wl,--wrap=sigcache_init. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/sigcache.h"
#include "crypto/sig.h"

bool __real_sig_verify(const uint8_t sig[SIG_SIZE], const void *msg, size_t len,
                       const uint8_t pk[SIG_PUBKEY_SIZE]);
bool __wrap_sig_verify(const uint8_t sig[SIG_SIZE], const void *msg, size_t len,
                       const uint8_t pk[SIG_PUBKEY_SIZE]);

int __real_sigcache_init(struct sigcache *sc, size_t max, uint64_t salt);
int __wrap_sigcache_init(struct sigcache *sc, size_t max, uint64_t salt);

/* Entries of each simulated chain's signature cache. */
#define SIM_SIGCACHE_ENTRIES 4u

/* Beyond this many remembered checks, new ones are simply made. */
#define SIGMEMO_MAX_ENTRIES (1u << 20)
#define SIGMEMO_MAX_MSG 1024u

struct memo {
    uint8_t sig[SIG_SIZE];
    uint8_t pk[SIG_PUBKEY_SIZE];
    uint8_t *msg;
    size_t len;
    bool ok;
};

static struct memo *tab;
static size_t cap, used;

static size_t slot_of(const uint8_t sig[SIG_SIZE])
{
    uint64_t k;
    memcpy(&k, sig, 8);   /* a signature's bytes are uniform enough */
    return (size_t)(k ^ (k >> 31));
}

static struct memo *find(const uint8_t *sig, const void *msg, size_t len, const uint8_t *pk,
                         bool *hit)
{
    for (size_t i = slot_of(sig) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        struct memo *m = &tab[i];
        if (!m->msg) {
            *hit = false;
            return m;
        }
        if (m->len == len && memcmp(m->sig, sig, SIG_SIZE) == 0
            && memcmp(m->pk, pk, SIG_PUBKEY_SIZE) == 0 && memcmp(m->msg, msg, len) == 0) {
            *hit = true;
            return m;
        }
    }
}

static bool grow(void)
{
    size_t ncap = cap ? 2 * cap : 1024;
    struct memo *nt = calloc(ncap, sizeof(*nt));
    if (!nt)
        return false;
    struct memo *old = tab;
    size_t ocap = cap;
    tab = nt;
    cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].msg)
            continue;
        bool hit;
        *find(old[i].sig, old[i].msg, old[i].len, old[i].pk, &hit) = old[i];
    }
    free(old);
    return true;
}

bool __wrap_sig_verify(const uint8_t sig[SIG_SIZE], const void *msg, size_t len,
                       const uint8_t pk[SIG_PUBKEY_SIZE])
{
    if (len > SIGMEMO_MAX_MSG || used >= SIGMEMO_MAX_ENTRIES
        || (2 * (used + 1) > cap && !grow()))
        return __real_sig_verify(sig, msg, len, pk);
    bool hit;
    struct memo *m = find(sig, msg, len, pk, &hit);
    if (hit)
        return m->ok;
    uint8_t *copy = malloc(len ? len : 1);
    bool ok = __real_sig_verify(sig, msg, len, pk);
    if (!copy)
        return ok;
    memcpy(copy, msg, len);
    memcpy(m->sig, sig, SIG_SIZE);
    memcpy(m->pk, pk, SIG_PUBKEY_SIZE);
    m->msg = copy;
    m->len = len;
    m->ok = ok;
    used++;
    return ok;
}

int __wrap_sigcache_init(struct sigcache *sc, size_t max, uint64_t salt)
{
    (void)max;
    return __real_sigcache_init(sc, SIM_SIGCACHE_ENTRIES, salt);
}
