/* err.c - names for gw_err_t codes. */
#include "err.h"

const char *gw_strerror(gw_err_t err)
{
    switch (err) {
    case GW_OK: return "ok";
    case GW_AGAIN: return "again";
    case GW_ENOMEM: return "out of memory";
    case GW_ETOOBIG: return "limit exceeded";
    case GW_EINVAL: return "invalid input";
    case GW_ENOTFOUND: return "not found";
    case GW_EIO: return "i/o error";
    case GW_ETIMEOUT: return "timed out";
    case GW_EUPSTREAM: return "upstream error";
    case GW_ECONFIG: return "configuration error";
    case GW_EDENIED: return "denied";
    case GW_EUNSUPPORTED: return "unsupported";
    }
    return "unknown error";
}
