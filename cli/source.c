/* What the commands that migrate from a remote source (vsphere, azure) share:
 * the options beyond their own table, the checks of the combination, reading
 * the secret, and converting the fetched disks of --export-only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

int
cli_source_apply(const cli_command *cmd, cli_migration *m, const cli_item *it, cli_source_args *a)
{
    const char *v = it->value;
    unsigned long n;
    switch (it->opt->id) {
    case OPT_LIST:
        a->list = true;
        return 0;
    case OPT_VM:
        a->vm = v;
        return 0;
    case OPT_EXPORT_ONLY:
        a->export_only = true;
        return 0;
    case OPT_INSECURE:
        a->insecure = 1;
        return 0;
    case OPT_CA_FILE:
        a->ca_file = v;
        return 0;
    case OPT_SNAPSHOT:
        a->snapshot = true;
        return 0;
    case OPT_STREAMS:
        if (!cli_parse_uint(v, 1, 16, &n))
            return cli_usage_error(cmd, "--streams takes 1..16, not '%s'", v);
        a->streams = (unsigned)n;
        return 0;
    case OPT_KEEP_EXPORT:
        m->ro.keep_export = 1;
        a->migration_opt = true;
        return 0;
    default:
        break;
    }
    int r = cli_migration_apply(cmd, m, it);
    if (r > 1 || r < 0)
        return r < 0 ? CLI_EXIT_USAGE : r;
    if (r == 1 && it->opt->id != OPT_OUTPUT_DIR)
        a->migration_opt = true;
    return 0;
}

const char *
cli_source_check(const cli_source_args *a)
{
    if (a->list == (a->vm != NULL))
        return "give exactly one of --list or --vm";
    if (a->export_only && a->migration_opt)
        return "--export-only takes no migration option";
    if (!a->vm && a->migration_opt)
        return "migration options need --vm";
    return NULL;
}

int
cli_source_ready(const cli_command *cmd, cli_migration *m, const cli_source_args *a,
                 const char *bad, const char *var, const char *file, const char *what,
                 char **secret)
{
    *secret = NULL;
    int rc = 0;
    if (bad)
        rc = cli_usage_error(cmd, "%s", bad);
    else if (a->vm && !a->export_only)
        rc = cli_migration_finish(cmd, m, true);
    if (rc == 0 && (var || file))
        rc = cli_source_secret(cmd, var, file, what, secret);
    if (rc != 0)
        cli_migration_free(m);
    return rc;
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

void
cli_source_print_fetched(json_object *o, uint64_t bytes_downloaded, uint64_t bytes_resumed,
                         json_object *disks)
{
    json_object_object_add(o, "bytes_downloaded", json_object_new_int64((int64_t)bytes_downloaded));
    json_object_object_add(o, "bytes_resumed", json_object_new_int64((int64_t)bytes_resumed));
    json_object_object_add(o, "disks", disks);
    cli_print_json_free(o);
}

json_object *
cli_source_vm_json(const char *name, const char *power_state)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(name));
    cli_json_add_string(o, "power_state", power_state);
    return o;
}
