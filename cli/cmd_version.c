/* hyper2kvm version */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
cmd_version(cli_env *env, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            env->json = true;
        else {
            fprintf(stderr, "hyper2kvm version: unknown argument %s\n", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (env->json)
        printf("{\"version\": \"%s\"}\n", h2k_version());
    else
        printf("hyper2kvm %s\n", h2k_version());
    return CLI_EXIT_OK;
}
