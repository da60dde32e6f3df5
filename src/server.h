/* server.h - `llmgw serve`. */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include "config.h"

/* Runs the server until SIGTERM/SIGINT has drained it. Takes ownership of
 * cfg. config_path (may be NULL) is re-read on SIGHUP. Returns the exit
 * code: 0 after a clean drain, 1 when it could not start. */
int gw_serve(gw_config_t *cfg, const char *config_path);

#endif
