/* hyper2kvm azure: list the VMs of an Azure resource group, migrate one (download its
 * managed disks, repair, copy, libvirt XML, optional boot test), or only download it and
 * convert its disks.  The client secret comes from an environment variable (unset once
 * read) or a file, never from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

static int
print_list(cli_env *env, h2k_azure_client *client)
{
    h2k_azure_vm *vms = NULL;
    size_t n = 0;
    int rc = h2k_azure_list_vms(client, &vms, &n);
    if (rc < 0)
        return cli_report_error(env, rc);
    if (env->json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            json_object *o = cli_source_vm_json(vms[i].name, vms[i].power_state);
            cli_json_add_string(o, "vm_size", vms[i].vm_size);
            cli_json_add_string(o, "os_type", vms[i].os_type);
            cli_json_add_string(o, "location", vms[i].location);
            cli_json_add_string(o, "id", vms[i].id);
            json_object_array_add(arr, o);
        }
        cli_print_json_free(arr);
    } else {
        printf("%-32s %-12s %-20s %-8s %s\n", "NAME", "POWER", "SIZE", "OS", "LOCATION");
        for (size_t i = 0; i < n; i++)
            printf("%-32s %-12s %-20s %-8s %s\n", cli_safe(env, vms[i].name),
                   cli_safe(env, vms[i].power_state), cli_safe(env, vms[i].vm_size),
                   cli_safe(env, vms[i].os_type), cli_safe(env, vms[i].location));
    }
    h2k_azure_vm_list_free(vms, n);
    return CLI_EXIT_OK;
}

static int
download_and_convert(cli_env *env, h2k_azure_client *client, const char *vm, const char *outdir,
                     bool convert)
{
    h2k_azure_download_result *res = NULL;
    int rc = h2k_azure_download_vm(client, vm, outdir, &res);
    if (rc < 0)
        return cli_report_error(env, rc);
    json_object *disks = json_object_new_array();
    for (size_t i = 0; i < res->n_disks; i++) {
        const char *src = res->disk_paths[i];
        if (!convert) {
            json_object *d = json_object_new_object();
            json_object_object_add(d, "source", json_object_new_string(src));
            json_object_array_add(disks, d);
            if (!env->json && !env->quiet)
                printf("disk %zu: %s\n", i + 1, cli_safe(env, src));
            continue;
        }
        size_t l = strlen(src);
        char *dst = malloc(l + 8);
        if (!dst) {
            rc = H2K_ERR_NO_MEMORY;
            break;
        }
        memcpy(dst, src, l + 1);
        if (l > 4 && strcmp(dst + l - 4, ".vhd") == 0)
            dst[l - 4] = '\0';
        strcat(dst, ".qcow2");
        rc = cli_convert_fetched(env, src, dst, 0, i, disks);
        free(dst);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        json_object_put(disks);
        h2k_azure_download_result_free(res);
        return cli_report_error(env, rc);
    }
    if (env->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "vm", json_object_new_string(res->vm_name));
        json_object_object_add(o, "output_dir", json_object_new_string(res->output_dir));
        json_object_object_add(o, "snapshot", json_object_new_boolean(res->used_snapshot));
        json_object_object_add(o, "disk_bytes", json_object_new_int64((int64_t)res->disk_bytes));
        json_object_object_add(o, "allocated_bytes",
                               json_object_new_int64((int64_t)res->allocated_bytes));
        cli_source_print_fetched(o, res->bytes_downloaded, res->bytes_resumed, disks);
    } else {
        json_object_put(disks);
        if (!env->quiet)
            printf("downloaded %s to %s: %llu bytes fetched of %llu allocated (disks: %llu "
                   "bytes)\n",
                   cli_safe(env, res->vm_name), cli_safe(env, res->output_dir),
                   (unsigned long long)res->bytes_downloaded,
                   (unsigned long long)res->allocated_bytes, (unsigned long long)res->disk_bytes);
    }
    h2k_azure_download_result_free(res);
    return CLI_EXIT_OK;
}

static const cli_option azure_options[] = {
    {OPT_AZ_SUBSCRIPTION, "subscription", 0, NULL, "ID", NULL, 0, "subscription id"},
    {OPT_AZ_RESOURCE_GROUP, "resource-group", 0, NULL, "RG", NULL, 0, "resource group"},
    {OPT_AZ_TENANT, "tenant", 0, NULL, "ID", NULL, 0, "tenant (directory) id"},
    {OPT_AZ_CLIENT_ID, "client-id", 0, NULL, "ID", NULL, 0,
     "application (client) id, or the managed identity's"},
    {OPT_AZ_SECRET_ENV, "client-secret-env", 0, NULL, "VAR", NULL, 0,
     "read the client secret from environment variable VAR (then removed from the "
     "environment)"},
    {OPT_AZ_SECRET_FILE, "client-secret-file", 0, NULL, "FILE", NULL, CLI_OPT_FILE,
     "read the client secret from the first line of FILE"},
    {OPT_AZ_MANAGED_IDENTITY, "managed-identity", 0, NULL, NULL, NULL, 0,
     "authenticate as the host's managed identity"},
    {OPT_AZ_AUTHORITY_HOST, "authority-host", 0, NULL, "URL", NULL, 0,
     "token authority (sovereign clouds, tests)"},
    {OPT_AZ_RESOURCE_MANAGER, "resource-manager", 0, NULL, "URL", NULL, 0,
     "Azure Resource Manager endpoint (sovereign clouds, tests)"},
    {OPT_AZ_DOWNLOAD_ONLY, "download-only", 0, NULL, NULL, NULL, 0,
     "only download the disks (fixed VHDs) into --output-dir (with --vm)"},
    {0},
};

static const cli_option *const azure_tables[] = {
    azure_options, cli_source_options, cli_migration_options, cli_repair_options, NULL,
};

static int
run_azure(cli_env *env, const cli_parsed *p)
{
    cli_migration m;
    cli_migration_init(&m);
    cli_source_args a = {0};
    bool download_only = false;
    h2k_azure_config cfg = H2K_AZURE_CONFIG_INIT;
    const char *secret_env = NULL, *secret_file = NULL;
    int rc = 0;
    for (size_t i = 0; i < p->n_items && rc == 0; i++) {
        const cli_item *it = &p->items[i];
        const char *v = it->value;
        switch (it->opt->id) {
        case OPT_AZ_SUBSCRIPTION:
            cfg.subscription_id = v;
            break;
        case OPT_AZ_RESOURCE_GROUP:
            cfg.resource_group = v;
            break;
        case OPT_AZ_TENANT:
            cfg.tenant_id = v;
            break;
        case OPT_AZ_CLIENT_ID:
            cfg.client_id = v;
            break;
        case OPT_AZ_SECRET_ENV:
            secret_env = v;
            break;
        case OPT_AZ_SECRET_FILE:
            secret_file = v;
            break;
        case OPT_AZ_MANAGED_IDENTITY:
            cfg.auth = H2K_AZURE_AUTH_MANAGED_IDENTITY;
            break;
        case OPT_AZ_AUTHORITY_HOST:
            cfg.authority_host = v;
            break;
        case OPT_AZ_RESOURCE_MANAGER:
            cfg.resource_manager = v;
            break;
        case OPT_AZ_DOWNLOAD_ONLY:
            a.export_only = download_only = true;
            break;
        default:
            rc = cli_source_apply(p->cmd, &m, it, &a);
            break;
        }
    }
    if (rc) {
        cli_migration_free(&m);
        return rc;
    }
    cfg.ca_file = a.ca_file;
    cfg.insecure = a.insecure;
    if (a.snapshot)
        cfg.running = H2K_AZURE_RUNNING_SNAPSHOT;
    if (a.streams)
        cfg.parallel_streams = a.streams;
    bool mi = cfg.auth == H2K_AZURE_AUTH_MANAGED_IDENTITY;
    const char *bad = NULL;
    if (!cfg.subscription_id || !cfg.resource_group)
        bad = "--subscription and --resource-group are required";
    else if (mi && (secret_env || secret_file || cfg.tenant_id))
        bad = "--managed-identity takes no --tenant nor client secret";
    else if (!mi && (!cfg.tenant_id || !cfg.client_id))
        bad = "--tenant and --client-id are required (or --managed-identity)";
    else if (!mi && !secret_env == !secret_file)
        bad = "give exactly one of --client-secret-env or --client-secret-file";
    else
        bad = cli_source_check(&a);
    if (!bad && a.export_only && !m.ro.output_dir)
        bad = "--export-only and --download-only need --output-dir";
    char *secret = NULL;
    if ((rc = cli_source_ready(p->cmd, &m, &a, bad, secret_env, secret_file, "client secret",
                               &secret)) != 0)
        return rc;
    cfg.client_secret = secret;
    h2k_azure_client *client = NULL;
    rc = h2k_azure_client_new(env->ctx, &cfg, &client);
    cli_secret_free(secret);
    if (rc < 0) {
        cli_migration_free(&m);
        return cli_report_error(env, rc);
    }
    int exit_code;
    if (a.list) {
        exit_code = print_list(env, client);
    } else if (a.export_only) {
        exit_code = download_and_convert(env, client, a.vm, m.ro.output_dir, !download_only);
    } else {
        m.ro.azure = client;
        m.ro.azure_vm = a.vm;
        exit_code = cli_run_migration(env, &m.ro);
    }
    h2k_azure_client_free(client);
    cli_migration_free(&m);
    return exit_code;
}

const cli_command cli_cmd_azure = {
    "azure",
    NULL,
    "list the VMs of an Azure resource group, migrate one, or download it (--export-only)",
    0,
    0,
    azure_tables,
    run_azure,
};
