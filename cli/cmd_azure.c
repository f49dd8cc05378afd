/* hyper2kvm azure: list the VMs of an Azure resource group, migrate one (download its
 * managed disks, repair, copy, libvirt XML, optional boot test), or only download it and
 * convert its disks.  The client secret comes from an environment variable (unset once
 * read) or a file, never from the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

static const char usage_text[] =
    "usage: hyper2kvm azure --subscription ID --resource-group RG\n"
    "         (--tenant ID --client-id ID (--client-secret-env VAR | --client-secret-file FILE)\n"
    "          | --managed-identity [--client-id ID])\n"
    "         [--authority-host URL] [--resource-manager URL] [--ca-file PEM] [--insecure]\n"
    "         (--list | --vm NAME --output-dir DIR) [--snapshot] [--streams N] [--json]\n"
    "       migration (with --vm): [--name N] [--compress] [--format qcow2|raw]\n"
    "         [--network-map SRC=network:NAME|bridge:NAME] [--mac MAC...]\n"
    "         [--fixes LIST|all|none] [--test-boot] [--boot-timeout SEC] [--define URI]\n"
    "         [--dry-run] [--report FILE] [--keep-partial] [--keep-export]\n"
    "         [--backend native|virt-v2v]\n"
    "       or --export-only: download the disks (fixed VHDs) and convert them to qcow2,\n"
    "         no repair; or --download-only: only download the fixed VHDs\n";

#define MAX_ITEMS 64

static void
wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Reads the first line of @path into a malloc'd string (no newline). */
static char *
read_secret_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "hyper2kvm: cannot read the secret file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n <= 0) {
        if (line)
            explicit_bzero(line, cap);
        free(line);
        fprintf(stderr, "hyper2kvm: the secret file %s is empty\n", path);
        return NULL;
    }
    return line;
}

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
            json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(vms[i].name));
            json_object_object_add(o, "power_state", vms[i].power_state
                                                         ? json_object_new_string(vms[i].power_state)
                                                         : NULL);
            json_object_object_add(o, "vm_size",
                                   vms[i].vm_size ? json_object_new_string(vms[i].vm_size) : NULL);
            json_object_object_add(o, "os_type",
                                   vms[i].os_type ? json_object_new_string(vms[i].os_type) : NULL);
            json_object_object_add(o, "location", vms[i].location
                                                      ? json_object_new_string(vms[i].location)
                                                      : NULL);
            json_object_object_add(o, "id", vms[i].id ? json_object_new_string(vms[i].id) : NULL);
            json_object_array_add(arr, o);
        }
        cli_print_json(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
        json_object_put(arr);
    } else {
        printf("%-32s %-12s %-20s %-8s %s\n", "NAME", "POWER", "SIZE", "OS", "LOCATION");
        for (size_t i = 0; i < n; i++)
            printf("%-32s %-12s %-20s %-8s %s\n", vms[i].name,
                   vms[i].power_state ? vms[i].power_state : "-",
                   vms[i].vm_size ? vms[i].vm_size : "-", vms[i].os_type ? vms[i].os_type : "-",
                   vms[i].location ? vms[i].location : "-");
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
                printf("disk %zu: %s\n", i + 1, src);
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
        h2k_convert_options co = H2K_CONVERT_OPTIONS_INIT;
        h2k_convert_result *cr = NULL;
        rc = h2k_disk_convert(env->ctx, src, dst, &co, &cr);
        if (rc == 0) {
            json_object *d = json_object_new_object();
            json_object_object_add(d, "source", json_object_new_string(src));
            json_object_object_add(d, "output", json_object_new_string(dst));
            json_object_object_add(d, "virtual_size",
                                   json_object_new_int64((int64_t)cr->virtual_size));
            json_object_array_add(disks, d);
            if (!env->json && !env->quiet)
                printf("disk %zu: %s -> %s\n", i + 1, src, dst);
        }
        h2k_convert_result_free(cr);
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
            printf("downloaded %s to %s: %llu bytes fetched of %llu allocated (disks: %llu "
                   "bytes)\n",
                   res->vm_name, res->output_dir, (unsigned long long)res->bytes_downloaded,
                   (unsigned long long)res->allocated_bytes, (unsigned long long)res->disk_bytes);
    }
    h2k_azure_download_result_free(res);
    return CLI_EXIT_OK;
}

int
cmd_azure(cli_env *env, int argc, char **argv)
{
    enum { O_SUB = 1000, O_RG, O_TENANT, O_CLIENT, O_SECRET_ENV, O_SECRET_FILE, O_MI,
           O_AUTHORITY, O_ARM, O_CA, O_INSECURE, O_LIST, O_VM, O_OUT, O_SNAP, O_STREAMS, O_JSON,
           O_HELP, O_EXPORT_ONLY, O_NAME, O_COMPRESS, O_FORMAT, O_MAP, O_MAC, O_FIXES,
           O_TEST_BOOT, O_BOOT_TIMEOUT, O_DEFINE, O_DRY_RUN, O_REPORT, O_KEEP_PARTIAL,
           O_KEEP_EXPORT, O_BACKEND, O_DOWNLOAD_ONLY };
    static const struct option opts[] = {
        { "subscription", required_argument, NULL, O_SUB },
        { "resource-group", required_argument, NULL, O_RG },
        { "tenant", required_argument, NULL, O_TENANT },
        { "client-id", required_argument, NULL, O_CLIENT },
        { "client-secret-env", required_argument, NULL, O_SECRET_ENV },
        { "client-secret-file", required_argument, NULL, O_SECRET_FILE },
        { "managed-identity", no_argument, NULL, O_MI },
        { "authority-host", required_argument, NULL, O_AUTHORITY },
        { "resource-manager", required_argument, NULL, O_ARM },
        { "ca-file", required_argument, NULL, O_CA },
        { "insecure", no_argument, NULL, O_INSECURE },
        { "list", no_argument, NULL, O_LIST },
        { "vm", required_argument, NULL, O_VM },
        { "output-dir", required_argument, NULL, O_OUT },
        { "snapshot", no_argument, NULL, O_SNAP },
        { "streams", required_argument, NULL, O_STREAMS },
        { "json", no_argument, NULL, O_JSON },
        { "help", no_argument, NULL, O_HELP },
        { "export-only", no_argument, NULL, O_EXPORT_ONLY },
        { "download-only", no_argument, NULL, O_DOWNLOAD_ONLY },
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
        { "backend", required_argument, NULL, O_BACKEND },
        { NULL, 0, NULL, 0 },
    };
    h2k_run_options ro = H2K_RUN_OPTIONS_INIT;
    const char *macs[MAX_ITEMS];
    h2k_network_mapping maps[MAX_ITEMS];
    size_t n_mac = 0, n_map = 0;
    bool export_only = false, download_only = false, migration_opt = false, list = false;
    h2k_azure_config cfg = H2K_AZURE_CONFIG_INIT;
    const char *secret_env = NULL, *secret_file = NULL, *vm = NULL, *outdir = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_SUB: cfg.subscription_id = optarg; break;
        case O_RG: cfg.resource_group = optarg; break;
        case O_TENANT: cfg.tenant_id = optarg; break;
        case O_CLIENT: cfg.client_id = optarg; break;
        case O_SECRET_ENV: secret_env = optarg; break;
        case O_SECRET_FILE: secret_file = optarg; break;
        case O_MI: cfg.auth = H2K_AZURE_AUTH_MANAGED_IDENTITY; break;
        case O_AUTHORITY: cfg.authority_host = optarg; break;
        case O_ARM: cfg.resource_manager = optarg; break;
        case O_CA: cfg.ca_file = optarg; break;
        case O_INSECURE: cfg.insecure = 1; break;
        case O_LIST: list = true; break;
        case O_VM: vm = optarg; break;
        case O_OUT: outdir = optarg; break;
        case O_SNAP: cfg.running = H2K_AZURE_RUNNING_SNAPSHOT; break;
        case O_STREAMS: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 16) {
                fprintf(stderr, "hyper2kvm: --streams takes 1..16\n");
                return CLI_EXIT_USAGE;
            }
            cfg.parallel_streams = (unsigned)v;
            break;
        }
        case O_JSON: env->json = true; break;
        case O_HELP: fputs(usage_text, stdout); return CLI_EXIT_OK;
        case O_EXPORT_ONLY: export_only = true; break;
        case O_DOWNLOAD_ONLY: export_only = download_only = true; break;
        case O_NAME: ro.name = optarg; migration_opt = true; break;
        case O_COMPRESS: ro.compress = 1; migration_opt = true; break;
        case O_FORMAT:
            if (strcmp(optarg, "qcow2") != 0 && strcmp(optarg, "raw") != 0) {
                fprintf(stderr, "hyper2kvm azure: --format must be qcow2 or raw\n");
                return CLI_EXIT_USAGE;
            }
            ro.output_format = optarg;
            migration_opt = true;
            break;
        case O_MAP:
            if (n_map == MAX_ITEMS || !cli_parse_network_map(optarg, &maps[n_map])) {
                fprintf(stderr,
                        "hyper2kvm azure: bad or too many --network-map (SRC=network:NAME or "
                        "SRC=bridge:NAME, at most %d)\n",
                        MAX_ITEMS);
                return CLI_EXIT_USAGE;
            }
            n_map++;
            migration_opt = true;
            break;
        case O_MAC:
            if (n_mac == MAX_ITEMS) {
                fprintf(stderr, "hyper2kvm azure: at most %d --mac\n", MAX_ITEMS);
                return CLI_EXIT_USAGE;
            }
            macs[n_mac++] = optarg;
            migration_opt = true;
            break;
        case O_FIXES:
            if (cli_parse_fixes(optarg, &ro.fixes) < 0) {
                fprintf(stderr,
                        "hyper2kvm azure: unknown repair in '%s' (all, none, fstab, grub, "
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
                fprintf(stderr, "hyper2kvm azure: --boot-timeout takes 1..86400 seconds\n");
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
        case O_BACKEND:
            if (strcmp(optarg, "native") != 0 && strcmp(optarg, "virt-v2v") != 0) {
                fprintf(stderr, "hyper2kvm azure: --backend must be native or virt-v2v\n");
                return CLI_EXIT_USAGE;
            }
            ro.backend = optarg;
            migration_opt = true;
            break;
        default:
            fprintf(stderr, "hyper2kvm: azure: unknown or incomplete option %s\n",
                    argv[optind - 1]);
            fputs(usage_text, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    bool mi = cfg.auth == H2K_AZURE_AUTH_MANAGED_IDENTITY;
    bool migrating = vm && !export_only;
    const char *bad = NULL;
    if (optind < argc)
        bad = "unexpected argument";
    else if (!cfg.subscription_id || !cfg.resource_group)
        bad = "--subscription and --resource-group are required";
    else if (mi && (secret_env || secret_file || cfg.tenant_id))
        bad = "--managed-identity takes no --tenant nor client secret";
    else if (!mi && (!cfg.tenant_id || !cfg.client_id))
        bad = "--tenant and --client-id are required (or --managed-identity)";
    else if (!mi && !secret_env == !secret_file)
        bad = "give exactly one of --client-secret-env or --client-secret-file";
    else if (list == (vm != NULL))
        bad = "give exactly one of --list or --vm";
    else if (export_only && migration_opt)
        bad = "--export-only takes no migration option";
    else if (!vm && migration_opt)
        bad = "migration options need --vm";
    else if (migrating && !outdir && !(ro.dry_run && ro.report_path))
        bad = "--vm needs --output-dir";
    else if (export_only && !outdir)
        bad = "--export-only and --download-only need --output-dir";
    if (bad) {
        fprintf(stderr, "hyper2kvm: azure: %s\n", bad);
        fputs(usage_text, stderr);
        return CLI_EXIT_USAGE;
    }
    char *secret = NULL;
    if (secret_env) {
        const char *v = getenv(secret_env);
        if (!v || !*v) {
            fprintf(stderr, "hyper2kvm: the environment variable %s (the client secret) is not "
                            "set\n",
                    secret_env);
            return CLI_EXIT_USAGE;
        }
        secret = strdup(v);
        /* no child process (qemu-img, qemu, virt-v2v) inherits it */
        explicit_bzero((char *)v, strlen(v));
        unsetenv(secret_env);
        if (!secret)
            return cli_exit_code(H2K_ERR_NO_MEMORY);
    } else if (secret_file) {
        secret = read_secret_file(secret_file);
        if (!secret)
            return CLI_EXIT_USAGE;
    }
    cfg.client_secret = secret;
    cli_setup_output(env);
    h2k_azure_client *client = NULL;
    int rc = h2k_azure_client_new(env->ctx, &cfg, &client);
    wipe_free(secret);
    if (rc < 0)
        return cli_report_error(env, rc);
    int exit_code;
    if (list) {
        exit_code = print_list(env, client);
    } else if (export_only) {
        exit_code = download_and_convert(env, client, vm, outdir, !download_only);
    } else {
        ro.azure = client;
        ro.azure_vm = vm;
        ro.output_dir = outdir;
        ro.nic_macs = macs;
        ro.n_nic_macs = n_mac;
        ro.network_map = maps;
        ro.n_network_map = n_map;
        exit_code = cli_run_migration(env, &ro);
    }
    h2k_azure_client_free(client);
    return exit_code;
}
