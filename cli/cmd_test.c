/* hyper2kvm test: boot an image (never modified) and prove that it comes up. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TEST_USAGE                                                                             \
    "usage: hyper2kvm test IMAGE [--uefi] [--memory MIB] [--vcpus N] [--timeout SEC]\n"        \
    "                      [--bus virtio|sata|ide|scsi] [--machine q35|pc] [--nic MODEL|none]\n" \
    "                      [--mac MAC] [--format FMT] [--accel auto|kvm|tcg]\n"                \
    "                      [--proof marker|login|text] [--expect TEXT] [--libvirt URI]\n"      \
    "                      [--console-log FILE] [--json]\n"

static bool
parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end = NULL;
    if (!s || !*s || *s == '-')
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v < min || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

static void
print_result(const h2k_boot_result *r)
{
    printf("booted:   %s\n", r->success ? "yes" : "no");
    printf("seconds:  %.1f\n", r->boot_seconds);
    printf("accel:    %s\n", r->accel ? r->accel : "-");
    if (r->hostname)
        printf("hostname: %s\n", r->hostname);
    for (size_t i = 0; i < r->n_addresses; i++)
        printf("address:  %s\n", r->addresses[i]);
    if (r->proof_line)
        printf("proof:    %s\n", r->proof_line);
    if (r->console_log_path)
        printf("console:  %s\n", r->console_log_path);
}

int
cmd_test(cli_env *env, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "uefi", no_argument, NULL, 'u' },
        { "memory", required_argument, NULL, 'm' },
        { "vcpus", required_argument, NULL, 'c' },
        { "timeout", required_argument, NULL, 't' },
        { "bus", required_argument, NULL, 'b' },
        { "machine", required_argument, NULL, 'M' },
        { "nic", required_argument, NULL, 'n' },
        { "mac", required_argument, NULL, 'a' },
        { "format", required_argument, NULL, 'f' },
        { "accel", required_argument, NULL, 'A' },
        { "proof", required_argument, NULL, 'p' },
        { "expect", required_argument, NULL, 'e' },
        { "libvirt", required_argument, NULL, 'l' },
        { "console-log", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    h2k_boot_test_options opts = H2K_BOOT_TEST_OPTIONS_INIT;
    bool use_libvirt = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int v;
        switch (c) {
        case 'j': env->json = true; break;
        case 'u': opts.uefi = 1; break;
        case 'm':
            if (!parse_uint(optarg, 64, 1024 * 1024, &opts.memory_mib)) {
                fprintf(stderr, "hyper2kvm test: bad --memory %s (MiB, 64..1048576)\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'c':
            if (!parse_uint(optarg, 1, 288, &opts.vcpus)) {
                fprintf(stderr, "hyper2kvm test: bad --vcpus %s (1..288)\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 't':
            if (!parse_uint(optarg, 1, 7 * 24 * 3600, &opts.timeout_seconds)) {
                fprintf(stderr, "hyper2kvm test: bad --timeout %s (seconds)\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'b':
            if ((v = h2k_bus_from_name(optarg)) < 0) {
                fprintf(stderr, "hyper2kvm test: unknown --bus %s\n", optarg);
                return CLI_EXIT_USAGE;
            }
            opts.bus = (h2k_bus)v;
            break;
        case 'M': opts.machine = optarg; break;
        case 'n': opts.nic_model = optarg; break;
        case 'a': opts.mac = optarg; break;
        case 'f': opts.format = optarg; break;
        case 'A':
            if (strcmp(optarg, "auto") == 0)
                opts.accel = H2K_ACCEL_AUTO;
            else if (strcmp(optarg, "kvm") == 0)
                opts.accel = H2K_ACCEL_KVM;
            else if (strcmp(optarg, "tcg") == 0)
                opts.accel = H2K_ACCEL_TCG;
            else {
                fprintf(stderr, "hyper2kvm test: unknown --accel %s\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'p':
            if ((v = h2k_boot_proof_from_name(optarg)) < 0) {
                fprintf(stderr, "hyper2kvm test: unknown --proof %s\n", optarg);
                return CLI_EXIT_USAGE;
            }
            opts.proof = (h2k_boot_proof)v;
            break;
        case 'e': opts.expect_text = optarg; break;
        case 'l':
            use_libvirt = true;
            opts.libvirt_uri = optarg;
            break;
        case 'o': opts.console_log = optarg; break;
        case 'h': printf(TEST_USAGE); return CLI_EXIT_OK;
        default: fprintf(stderr, TEST_USAGE); return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, TEST_USAGE);
        return CLI_EXIT_USAGE;
    }
    if (opts.expect_text && opts.proof != H2K_PROOF_TEXT)
        opts.proof = H2K_PROOF_TEXT;
    cli_setup_output(env);
    h2k_boot_result *res = NULL;
    int rc = use_libvirt ? h2k_libvirt_test_run(env->ctx, argv[optind], &opts, &res)
                         : h2k_qemu_test_run(env->ctx, argv[optind], &opts, &res);
    int exit_code = CLI_EXIT_OK;
    if (rc < 0) {
        exit_code = cli_report_error(env, rc);
    } else if (env->json) {
        char *j = h2k_boot_result_to_json(res);
        cli_print_json(j ? j : "{}");
        free(j);
    } else {
        print_result(res);
    }
    h2k_boot_result_free(res);
    return exit_code;
}
