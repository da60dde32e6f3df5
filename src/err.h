/* err.h - the one error enum of llmgw and its strerror.
 *
 * Every fallible function returns gw_err_t: GW_OK (0) on success, a
 * positive code otherwise. GW_AGAIN is the tri-state "not yet" of
 * non-blocking paths. Never mix this with -1/errno in one API.
 */
#ifndef GW_ERR_H
#define GW_ERR_H

typedef enum {
    GW_OK = 0,
    GW_AGAIN,      /* incomplete input, call again with more */
    GW_ENOMEM,     /* allocation failed */
    GW_ETOOBIG,    /* a bounded buffer or limit was exceeded */
    GW_EINVAL,     /* malformed input or bad argument */
    GW_ENOTFOUND,  /* lookup missed */
    GW_EIO,        /* I/O or system call failed */
    GW_ETIMEOUT,   /* a deadline passed */
    GW_EUPSTREAM,  /* upstream answered with an error or broke */
    GW_ECONFIG,    /* configuration is invalid */
    GW_EDENIED,    /* refused by policy (auth, guard, limits) */
    GW_EUNSUPPORTED
} gw_err_t;

/* Returns a static, human-readable name for an error code. */
const char *gw_strerror(gw_err_t err);

#endif
