/* hyper2kvm command-line tool: global options and command dispatch. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The one context a signal cancels: the process runs one command. */
static h2k_ctx *volatile signal_ctx;

static void
on_signal(int sig)
{
    (void)sig;
    h2k_ctx *ctx = signal_ctx;
    if (ctx)
        h2k_ctx_cancel(ctx);
}

int
main(int argc, char **argv)
{
    /* the global options before the command: every word up to the first that
     * is neither an option nor the value of --allow-path */
    int ci = 1;
    while (ci < argc && argv[ci][0] == '-' && strcmp(argv[ci], "--") != 0) {
        if (strcmp(argv[ci], "--version") == 0) {
            printf("hyper2kvm %s\n", h2k_version());
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[ci], "--allow-path") == 0)
            ci++;
        ci++;
    }
    if (ci > argc)
        ci = argc;
    cli_parsed pre;
    if (cli_parse(NULL, ci - 1, argv + 1, &pre) != 0) {
        cli_parsed_free(&pre);
        return CLI_EXIT_USAGE;
    }
    if (ci >= argc || strcmp(argv[ci], "--") == 0) {
        bool help = pre.help;
        cli_parsed_free(&pre);
        cli_print_usage(help ? stdout : stderr);
        return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    const cli_command *cmd = cli_find_command(argv[ci]);
    if (!cmd) {
        cli_parsed_free(&pre);
        fprintf(stderr, "hyper2kvm: unknown command '%s'\n", argv[ci]);
        cli_print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (pre.help) {
        /* "hyper2kvm --help CMD ...": the command's help, whatever follows */
        cli_parsed_free(&pre);
        cli_print_help(stdout, cmd);
        return CLI_EXIT_OK;
    }
    cli_parsed p;
    int rc = cli_parse(cmd, argc - ci - 1, argv + ci + 1, &p);
    if (rc != 0 || p.help) {
        if (rc == 0)
            cli_print_help(stdout, cmd);
        cli_parsed_free(&p);
        cli_parsed_free(&pre);
        return rc;
    }
    cli_env env = {0};
    if (h2k_ctx_new(&env.ctx) < 0) {
        fprintf(stderr, "hyper2kvm: out of memory\n");
        cli_parsed_free(&p);
        cli_parsed_free(&pre);
        return cli_exit_code(H2K_ERR_NO_MEMORY);
    }
    cli_apply_globals(&env, &pre, 0);
    cli_apply_globals(&env, &p, 0);
    rc = cli_apply_globals(&env, &pre, 1);
    if (rc == 0)
        rc = cli_apply_globals(&env, &p, 1);
    if (rc == 0) {
        signal_ctx = env.ctx;
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        cli_setup_output(&env);
        /* libvirt's errors reach the user through the context's error, not
         * through libvirt's own stderr printer */
        h2k_output_quiet_libvirt_stderr();
        rc = cmd->run(&env, &p);
        cli_progress_finish(&env);
        signal_ctx = NULL;
    }
    h2k_ctx_free(env.ctx);
    cli_env_release(&env);
    cli_parsed_free(&p);
    cli_parsed_free(&pre);
    return rc;
}
