/* hyper2kvm fix: repair a converted guest offline so that it boots on KVM. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text ? text : "", f);
    return fclose(f);
}

int
cmd_fix(cli_env *env, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "dry-run", no_argument, NULL, 'n' },
        { "only", required_argument, NULL, 'o' },
        { "skip", required_argument, NULL, 's' },
        { "new-mac", no_argument, NULL, 'm' },
        { "force-initramfs", no_argument, NULL, 'F' },
        { "report", required_argument, NULL, 'r' },
        { "report-md", required_argument, NULL, 'M' },
        { "virtio-win", required_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    h2k_fix_options opts = H2K_FIX_OPTIONS_INIT;
    const char *report = NULL, *report_md = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jno:s:mFr:M:V:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': env->json = true; break;
        case 'n': opts.dry_run = 1; break;
        case 'o':
        case 's': {
            int bits = h2k_fix_kinds_parse(optarg);
            if (bits < 0) {
                fprintf(stderr, "hyper2kvm fix: unknown repair in '%s' (fstab, grub, network, "
                                "initramfs, vmware_tools, selinux, virtio_win)\n", optarg);
                return CLI_EXIT_USAGE;
            }
            opts.fixes = c == 'o' ? (unsigned)bits : opts.fixes & ~(unsigned)bits;
            break;
        }
        case 'm': opts.keep_mac = 0; break;
        case 'F': opts.force_initramfs = 1; break;
        case 'r': report = optarg; break;
        case 'M': report_md = optarg; break;
        case 'V': opts.virtio_win = optarg; break;
        case 'h':
            printf("usage: hyper2kvm fix IMAGE [IMAGE...] [--dry-run] [--only LIST] [--skip "
                   "LIST] [--force-initramfs] [--virtio-win ISO|DIR] [--report FILE.json] "
                   "[--report-md FILE.md] [--json]\n");
            return CLI_EXIT_OK;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: hyper2kvm fix IMAGE [IMAGE...] [--dry-run] [--only LIST]\n");
        return CLI_EXIT_USAGE;
    }
    cli_setup_output(env);
    /* all or nothing: the images change only when the repairs completed */
    opts.atomic = 1;
    h2k_offline_fixer *fx = NULL;
    int rc = h2k_offline_fixer_open(env->ctx, (const char *const *)argv + optind, NULL,
                                    (size_t)(argc - optind), &opts, &fx);
    if (rc < 0)
        return cli_report_error(env, rc);
    int run = h2k_offline_fixer_run_all(fx);
    /* a repair that failed in the guest (H2K_ERR_FIXER) still commits the
     * others, as the report says; a cancel or an error commits nothing */
    if (run == 0 || run == H2K_ERR_FIXER) {
        int committed = h2k_offline_fixer_commit(fx);
        if (committed < 0)
            run = committed;
    }
    char *json = h2k_offline_fixer_report_json(fx);
    char *md = h2k_offline_fixer_report_markdown(fx);
    if (run == 0 || run == H2K_ERR_FIXER) {
        if (report && write_text(report, json) < 0)
            fprintf(stderr, "hyper2kvm fix: cannot write %s\n", report);
        if (report_md && write_text(report_md, md) < 0)
            fprintf(stderr, "hyper2kvm fix: cannot write %s\n", report_md);
    }
    int closed = h2k_offline_fixer_close(fx);
    int exit_code = CLI_EXIT_OK;
    if (run < 0 && run != H2K_ERR_FIXER) {
        exit_code = cli_report_error(env, run);
    } else {
        if (env->json)
            cli_print_json(json);
        else if (!env->quiet) {
            /* the table part of the Markdown report is the summary */
            const char *end = md ? strstr(md, "\n## ") : NULL;
            if (md)
                fwrite(md, 1, end ? (size_t)(end - md) + 1 : strlen(md), stdout);
        }
        if (closed < 0)
            exit_code = cli_report_error(env, closed);
        else if (run < 0)
            exit_code = cli_exit_code(run);
    }
    free(json);
    free(md);
    return exit_code;
}
