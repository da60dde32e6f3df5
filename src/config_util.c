/* config_util.c - string helpers of the configuration loader: http(s) URL
 * and listen-address parsing, the loopback test of protected mode, the key
 * hash format and ${VAR} expansion. Pure functions, no libfyaml.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "config_int.h"

/* Parses a decimal port of 1..5 digits in [s, e); 0 when invalid. */
static uint16_t parse_port(const char *s, const char *e)
{
    long v = 0;
    if (e <= s || e - s > 5)
        return 0;
    for (const char *p = s; p < e; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v >= 1 && v <= 65535 ? (uint16_t)v : 0;
}

static int host_char_ok(char ch)
{
    return isalnum((unsigned char)ch) || ch == '-' || ch == '.' || ch == '_';
}

/* Splits "host[:port]" or "[v6][:port]" in [s, e). The host lies in
 * [*hs, *he) (brackets stripped); *ps is NULL when there is no port. */
static gw_err_t split_hostport(const char *s, const char *e, const char **hs, const char **he, const char **ps,
                               const char **why)
{
    *ps = NULL;
    if (s < e && *s == '[') {
        const char *rb = memchr(s, ']', (size_t)(e - s));
        char v6[64];
        struct in6_addr a6;
        if (rb == NULL || rb == s + 1 || (size_t)(rb - s - 1) >= sizeof v6)
            return *why = "bad [IPv6] address", GW_EINVAL;
        memcpy(v6, s + 1, (size_t)(rb - s - 1));
        v6[rb - s - 1] = '\0';
        if (inet_pton(AF_INET6, v6, &a6) != 1)
            return *why = "bad [IPv6] address", GW_EINVAL;
        *hs = s + 1;
        *he = rb;
        if (rb + 1 < e && rb[1] != ':')
            return *why = "unexpected text after ]", GW_EINVAL;
        *ps = rb + 1 < e ? rb + 2 : NULL;
        return GW_OK;
    }
    const char *colon = memchr(s, ':', (size_t)(e - s));
    *hs = s;
    *he = colon != NULL ? colon : e;
    *ps = colon != NULL ? colon + 1 : NULL;
    if (colon != NULL && memchr(colon + 1, ':', (size_t)(e - colon - 1)) != NULL)
        return *why = "IPv6 addresses must be written in [brackets]", GW_EINVAL;
    if (*he == *hs)
        return *why = "missing host", GW_EINVAL;
    for (const char *p = *hs; p < *he; p++)
        if (!host_char_ok(*p))
            return *why = "bad character in host", GW_EINVAL;
    return GW_OK;
}

/* Reads the scheme; returns the authority start or NULL. */
static const char *url_scheme(const char *url, int *is_tls)
{
    if (strncasecmp(url, "http://", 7) == 0) {
        *is_tls = 0;
        return url + 7;
    }
    if (strncasecmp(url, "https://", 8) == 0) {
        *is_tls = 1;
        return url + 8;
    }
    return NULL;
}

gw_err_t gw__cfg_parse_url(const char *url, gw__cfg_url_t *u, const char **why)
{
    const char *hs, *he, *ps;
    memset(u, 0, sizeof *u);
    const char *auth = url_scheme(url, &u->is_tls);
    if (auth == NULL)
        return *why = "expected an http:// or https:// URL", GW_EINVAL;
    const char *path = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(path - auth)) != NULL)
        return *why = "user:password@ in a URL is not supported (use api_key)", GW_EINVAL;
    if (strpbrk(path, "?#") != NULL)
        return *why = "a query string or fragment is not allowed here", GW_EINVAL;
    for (const char *p = path; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return *why = "bad character in the path", GW_EINVAL;
    if (split_hostport(auth, path, &hs, &he, &ps, why) != GW_OK)
        return GW_EINVAL;
    u->port = u->is_tls ? 443 : 80;
    if (ps != NULL && (u->port = parse_port(ps, path)) == 0)
        return *why = "bad port (1-65535)", GW_EINVAL;
    size_t plen = strlen(path);
    while (plen > 0 && path[plen - 1] == '/')
        plen--;
    u->host = gw_strndup(hs, (size_t)(he - hs));
    u->path = gw_strndup(path, plen);
    if (u->host == NULL || u->path == NULL) {
        gw_free(u->host);
        gw_free(u->path);
        u->host = u->path = NULL;
        return *why = "out of memory", GW_ENOMEM;
    }
    return GW_OK;
}

gw_err_t gw_cfg_endpoint_parse(const char *url, gw_cfg_provider_t *p, const char **why)
{
    gw__cfg_url_t u;
    memset(p, 0, sizeof(*p));
    gw_err_t rc = gw__cfg_parse_url(url, &u, why);
    if (rc != GW_OK)
        return rc;
    p->base_url = gw_strdup(url);
    p->is_tls = u.is_tls;
    p->host = u.host;
    p->port = u.port;
    p->base_path = u.path;
    if (p->base_url == NULL) {
        gw_cfg_endpoint_free(p);
        return *why = "out of memory", GW_ENOMEM;
    }
    return GW_OK;
}

void gw_cfg_endpoint_free(gw_cfg_provider_t *p)
{
    gw_free(p->base_url);
    gw_free(p->host);
    gw_free(p->base_path);
    memset(p, 0, sizeof(*p));
}

gw_err_t gw__cfg_parse_listen(const char *s, char **host, uint16_t *port)
{
    const char *hs, *he, *ps, *why;
    const char *e = s + strlen(s);
    if (split_hostport(s, e, &hs, &he, &ps, &why) != GW_OK || ps == NULL)
        return GW_EINVAL;
    if ((*port = parse_port(ps, e)) == 0)
        return GW_EINVAL;
    *host = gw_strndup(hs, (size_t)(he - hs));
    return *host != NULL ? GW_OK : GW_ENOMEM;
}

int gw__cfg_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return 0;
}

int gw__cfg_key_hash_ok(const char *s)
{
    static const char prefix[] = "blake2b:";
    if (strncmp(s, prefix, sizeof prefix - 1) != 0)
        return 0;
    s += sizeof prefix - 1;
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!isxdigit((unsigned char)s[n]))
            return 0;
    return n == 64;
}

/* Length of a variable name at s (inside "${...}"), 0 if not a name. */
static size_t var_name_len(const char *s, const char *e)
{
    size_t n = 0;
    if (s >= e || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    while (s + n < e && (isalnum((unsigned char)s[n]) || s[n] == '_'))
        n++;
    return n;
}

/* Appends n bytes at *len when out is not NULL (bounded by cap). */
static int emit(char *out, size_t cap, size_t *len, const char *p, size_t n)
{
    if (out != NULL) {
        if (n > cap - *len)
            return 0; /* the environment changed between the passes */
        memcpy(out + *len, p, n);
    }
    *len += n;
    return 1;
}

/* One expansion pass: when out is NULL only measures into *total. */
static gw_err_t expand_pass(const char *s, size_t len, char *out, size_t cap, size_t *total, char *name,
                            size_t namecap)
{
    const char *p = s, *e = s + len;
    size_t n = 0;
    while (p < e) {
        int ok;
        if (p + 2 < e && p[0] == '$' && p[1] == '$' && p[2] == '{') {
            ok = emit(out, cap, &n, "${", 2);
            p += 3;
        } else if (!(p + 1 < e && p[0] == '$' && p[1] == '{')) {
            ok = emit(out, cap, &n, p, 1);
            p++;
        } else {
            size_t vl = var_name_len(p + 2, e);
            char var[128];
            if (vl == 0 || vl >= sizeof var || p + 2 + vl >= e || p[2 + vl] != '}')
                return GW_EINVAL;
            memcpy(var, p + 2, vl);
            var[vl] = '\0';
            const char *val = getenv(var);
            if (val == NULL) {
                if (namecap > 0)
                    snprintf(name, namecap, "%s", var);
                return GW_ENOTFOUND;
            }
            ok = emit(out, cap, &n, val, strlen(val));
            p += 3 + vl;
        }
        if (!ok)
            return GW_EINVAL;
    }
    *total = n;
    return GW_OK;
}

gw_err_t gw_config_expand_env(const char *s, size_t len, char **out, char *name, size_t namecap)
{
    size_t total = 0;
    *out = NULL;
    gw_err_t rc = expand_pass(s, len, NULL, 0, &total, name, namecap);
    if (rc != GW_OK)
        return rc;
    /* Measured first and allocated once, so no partial copy of a secret is
     * left behind in memory freed by a realloc. */
    char *buf = gw_malloc(total + 1);
    if (buf == NULL)
        return GW_ENOMEM;
    rc = expand_pass(s, len, buf, total, &total, name, namecap);
    if (rc != GW_OK) {
        gw_free(buf);
        return rc;
    }
    buf[total] = '\0';
    *out = buf;
    return GW_OK;
}
