#include "p2p/err.h"

#include "chain/err.h"

const char *p2p_strerror(int err)
{
    switch (err) {
    case 0: return "ok";
#define X(name, val, str) case (val): return str;
    P2P_ERR_LIST(X)
#undef X
    default: return chain_strerror(err);
    }
}
