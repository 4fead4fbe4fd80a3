#include "chain/sigcache.h"

#include <stdlib.h>
#include <string.h>

#include "chain/err.h"

int sigcache_init(struct sigcache *sc, size_t max, uint64_t salt)
{
    memset(sc, 0, sizeof *sc);
    hmap_init(&sc->set, salt);
    sc->max = max ? max : SIGCACHE_MAX_ENTRIES;
    sc->ring = malloc(sc->max * sizeof *sc->ring);
    return sc->ring ? 0 : CHAIN_ERR_NOMEM;
}

void sigcache_free(struct sigcache *sc)
{
    hmap_free(&sc->set);
    free(sc->ring);
    memset(sc, 0, sizeof *sc);
}

bool sigcache_has(const struct sigcache *sc, const uint8_t txid[32])
{
    return hmap_get(&sc->set, txid) != NULL;
}

void sigcache_add(struct sigcache *sc, const uint8_t txid[32])
{
    if (!sc->ring || hmap_get(&sc->set, txid))
        return;
    size_t slot = (sc->head + sc->n) % sc->max;
    if (sc->n == sc->max) {
        hmap_del(&sc->set, sc->ring[sc->head]);
        sc->head = (sc->head + 1) % sc->max;
        sc->n--;
    }
    /* A failed insert only means a later re-verification. */
    if (hmap_put(&sc->set, txid, sc) != 0)
        return;
    memcpy(sc->ring[slot], txid, 32);
    sc->n++;
}
