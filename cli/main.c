/* hyper2kvm command-line tool: global options and command dispatch. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static h2k_ctx *signal_ctx;

static void
on_signal(int sig)
{
    (void)sig;
    if (signal_ctx)
        h2k_ctx_cancel(signal_ctx);
}

static const struct {
    const char *name;
    int (*fn)(cli_env *, int, char **);
    const char *help;
} commands[] = {
    {"probe", cmd_probe, "probe FILE [--json]: format, size, snapshot chain, extents"},
    {"convert", cmd_convert,
     "convert SRC DST [--format qcow2|raw] [--compress]: convert a disk image"},
    {"ovf", cmd_ovf, "ovf FILE.ovf|FILE.ova|FILE.vmx [--json]: read a VM description"},
    {"inspect", cmd_inspect,
     "inspect IMAGE [IMAGE...] | DIR [--json]: identify the guest operating system"},
    {"fix", cmd_fix,
     "fix IMAGE [IMAGE...] [--dry-run] [--only LIST] [--virtio-win ISO|DIR]: repair a guest "
     "offline for KVM"},
    {"test", cmd_test,
     "test IMAGE [--uefi] [--bus BUS] [--proof marker|login|text] [--libvirt URI] [--json]: "
     "boot an image and prove it comes up"},
    {"xml", cmd_xml,
     "xml --spec FILE --disk PATH... [--network-map SRC=network:N|bridge:N] [--define URI]"
     " [--output FILE]: libvirt domain XML"},
    {"vsphere", cmd_vsphere,
     "vsphere --vcenter HOST --user U --password-env VAR (--list | --vm NAME): vSphere VMs"},
    {"local", cmd_local,
     "local --input PATH... --output-dir DIR [--name N] [--compress] [--format qcow2|raw]"
     " [--test-boot] [--define URI] [--dry-run] [--backend native|virt-v2v] [--virtio-win ISO|DIR]"
     ": migrate one VM"},
    {"batch", cmd_batch,
     "batch PLAN.json|PLAN.yaml [--jobs N] [--state FILE]: migrate the VMs of a plan, "
     "resumable"},
    {"version", cmd_version, "version [--json]: print the version"},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: hyper2kvm [--json] [-v] [-q] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %s\n", commands[i].help);
    fprintf(f, "\nSee hyper2kvm(1) for options and exit codes.\n");
}

int
main(int argc, char **argv)
{
    cli_env env = { 0 };
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0)
            env.json = true;
        else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
            env.verbose++;
        else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
            env.quiet = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("hyper2kvm %s\n", h2k_version());
            return CLI_EXIT_OK;
        } else {
            fprintf(stderr, "hyper2kvm: unknown option %s\n", argv[i]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[i];
    for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
        if (strcmp(name, commands[c].name) != 0)
            continue;
        if (h2k_ctx_new(&env.ctx) < 0) {
            fprintf(stderr, "hyper2kvm: out of memory\n");
            return cli_exit_code(H2K_ERR_NO_MEMORY);
        }
        signal_ctx = env.ctx;
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        cli_setup_output(&env);
        /* libvirt's errors reach the user through the context's error, not
         * through libvirt's own stderr printer */
        h2k_output_quiet_libvirt_stderr();
        int rc = commands[c].fn(&env, argc - i, argv + i);
        cli_progress_finish();
        signal_ctx = NULL;
        h2k_ctx_free(env.ctx);
        return rc;
    }
    fprintf(stderr, "hyper2kvm: unknown command '%s'\n", name);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
