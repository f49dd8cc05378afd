/* hyper2kvm test: boot an image (never modified) and prove that it comes up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
print_result(cli_env *env, const h2k_boot_result *r)
{
    printf("booted:   %s\n", r->success ? "yes" : "no");
    printf("seconds:  %.1f\n", r->boot_seconds);
    printf("accel:    %s\n", cli_safe(env, r->accel));
    if (r->hostname)
        printf("hostname: %s\n", cli_safe(env, r->hostname));
    for (size_t i = 0; i < r->n_addresses; i++)
        printf("address:  %s\n", cli_safe(env, r->addresses[i]));
    if (r->proof_line)
        printf("proof:    %s\n", cli_safe(env, r->proof_line));
    if (r->console_log_path)
        printf("console:  %s\n", cli_safe(env, r->console_log_path));
}

static const cli_option test_options[] = {
    {OPT_UEFI, "uefi", 0, NULL, NULL, NULL, 0, "boot with OVMF (UEFI) instead of BIOS"},
    {OPT_MEMORY, "memory", 0, NULL, "MIB", NULL, 0, "guest memory in MiB (64..1048576)"},
    {OPT_VCPUS, "vcpus", 0, NULL, "N", NULL, 0,
     "virtual CPUs (1..288; default: 2 under TCG on a host with 2 CPUs, else 1)"},
    {OPT_CPU_LEVEL, "cpu-level", 0, NULL, "N", NULL, 0,
     "the x86-64 level the guest needs (1..4; 1 or 2: a faster CPU model under TCG; "
     "default: not known, qemu's max)"},
    {OPT_TIMEOUT, "timeout", 0, NULL, "SEC", NULL, 0, "seconds the boot may take"},
    {OPT_BUS, "bus", 0, NULL, "BUS", "virtio|sata|ide|scsi", 0, "disk bus"},
    {OPT_MACHINE, "machine", 0, NULL, "TYPE", "q35|pc", 0, "machine type"},
    {OPT_NIC, "nic", 0, NULL, "MODEL", NULL, 0, "NIC model, or none"},
    {OPT_MAC, "mac", 0, NULL, "MAC", NULL, 0, "MAC of the NIC"},
    {OPT_INPUT_FORMAT, "input-format", 0, NULL, "FMT", NULL, 0,
     "format of IMAGE (default: probed)"},
    {OPT_ACCEL, "accel", 0, NULL, "ACCEL", "auto|kvm|tcg", 0, "accelerator"},
    {OPT_PROOF, "proof", 0, NULL, "KIND", "marker|login|text", 0, "what proves the boot"},
    {OPT_EXPECT, "expect", 0, NULL, "TEXT", NULL, 0,
     "console text that proves the boot (implies --proof text)"},
    {OPT_CONNECT, "connect", 'c', "libvirt", "URI", NULL, 0,
     "boot through the libvirt daemon at URI instead of qemu directly"},
    {OPT_CONSOLE_LOG, "console-log", 0, NULL, "FILE", NULL, CLI_OPT_FILE,
     "keep the serial console in FILE"},
    {0},
};

static const cli_option *const test_tables[] = {test_options, NULL};

static int
run_test(cli_env *env, const cli_parsed *p)
{
    h2k_boot_test_options opts = H2K_BOOT_TEST_OPTIONS_INIT;
    bool use_libvirt = false;
    for (size_t i = 0; i < p->n_items; i++) {
        const cli_item *it = &p->items[i];
        const char *v = it->value;
        unsigned long n;
        switch (it->opt->id) {
        case OPT_UEFI:
            opts.uefi = 1;
            break;
        case OPT_MEMORY:
            if (!cli_parse_uint(v, 64, 1024 * 1024, &n))
                return cli_usage_error(p->cmd, "bad --memory '%s' (MiB, 64..1048576)", v);
            opts.memory_mib = (unsigned)n;
            break;
        case OPT_VCPUS:
            if (!cli_parse_uint(v, 1, 288, &n))
                return cli_usage_error(p->cmd, "bad --vcpus '%s' (1..288)", v);
            opts.vcpus = (unsigned)n;
            break;
        case OPT_CPU_LEVEL:
            if (!cli_parse_uint(v, 1, 4, &n))
                return cli_usage_error(p->cmd, "bad --cpu-level '%s' (1..4, as in x86-64-v2)", v);
            opts.cpu_level = (unsigned)n;
            break;
        case OPT_TIMEOUT:
            if (!cli_parse_uint(v, 1, 7 * 24 * 3600, &n))
                return cli_usage_error(p->cmd, "bad --timeout '%s' (seconds)", v);
            opts.timeout_seconds = (unsigned)n;
            break;
        case OPT_BUS:
            opts.bus = (h2k_bus)h2k_bus_from_name(v);
            break;
        case OPT_MACHINE:
            opts.machine = v;
            break;
        case OPT_NIC:
            opts.nic_model = v;
            break;
        case OPT_MAC:
            opts.mac = v;
            break;
        case OPT_INPUT_FORMAT:
            opts.format = v;
            break;
        case OPT_ACCEL:
            opts.accel = strcmp(v, "kvm") == 0   ? H2K_ACCEL_KVM
                         : strcmp(v, "tcg") == 0 ? H2K_ACCEL_TCG
                                                 : H2K_ACCEL_AUTO;
            break;
        case OPT_PROOF:
            opts.proof = (h2k_boot_proof)h2k_boot_proof_from_name(v);
            break;
        case OPT_EXPECT:
            opts.expect_text = v;
            break;
        case OPT_CONNECT:
            use_libvirt = true;
            opts.libvirt_uri = v;
            break;
        case OPT_CONSOLE_LOG:
            opts.console_log = v;
            break;
        default:
            break;
        }
    }
    if (opts.expect_text && opts.proof != H2K_PROOF_TEXT)
        opts.proof = H2K_PROOF_TEXT;
    h2k_boot_result *res = NULL;
    int rc = use_libvirt ? h2k_libvirt_test_run(env->ctx, p->pos[0], &opts, &res)
                         : h2k_qemu_test_run(env->ctx, p->pos[0], &opts, &res);
    int exit_code = CLI_EXIT_OK;
    if (rc < 0) {
        exit_code = cli_report_error(env, rc);
    } else if (env->json) {
        char *j = h2k_boot_result_to_json(res);
        cli_print_json(j ? j : "{}");
        free(j);
    } else {
        print_result(env, res);
    }
    h2k_boot_result_free(res);
    return exit_code;
}

const cli_command cli_cmd_test = {
    "test",      "IMAGE",  "boot an image (never modified) and prove that it comes up", 1, 1,
    test_tables, run_test,
};
