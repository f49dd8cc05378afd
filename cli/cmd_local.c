/* hyper2kvm local: migrate one VM from local files (disks, .ova, .ovf, .vmx). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_option local_options[] = {
    {OPT_INPUT, "input", 0, NULL, "PATH", NULL, CLI_OPT_REPEAT | CLI_OPT_FILE,
     "a disk image (one per disk), or one .ova, .ovf or .vmx"},
    {0},
};

static const cli_option *const local_tables[] = {
    local_options,
    cli_migration_options,
    cli_repair_options,
    NULL,
};

static int
run_local(cli_env *env, const cli_parsed *p)
{
    cli_migration m;
    cli_migration_init(&m);
    int rc = 0;
    for (size_t i = 0; i < p->n_items && rc == 0; i++) {
        const cli_item *it = &p->items[i];
        if (it->opt->id == OPT_INPUT) {
            const char **a = realloc(m.inputs, (m.n_inputs + 1) * sizeof(*a));
            if (!a) {
                rc = cli_exit_code(H2K_ERR_NO_MEMORY);
                break;
            }
            m.inputs = a;
            m.inputs[m.n_inputs++] = it->value;
            continue;
        }
        int r = cli_migration_apply(p->cmd, &m, it);
        if (r > 1 || r < 0)
            rc = r < 0 ? CLI_EXIT_USAGE : r;
    }
    if (rc == 0 && m.n_inputs == 0)
        rc = cli_usage_error(p->cmd, "--input is required");
    if (rc == 0)
        rc = cli_migration_finish(p->cmd, &m, true);
    if (rc == 0)
        rc = cli_run_migration(env, &m.ro);
    cli_migration_free(&m);
    return rc;
}

const cli_command cli_cmd_local = {
    "local",      NULL,      "migrate one VM from local files (disks, .ova, .ovf, .vmx)", 0, 0,
    local_tables, run_local,
};
