/* hyper2kvm command-line tool: shared declarations. */
#ifndef H2K_CLI_H
#define H2K_CLI_H

#include <stdbool.h>

#include <hyper2kvm.h>

/* Exit codes: 0 success, 2 usage error, otherwise 10 + |h2k_code|
 * (see docs/hyper2kvm.1). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_USAGE 2
int cli_exit_code(int h2k_code);

typedef struct cli_env {
    h2k_ctx *ctx;
    bool json;      /* --json: results as JSON on stdout, events as JSON lines on stderr */
    int verbose;    /* -v count */
    bool quiet;
} cli_env;

/* Sets up logging and progress output on env->ctx according to the flags. */
void cli_setup_output(cli_env *env);
/* Ends a progress bar line if one is drawn. */
void cli_progress_finish(void);
/* Reports the context's last error (text on stderr, or JSON on stdout) and
 * returns the exit code for @rc. */
int cli_report_error(cli_env *env, int rc);
/* Prints a JSON document on stdout followed by a newline. */
void cli_print_json(const char *json);

/* Parses a size like "2048", "2G", "512M" into bytes; false when invalid. */
bool cli_parse_size(const char *s, unsigned long long *out);

int cmd_version(cli_env *env, int argc, char **argv);
int cmd_probe(cli_env *env, int argc, char **argv);
int cmd_convert(cli_env *env, int argc, char **argv);
int cmd_ovf(cli_env *env, int argc, char **argv);
int cmd_inspect(cli_env *env, int argc, char **argv);
int cmd_fix(cli_env *env, int argc, char **argv);
int cmd_xml(cli_env *env, int argc, char **argv);
int cmd_test(cli_env *env, int argc, char **argv);
int cmd_vsphere(cli_env *env, int argc, char **argv);
int cmd_azure(cli_env *env, int argc, char **argv);
int cmd_local(cli_env *env, int argc, char **argv);
int cmd_batch(cli_env *env, int argc, char **argv);
/* Parses "all", "none" or a list of repair names into bits; -1 when unknown. */
int cli_parse_fixes(const char *s, unsigned *out);
/* Parses "SRC=network:NAME" or "SRC=bridge:NAME" (SRC "*": every NIC); @arg is
 * modified and referenced by *m.  False when malformed. */
bool cli_parse_network_map(char *arg, h2k_network_mapping *m);
/* Prints the outcome of a migration for people (stdout). */
void cli_print_migration_summary(const h2k_migration_result *res);
/* Runs the migration @opts describes and prints its result (JSON or summary);
 * returns the exit code (shared by "local" and "vsphere --vm"). */
int cli_run_migration(cli_env *env, const h2k_run_options *opts);

#endif
