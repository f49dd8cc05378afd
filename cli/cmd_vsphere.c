/* hyper2kvm vsphere: list the VMs of a vCenter/ESXi server, migrate one (export, repair,
 * copy, libvirt XML, optional boot test), or only export it and convert its disks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

static int
print_list(cli_env *env, h2k_vmware_client *client)
{
    h2k_vmware_vm_info *vms = NULL;
    size_t n = 0;
    int rc = h2k_vmware_list_vms(client, &vms, &n);
    if (rc < 0)
        return cli_report_error(env, rc);
    if (env->json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            json_object *o = cli_source_vm_json(vms[i].name, vms[i].power_state);
            cli_json_add_string(o, "uuid", vms[i].uuid);
            cli_json_add_string(o, "path", vms[i].path);
            json_object_object_add(o, "moref", json_object_new_string(vms[i].moref));
            json_object_array_add(arr, o);
        }
        cli_print_json_free(arr);
    } else {
        printf("%-32s %-11s %-36s %s\n", "NAME", "POWER", "UUID", "PATH");
        for (size_t i = 0; i < n; i++)
            printf("%-32s %-11s %-36s %s\n", cli_safe(env, vms[i].name),
                   cli_safe(env, vms[i].power_state), cli_safe(env, vms[i].uuid),
                   cli_safe(env, vms[i].path));
    }
    h2k_vmware_vm_list_free(vms, n);
    return CLI_EXIT_OK;
}

static int
export_and_convert(cli_env *env, h2k_vmware_client *client, const char *vm, const char *outdir,
                   const char *transport)
{
    h2k_vmware_export_result *res = NULL;
    int rc = h2k_vmware_export_vm(client, vm, outdir, transport, &res);
    if (rc < 0)
        return cli_report_error(env, rc);
    json_object *disks = json_object_new_array();
    for (size_t i = 0; i < res->n_disks; i++) {
        char *dst = NULL;
        size_t l = strlen(res->output_dir) + strlen(vm) + 32;
        dst = malloc(l);
        if (!dst) {
            rc = H2K_ERR_NO_MEMORY;
            break;
        }
        snprintf(dst, l, "%s/%s-disk%zu.qcow2", res->output_dir, vm, i + 1);
        for (char *p = dst + strlen(res->output_dir) + 1; *p; p++)
            if (*p == '/')
                *p = '_';
        rc = cli_convert_fetched(env, res->disk_paths[i], dst, 1, i, disks);
        free(dst);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        json_object_put(disks);
        h2k_vmware_export_result_free(res);
        return cli_report_error(env, rc);
    }
    if (env->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "vm", json_object_new_string(res->vm_name));
        json_object_object_add(o, "transport", json_object_new_string(res->transport));
        json_object_object_add(o, "output_dir", json_object_new_string(res->output_dir));
        json_object_object_add(o, "ovf", json_object_new_string(res->ovf_path));
        json_object_object_add(o, "snapshot", json_object_new_boolean(res->used_snapshot));
        cli_source_print_fetched(o, res->bytes_downloaded, res->bytes_resumed, disks);
    } else {
        json_object_put(disks);
        if (!env->quiet)
            printf("exported %s over %s to %s (OVF %s)\n", cli_safe(env, res->vm_name),
                   res->transport, cli_safe(env, res->output_dir), cli_safe(env, res->ovf_path));
    }
    h2k_vmware_export_result_free(res);
    return CLI_EXIT_OK;
}

static const cli_option vsphere_options[] = {
    {OPT_VCENTER, "vcenter", 0, NULL, "HOST[:PORT]", NULL, 0, "vCenter or ESXi server"},
    {OPT_USER, "user", 0, NULL, "USER", NULL, 0, "user name"},
    {OPT_PASSWORD_ENV, "password-env", 0, NULL, "VAR", NULL, 0,
     "read the password from environment variable VAR (then removed from the environment)"},
    {OPT_PASSWORD_FILE, "password-file", 0, NULL, "FILE", NULL, CLI_OPT_FILE,
     "read the password from the first line of FILE"},
    {OPT_DATACENTER, "datacenter", 0, NULL, "DC", NULL, 0, "datacenter (default: the only one)"},
    {OPT_TRANSPORT, "transport", 0, NULL, "NAME", "http|nfc|vddk", 0,
     "how disks are fetched (default http)"},
    {OPT_THUMBPRINT, "thumbprint", 0, NULL, "AA:BB:..", NULL, 0,
     "accept the server certificate with this SHA-1 thumbprint"},
    {OPT_VDDK_LIBDIR, "vddk-libdir", 0, NULL, "DIR", NULL, CLI_OPT_DIR,
     "folder of the VDDK library (--transport vddk)"},
    {0},
};

static const cli_option *const vsphere_tables[] = {
    vsphere_options, cli_source_options, cli_migration_options, cli_repair_options, NULL,
};

static int
run_vsphere(cli_env *env, const cli_parsed *p)
{
    cli_migration m;
    cli_migration_init(&m);
    cli_source_args a = {0};
    h2k_vmware_options o = H2K_VMWARE_OPTIONS_INIT;
    const char *pw_env = NULL, *pw_file = NULL, *transport = "http";
    int rc = 0;
    for (size_t i = 0; i < p->n_items && rc == 0; i++) {
        const cli_item *it = &p->items[i];
        const char *v = it->value;
        switch (it->opt->id) {
        case OPT_VCENTER:
            o.host = v;
            break;
        case OPT_USER:
            o.user = v;
            break;
        case OPT_PASSWORD_ENV:
            pw_env = v;
            break;
        case OPT_PASSWORD_FILE:
            pw_file = v;
            break;
        case OPT_DATACENTER:
            o.datacenter = v;
            break;
        case OPT_TRANSPORT:
            transport = v;
            break;
        case OPT_THUMBPRINT:
            o.thumbprint = v;
            break;
        case OPT_VDDK_LIBDIR:
            o.vddk_libdir = v;
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
    o.ca_file = a.ca_file;
    o.insecure = a.insecure;
    if (a.snapshot)
        o.powered_on = H2K_VMWARE_POWERED_ON_SNAPSHOT;
    if (a.streams)
        o.parallel_streams = a.streams;
    const char *bad = NULL;
    if (!o.host || !o.user)
        bad = "--vcenter and --user are required";
    else if (!pw_env == !pw_file)
        bad = "give exactly one of --password-env or --password-file";
    else
        bad = cli_source_check(&a);
    char *password = NULL;
    if ((rc = cli_source_ready(p->cmd, &m, &a, bad, pw_env, pw_file, "password", &password)) != 0)
        return rc;
    o.password = password;
    h2k_vmware_client *client = NULL;
    rc = h2k_vmware_client_new(env->ctx, &o, &client);
    cli_secret_free(password);
    if (rc < 0) {
        cli_migration_free(&m);
        return cli_report_error(env, rc);
    }
    int exit_code;
    if (a.list) {
        exit_code = print_list(env, client);
    } else if (a.export_only) {
        exit_code = export_and_convert(env, client, a.vm, m.ro.output_dir ? m.ro.output_dir : ".",
                                       transport);
    } else {
        m.ro.vmware_vm = a.vm;
        m.ro.vmware_transport = transport;
        m.ro.vmware = client;
        exit_code = cli_run_migration(env, &m.ro);
    }
    h2k_vmware_client_free(client);
    cli_migration_free(&m);
    return exit_code;
}

const cli_command cli_cmd_vsphere = {
    "vsphere",
    NULL,
    "list the VMs of a vCenter/ESXi server, migrate one, or export it (--export-only)",
    0,
    0,
    vsphere_tables,
    run_vsphere,
};
