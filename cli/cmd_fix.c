/* hyper2kvm fix: repair a converted guest offline so that it boots on KVM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_option fix_options[] = {
    {OPT_FORCE_INITRAMFS, "force-initramfs", 0, NULL, NULL, NULL, 0,
     "rebuild every initramfs, even where virtio drivers are present"},
    {OPT_REPORT_MD, "report-md", 0, NULL, "FILE", NULL, CLI_OPT_FILE,
     "write the Markdown report to FILE"},
    {0},
};

static const cli_option *const fix_tables[] = {cli_repair_options, fix_options, NULL};

static int
run_fix(cli_env *env, const cli_parsed *p)
{
    h2k_fix_options opts = H2K_FIX_OPTIONS_INIT;
    cli_repair rep;
    cli_repair_init(&rep);
    const char *report_md = NULL;
    for (size_t i = 0; i < p->n_items; i++) {
        const cli_item *it = &p->items[i];
        int r = cli_repair_apply(p->cmd, &rep, it);
        if (r > 1)
            return r;
        if (r == 1)
            continue;
        if (it->opt->id == OPT_FORCE_INITRAMFS)
            opts.force_initramfs = 1;
        else if (it->opt->id == OPT_REPORT_MD)
            report_md = it->value;
    }
    opts.fixes = cli_repair_selected(&rep);
    opts.keep_mac = rep.keep_mac;
    opts.dry_run = rep.dry_run;
    opts.virtio_win = rep.virtio_win;
    const char *report = rep.report;
    /* all or nothing: the images change only when the repairs completed */
    opts.atomic = 1;
    h2k_offline_fixer *fx = NULL;
    int rc = h2k_offline_fixer_open(env->ctx, p->pos, NULL, p->n_pos, &opts, &fx);
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
        if (report && cli_write_text(report, json) < 0)
            fprintf(stderr, "hyper2kvm fix: cannot write %s\n", report);
        if (report_md && cli_write_text(report_md, md) < 0)
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
            char *end = md ? strstr(md, "\n## ") : NULL;
            if (md) {
                if (end)
                    end[1] = '\0';
                fputs(cli_safe_lines(env, md), stdout);
            }
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

const cli_command cli_cmd_fix = {
    "fix",   "IMAGE...", "repair a guest offline so that it boots on KVM (all or nothing)",
    1,       -1,         fix_tables,
    run_fix,
};
