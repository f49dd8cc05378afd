/* hyper2kvm vsphere: list the VMs of a vCenter/ESXi server, migrate one (export, repair,
 * copy, libvirt XML, optional boot test), or only export it and convert its disks. */
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
    "         (--list | --vm NAME --output-dir DIR) [--transport http|nfc|vddk]\n"
    "         [--insecure] [--ca-file FILE] [--thumbprint AA:BB:..] [--snapshot]\n"
    "         [--vddk-libdir DIR] [--streams N] [--json]\n"
    "       migration (with --vm): [--name N] [--compress] [--format qcow2|raw]\n"
    "         [--network-map SRC=network:NAME|bridge:NAME] [--mac MAC...]\n"
    "         [--fixes LIST|all|none] [--test-boot] [--boot-timeout SEC] [--define URI]\n"
    "         [--dry-run] [--report FILE] [--keep-partial] [--keep-export]\n"
    "         [--backend native|virt-v2v] [--virtio-win ISO|DIR]\n"
    "       or --export-only: export and convert the disks to qcow2, no repair\n";

#define MAX_ITEMS 64

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
           O_INSECURE, O_CA, O_TP, O_SNAP, O_JSON, O_VDDK, O_STREAMS, O_HELP, O_EXPORT_ONLY,
           O_NAME, O_COMPRESS, O_FORMAT, O_MAP, O_MAC, O_FIXES, O_TEST_BOOT, O_BOOT_TIMEOUT,
           O_DEFINE, O_DRY_RUN, O_REPORT, O_KEEP_PARTIAL, O_KEEP_EXPORT, O_BACKEND, O_VIRTIO_WIN };
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
        { "export-only", no_argument, NULL, O_EXPORT_ONLY },
        { "name", required_argument, NULL, O_NAME },
        { "compress", no_argument, NULL, O_COMPRESS },
        { "format", required_argument, NULL, O_FORMAT },
        { "network-map", required_argument, NULL, O_MAP },
        { "mac", required_argument, NULL, O_MAC },
        { "fixes", required_argument, NULL, O_FIXES },
        { "test-boot", no_argument, NULL, O_TEST_BOOT },
        { "boot-timeout", required_argument, NULL, O_BOOT_TIMEOUT },
        { "define", required_argument, NULL, O_DEFINE },
        { "dry-run", no_argument, NULL, O_DRY_RUN },
        { "report", required_argument, NULL, O_REPORT },
        { "keep-partial", no_argument, NULL, O_KEEP_PARTIAL },
        { "keep-export", no_argument, NULL, O_KEEP_EXPORT },
        { "virtio-win", required_argument, NULL, O_VIRTIO_WIN },
        { "backend", required_argument, NULL, O_BACKEND },
        { NULL, 0, NULL, 0 },
    };
    h2k_run_options ro = H2K_RUN_OPTIONS_INIT;
    const char *macs[MAX_ITEMS];
    h2k_network_mapping maps[MAX_ITEMS];
    size_t n_mac = 0, n_map = 0;
    bool export_only = false, migration_opt = false;
    h2k_vmware_options o = H2K_VMWARE_OPTIONS_INIT;
    const char *pw_env = NULL, *pw_file = NULL, *vm = NULL, *outdir = NULL, *transport = "http";
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
        case O_EXPORT_ONLY: export_only = true; break;
        case O_NAME: ro.name = optarg; migration_opt = true; break;
        case O_COMPRESS: ro.compress = 1; migration_opt = true; break;
        case O_FORMAT:
            if (strcmp(optarg, "qcow2") != 0 && strcmp(optarg, "raw") != 0) {
                fprintf(stderr, "hyper2kvm vsphere: --format must be qcow2 or raw\n");
                return CLI_EXIT_USAGE;
            }
            ro.output_format = optarg;
            migration_opt = true;
            break;
        case O_MAP:
            if (n_map == MAX_ITEMS || !cli_parse_network_map(optarg, &maps[n_map])) {
                fprintf(stderr,
                        "hyper2kvm vsphere: bad or too many --network-map (SRC=network:NAME or "
                        "SRC=bridge:NAME, at most %d)\n",
                        MAX_ITEMS);
                return CLI_EXIT_USAGE;
            }
            n_map++;
            migration_opt = true;
            break;
        case O_MAC:
            if (n_mac == MAX_ITEMS) {
                fprintf(stderr, "hyper2kvm vsphere: at most %d --mac\n", MAX_ITEMS);
                return CLI_EXIT_USAGE;
            }
            macs[n_mac++] = optarg;
            migration_opt = true;
            break;
        case O_FIXES:
            if (cli_parse_fixes(optarg, &ro.fixes) < 0) {
                fprintf(stderr,
                        "hyper2kvm vsphere: unknown repair in '%s' (all, none, fstab, grub, "
                        "network, initramfs, vmware_tools, selinux)\n",
                        optarg);
                return CLI_EXIT_USAGE;
            }
            migration_opt = true;
            break;
        case O_TEST_BOOT: ro.test_boot = 1; migration_opt = true; break;
        case O_BOOT_TIMEOUT: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (!*optarg || *end || v == 0 || v > 86400) {
                fprintf(stderr, "hyper2kvm vsphere: --boot-timeout takes 1..86400 seconds\n");
                return CLI_EXIT_USAGE;
            }
            ro.boot_timeout = (unsigned)v;
            migration_opt = true;
            break;
        }
        case O_DEFINE: ro.define_uri = optarg; migration_opt = true; break;
        case O_DRY_RUN: ro.dry_run = 1; migration_opt = true; break;
        case O_REPORT: ro.report_path = optarg; migration_opt = true; break;
        case O_KEEP_PARTIAL: ro.keep_partial = 1; migration_opt = true; break;
        case O_KEEP_EXPORT: ro.keep_export = 1; migration_opt = true; break;
        case O_VIRTIO_WIN: ro.virtio_win = optarg; migration_opt = true; break;
        case O_BACKEND:
            if (strcmp(optarg, "native") != 0 && strcmp(optarg, "virt-v2v") != 0) {
                fprintf(stderr, "hyper2kvm vsphere: --backend must be native or virt-v2v\n");
                return CLI_EXIT_USAGE;
            }
            ro.backend = optarg;
            migration_opt = true;
            break;
        default:
            fprintf(stderr, "hyper2kvm: vsphere: unknown or incomplete option %s\n",
                    argv[optind - 1]);
            fputs(usage_text, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    bool migrating = vm && !export_only;
    const char *bad = NULL;
    if (optind < argc)
        bad = "unexpected argument";
    else if (!o.host || !o.user)
        bad = "--vcenter and --user are required";
    else if (!pw_env == !pw_file)
        bad = "give exactly one of --password-env or --password-file";
    else if (list == (vm != NULL))
        bad = "give exactly one of --list or --vm";
    else if (export_only && migration_opt)
        bad = "--export-only takes no migration option";
    else if (!vm && migration_opt)
        bad = "migration options need --vm";
    else if (migrating && !outdir && !(ro.dry_run && ro.report_path))
        bad = "--vm needs --output-dir";
    if (bad) {
        fprintf(stderr, "hyper2kvm: vsphere: %s\n", bad);
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
    cli_setup_output(env);
    h2k_vmware_client *client = NULL;
    int rc = h2k_vmware_client_new(env->ctx, &o, &client);
    wipe_free(password);
    if (rc < 0)
        return cli_report_error(env, rc);
    int exit_code;
    if (list) {
        exit_code = print_list(env, client);
    } else if (export_only) {
        exit_code = export_and_convert(env, client, vm, outdir ? outdir : ".", transport);
    } else {
        ro.vmware_vm = vm;
        ro.vmware_transport = transport;
        ro.output_dir = outdir;
        ro.nic_macs = macs;
        ro.n_nic_macs = n_mac;
        ro.network_map = maps;
        ro.n_network_map = n_map;
        ro.vmware = client;
        exit_code = cli_run_migration(env, &ro);
    }
    h2k_vmware_client_free(client);
    return exit_code;
}
