#include "chain/err.h"

const char *chain_strerror(int err)
{
    switch (err) {
    case CHAIN_OK: return "ok";
#define X(name, val, str) case CHAIN_ERR_##name: return str;
    CHAIN_ERR_LIST(X)
#undef X
    default: return "unknown-error";
    }
}
