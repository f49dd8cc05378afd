/* What the commands that migrate from a remote source (vsphere, azure) share:
 * the options beyond their own table, the checks of the combination, reading
 * the secret, and converting the fetched disks of --export-only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

int
cli_source_apply(const cli_command *cmd, cli_migration *m, const cli_item *it, bool *migration_opt)
{
    if (it->opt->id == OPT_KEEP_EXPORT) {
        m->ro.keep_export = 1;
        *migration_opt = true;
        return 0;
    }
    int r = cli_migration_apply(cmd, m, it);
    if (r > 1 || r < 0)
        return r < 0 ? CLI_EXIT_USAGE : r;
    if (r == 1 && it->opt->id != OPT_OUTPUT_DIR)
        *migration_opt = true;
    return 0;
}

const char *
cli_source_check(bool list, const char *vm, bool export_only, bool migration_opt)
{
    if (list == (vm != NULL))
        return "give exactly one of --list or --vm";
    if (export_only && migration_opt)
        return "--export-only takes no migration option";
    if (!vm && migration_opt)
        return "migration options need --vm";
    return NULL;
}

int
cli_source_secret(const cli_command *cmd, const char *var, const char *file, const char *what,
                  char **out)
{
    *out = NULL;
    if (var) {
        /* no child process (qemu-img, qemu, virt-v2v) inherits it */
        int r = cli_take_secret_env(var, out);
        if (r == -1 || (*out && !**out)) {
            cli_secret_free(*out);
            *out = NULL;
            return cli_usage_error(cmd, "the environment variable %s (the %s) is not set", var,
                                   what);
        }
        if (!*out)
            return cli_exit_code(H2K_ERR_NO_MEMORY);
        return 0;
    }
    *out = cli_read_secret_file(file, what);
    return *out ? 0 : CLI_EXIT_USAGE;
}

int
cli_convert_fetched(cli_env *env, const char *src, const char *dst, int overwrite, size_t idx,
                    struct json_object *disks)
{
    h2k_convert_options co = H2K_CONVERT_OPTIONS_INIT;
    co.overwrite = overwrite;
    h2k_convert_result *cr = NULL;
    int rc = h2k_disk_convert(env->ctx, src, dst, &co, &cr);
    if (rc == 0) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "source", json_object_new_string(src));
        json_object_object_add(d, "output", json_object_new_string(dst));
        json_object_object_add(d, "virtual_size", json_object_new_int64((int64_t)cr->virtual_size));
        json_object_array_add(disks, d);
        if (!env->json && !env->quiet)
            printf("disk %zu: %s -> %s\n", idx + 1, cli_safe(env, src), cli_safe(env, dst));
    }
    h2k_convert_result_free(cr);
    return rc;
}
