/* hyper2kvm version */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int
run_version(cli_env *env, const cli_parsed *p)
{
    (void)p;
    if (env->json)
        printf("{\"version\": \"%s\"}\n", h2k_version());
    else
        printf("hyper2kvm %s\n", h2k_version());
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_version = {
    "version", NULL, "print the version", 0, 0, NULL, run_version,
};
