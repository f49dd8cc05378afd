/* hyper2kvm vsphere: list the VMs of a vCenter/ESXi server, or export one and convert its disks. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

static const char usage_text[] =
    "usage: hyper2kvm vsphere --vcenter HOST[:PORT] --user USER\n"
    "         (--password-env VAR | --password-file FILE) [--datacenter DC]\n"
    "         (--list | --vm NAME) [--output-dir DIR] [--transport http|nfc|vddk]\n"
    "         [--insecure] [--ca-file FILE] [--thumbprint AA:BB:..] [--snapshot]\n"
    "         [--vddk-libdir DIR] [--streams N] [--json]\n";

/* Reads the first line of @path into a malloc'd string (no newline). */
static char *
read_password_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "hyper2kvm: cannot read the password file %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n < 0) {
        free(line);
        fprintf(stderr, "hyper2kvm: the password file %s is empty\n", path);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

static void
wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

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
            json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(vms[i].name));
            json_object_object_add(o, "power_state",
                                   vms[i].power_state ? json_object_new_string(vms[i].power_state)
                                                      : NULL);
            json_object_object_add(o, "uuid",
                                   vms[i].uuid ? json_object_new_string(vms[i].uuid) : NULL);
            json_object_object_add(o, "path",
                                   vms[i].path ? json_object_new_string(vms[i].path) : NULL);
            json_object_object_add(o, "moref", json_object_new_string(vms[i].moref));
            json_object_array_add(arr, o);
        }
        cli_print_json(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
        json_object_put(arr);
    } else {
        printf("%-32s %-11s %-36s %s\n", "NAME", "POWER", "UUID", "PATH");
        for (size_t i = 0; i < n; i++)
            printf("%-32s %-11s %-36s %s\n", vms[i].name,
                   vms[i].power_state ? vms[i].power_state : "-", vms[i].uuid ? vms[i].uuid : "-",
                   vms[i].path ? vms[i].path : "-");
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
        h2k_convert_options co = H2K_CONVERT_OPTIONS_INIT;
        co.overwrite = 1;
        h2k_convert_result *cr = NULL;
        rc = h2k_disk_convert(env->ctx, res->disk_paths[i], dst, &co, &cr);
        if (rc == 0) {
            json_object *d = json_object_new_object();
            json_object_object_add(d, "source", json_object_new_string(res->disk_paths[i]));
            json_object_object_add(d, "output", json_object_new_string(dst));
            json_object_object_add(d, "virtual_size", json_object_new_int64((int64_t)cr->virtual_size));
            json_object_array_add(disks, d);
            if (!env->json && !env->quiet)
                printf("disk %zu: %s -> %s\n", i + 1, res->disk_paths[i], dst);
        }
        h2k_convert_result_free(cr);
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
        json_object_object_add(o, "bytes_downloaded",
                               json_object_new_int64((int64_t)res->bytes_downloaded));
        json_object_object_add(o, "bytes_resumed",
                               json_object_new_int64((int64_t)res->bytes_resumed));
        json_object_object_add(o, "disks", disks);
        cli_print_json(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
        json_object_put(o);
    } else {
        json_object_put(disks);
        if (!env->quiet)
            printf("exported %s over %s to %s (OVF %s)\n", res->vm_name, res->transport,
                   res->output_dir, res->ovf_path);
    }
    h2k_vmware_export_result_free(res);
    return CLI_EXIT_OK;
}

int
cmd_vsphere(cli_env *env, int argc, char **argv)
{
    enum { O_VC = 1000, O_USER, O_PWENV, O_PWFILE, O_DC, O_LIST, O_VM, O_OUT, O_TRANSPORT,
           O_INSECURE, O_CA, O_TP, O_SNAP, O_JSON, O_VDDK, O_STREAMS, O_HELP };
    static const struct option opts[] = {
        { "vcenter", required_argument, NULL, O_VC },
        { "user", required_argument, NULL, O_USER },
        { "password-env", required_argument, NULL, O_PWENV },
        { "password-file", required_argument, NULL, O_PWFILE },
        { "datacenter", required_argument, NULL, O_DC },
        { "list", no_argument, NULL, O_LIST },
        { "vm", required_argument, NULL, O_VM },
        { "output-dir", required_argument, NULL, O_OUT },
        { "transport", required_argument, NULL, O_TRANSPORT },
        { "insecure", no_argument, NULL, O_INSECURE },
        { "ca-file", required_argument, NULL, O_CA },
        { "thumbprint", required_argument, NULL, O_TP },
        { "snapshot", no_argument, NULL, O_SNAP },
        { "json", no_argument, NULL, O_JSON },
        { "vddk-libdir", required_argument, NULL, O_VDDK },
        { "streams", required_argument, NULL, O_STREAMS },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    h2k_vmware_options o = H2K_VMWARE_OPTIONS_INIT;
    const char *pw_env = NULL, *pw_file = NULL, *vm = NULL, *outdir = ".", *transport = "http";
    bool list = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_VC: o.host = optarg; break;
        case O_USER: o.user = optarg; break;
        case O_PWENV: pw_env = optarg; break;
        case O_PWFILE: pw_file = optarg; break;
        case O_DC: o.datacenter = optarg; break;
        case O_LIST: list = true; break;
        case O_VM: vm = optarg; break;
        case O_OUT: outdir = optarg; break;
        case O_TRANSPORT: transport = optarg; break;
        case O_INSECURE: o.insecure = 1; break;
        case O_CA: o.ca_file = optarg; break;
        case O_TP: o.thumbprint = optarg; break;
        case O_SNAP: o.powered_on = H2K_VMWARE_POWERED_ON_SNAPSHOT; break;
        case O_JSON: env->json = true; break;
        case O_VDDK: o.vddk_libdir = optarg; break;
        case O_STREAMS: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 16) {
                fprintf(stderr, "hyper2kvm: --streams takes 1..16\n");
                return CLI_EXIT_USAGE;
            }
            o.parallel_streams = (unsigned)v;
            break;
        }
        case O_HELP: fputs(usage_text, stdout); return CLI_EXIT_OK;
        default:
            fprintf(stderr, "hyper2kvm: vsphere: unknown or incomplete option %s\n",
                    argv[optind - 1]);
            fputs(usage_text, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc || !o.host || !o.user || (!pw_env == !pw_file) || (list == (vm != NULL))) {
        fprintf(stderr, "hyper2kvm: vsphere: %s\n",
                optind < argc         ? "unexpected argument"
                : !o.host || !o.user  ? "--vcenter and --user are required"
                : (!pw_env == !pw_file) ? "give exactly one of --password-env or --password-file"
                                        : "give exactly one of --list or --vm");
        fputs(usage_text, stderr);
        return CLI_EXIT_USAGE;
    }
    char *password = NULL;
    if (pw_env) {
        const char *v = getenv(pw_env);
        if (!v) {
            fprintf(stderr, "hyper2kvm: the environment variable %s is not set\n", pw_env);
            return CLI_EXIT_USAGE;
        }
        password = strdup(v);
    } else {
        password = read_password_file(pw_file);
        if (!password)
            return CLI_EXIT_USAGE;
    }
    if (!password)
        return cli_exit_code(H2K_ERR_NO_MEMORY);
    o.password = password;
    h2k_vmware_client *client = NULL;
    int rc = h2k_vmware_client_new(env->ctx, &o, &client);
    wipe_free(password);
    if (rc < 0)
        return cli_report_error(env, rc);
    int exit_code = list ? print_list(env, client)
                         : export_and_convert(env, client, vm, outdir, transport);
    h2k_vmware_client_free(client);
    return exit_code;
}
