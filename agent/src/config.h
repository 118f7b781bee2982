/* Sandbox-wide settings from CONFIGURE, and the environment every EXEC starts from. */
#pragma once

#include "frame.h"

/* The environment for an EXEC: CONFIGURE's defaults with the request's `env` on top,
 * plus a default PATH when neither sets one. NULL (and *bad set to the offending
 * entry) when an entry is not KEY=VALUE. Free with env_free. */
char **config_build_env(const struct msg *m, struct str *bad);
void env_free(char **env);
