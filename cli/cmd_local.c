/* hyper2kvm local: migrate one VM from local files (disks, .ova, .ovf, .vmx). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define LOCAL_USAGE                                                                                \
    "usage: hyper2kvm local --input PATH [--input PATH...] --output-dir DIR [--name N]\n"          \
    "         [--compress] [--format qcow2|raw] [--network-map SRC=network:NAME|bridge:NAME]\n"    \
    "         [--mac MAC...] [--fixes LIST|all|none] [--test-boot] [--boot-timeout SEC]\n"         \
    "         [--define URI] [--dry-run] [--report FILE] [--keep-partial] [--json]\n"              \
    "         [--backend native|virt-v2v] [--virtio-win ISO|DIR]\n"

#define MAX_ITEMS 64

/* "SRC=network:NAME" or "SRC=bridge:NAME"; SRC "*" matches every NIC. */
bool
cli_parse_network_map(char *arg, h2k_network_mapping *m)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return false;
    *eq = '\0';
    const char *rest = eq + 1;
    if (strncmp(rest, "network:", 8) == 0) {
        m->kind = H2K_NET_NETWORK;
        m->target = rest + 8;
    } else if (strncmp(rest, "bridge:", 7) == 0) {
        m->kind = H2K_NET_BRIDGE;
        m->target = rest + 7;
    } else {
        return false;
    }
    m->source_name = strcmp(arg, "*") == 0 ? NULL : arg;
    return *m->target != '\0';
}

/* Parses --fixes: "all", "none" or a list of repair names. */
int
cli_parse_fixes(const char *s, unsigned *out)
{
    if (strcmp(s, "all") == 0) {
        *out = H2K_FIX_ALL;
        return 0;
    }
    if (strcmp(s, "none") == 0) {
        *out = 0;
        return 0;
    }
    int bits = h2k_fix_kinds_parse(s);
    if (bits < 0)
        return -1;
    *out = (unsigned)bits;
    return 0;
}

void
cli_print_migration_summary(const h2k_migration_result *res)
{
    printf("%s: %s%s\n", res->name ? res->name : "?", res->success ? "migrated" : "FAILED",
           res->dry_run ? " (dry run)" : "");
    for (size_t i = 0; i < res->n_outputs; i++)
        printf("  disk %zu: %s (%s, sha256 %s)\n", i + 1, res->outputs[i].path,
               res->outputs[i].format, res->outputs[i].sha256);
    if (res->xml_path)
        printf("  xml: %s\n", res->xml_path);
    for (size_t i = 0; i < res->n_fixes; i++)
        printf("  fix %-13s %s%s%s\n", res->fixes[i].name, res->fixes[i].status,
               res->fixes[i].message ? ": " : "",
               res->fixes[i].message ? res->fixes[i].message : "");
    if (res->boot && res->boot->not_proven) {
        printf("  boot: NOT PROVEN (%s)\n",
               res->boot->error_message ? res->boot->error_message : "");
    } else if (res->boot) {
        printf("  boot: %s in %.1f s", res->boot->success ? "ok" : "FAILED",
               res->boot->boot_seconds);
        for (size_t i = 0; i < res->boot->n_addresses; i++)
            printf(" %s", res->boot->addresses[i]);
        printf("\n");
    }
    for (size_t i = 0; i < res->n_warnings; i++)
        printf("  warning: %s\n", res->warnings[i]);
    if (res->report_json_path)
        printf("  report: %s\n", res->report_json_path);
}

int
cli_run_migration(cli_env *env, const h2k_run_options *opts)
{
    h2k_migration_result *res = NULL;
    int rc = h2k_orchestrator_run(env->ctx, opts, &res);
    cli_progress_finish();
    int exit_code;
    if (rc < 0) {
        exit_code = cli_report_error(env, rc);
    } else {
        exit_code = CLI_EXIT_OK;
        if (env->json) {
            char *json = h2k_migration_result_to_json(res);
            cli_print_json(json);
            free(json);
        } else if (!env->quiet) {
            cli_print_migration_summary(res);
        }
    }
    h2k_migration_result_free(res);
    return exit_code;
}

int
cmd_local(cli_env *env, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},   {"output-dir", required_argument, NULL, 'o'},
        {"name", required_argument, NULL, 'N'},    {"compress", no_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},  {"network-map", required_argument, NULL, 'm'},
        {"mac", required_argument, NULL, 'M'},     {"fixes", required_argument, NULL, 'x'},
        {"test-boot", no_argument, NULL, 't'},     {"boot-timeout", required_argument, NULL, 'T'},
        {"define", required_argument, NULL, 'd'},  {"dry-run", no_argument, NULL, 'n'},
        {"report", required_argument, NULL, 'r'},  {"keep-partial", no_argument, NULL, 'k'},
        {"backend", required_argument, NULL, 'b'}, {"json", no_argument, NULL, 'j'},
        {"virtio-win", required_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    h2k_run_options opts = H2K_RUN_OPTIONS_INIT;
    const char *inputs[MAX_ITEMS], *macs[MAX_ITEMS];
    h2k_network_mapping maps[MAX_ITEMS];
    size_t n_in = 0, n_mac = 0, n_map = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:o:N:cf:m:M:x:tT:d:nr:kb:jV:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (n_in == MAX_ITEMS)
                goto too_many;
            inputs[n_in++] = optarg;
            break;
        case 'o':
            opts.output_dir = optarg;
            break;
        case 'N':
            opts.name = optarg;
            break;
        case 'c':
            opts.compress = 1;
            break;
        case 'f':
            if (strcmp(optarg, "qcow2") != 0 && strcmp(optarg, "raw") != 0) {
                fprintf(stderr, "hyper2kvm local: --format must be qcow2 or raw\n");
                return CLI_EXIT_USAGE;
            }
            opts.output_format = optarg;
            break;
        case 'm':
            if (n_map == MAX_ITEMS)
                goto too_many;
            if (!cli_parse_network_map(optarg, &maps[n_map])) {
                fprintf(stderr,
                        "hyper2kvm local: bad --network-map '%s' "
                        "(SRC=network:NAME or SRC=bridge:NAME)\n",
                        optarg);
                return CLI_EXIT_USAGE;
            }
            n_map++;
            break;
        case 'M':
            if (n_mac == MAX_ITEMS)
                goto too_many;
            macs[n_mac++] = optarg;
            break;
        case 'x':
            if (cli_parse_fixes(optarg, &opts.fixes) < 0) {
                fprintf(stderr,
                        "hyper2kvm local: unknown repair in '%s' (all, none, fstab, "
                        "grub, network, initramfs, vmware_tools, selinux, virtio_win)\n",
                        optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 't':
            opts.test_boot = 1;
            break;
        case 'V':
            opts.virtio_win = optarg;
            break;
        case 'T':
            opts.boot_timeout = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'd':
            opts.define_uri = optarg;
            break;
        case 'n':
            opts.dry_run = 1;
            break;
        case 'r':
            opts.report_path = optarg;
            break;
        case 'k':
            opts.keep_partial = 1;
            break;
        case 'b':
            if (strcmp(optarg, "native") != 0 && strcmp(optarg, "virt-v2v") != 0) {
                fprintf(stderr, "hyper2kvm local: --backend must be native or virt-v2v\n");
                return CLI_EXIT_USAGE;
            }
            opts.backend = optarg;
            break;
        case 'j':
            env->json = true;
            break;
        case 'h':
            printf(LOCAL_USAGE);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, LOCAL_USAGE);
            return CLI_EXIT_USAGE;
        }
    }
    if (n_in == 0 || optind != argc || (!opts.output_dir && !(opts.dry_run && opts.report_path))) {
        fprintf(stderr, LOCAL_USAGE);
        return CLI_EXIT_USAGE;
    }
    opts.inputs = inputs;
    opts.n_inputs = n_in;
    opts.nic_macs = macs;
    opts.n_nic_macs = n_mac;
    opts.network_map = maps;
    opts.n_network_map = n_map;
    cli_setup_output(env);
    return cli_run_migration(env, &opts);
too_many:
    fprintf(stderr, "hyper2kvm local: at most %d of each option\n", MAX_ITEMS);
    return CLI_EXIT_USAGE;
}
