/* hyper2kvm live-fix: prepare a running Linux source VM for KVM over SSH. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
    OPT_LF_HOST = OPT_EXTRA + 100,
    OPT_LF_PORT,
    OPT_LF_KEY,
    OPT_LF_KNOWN_HOSTS,
    OPT_LF_ACCEPT_NEW,
    OPT_LF_SUDO,
};

static const cli_option live_fix_options[] = {
    {OPT_LF_HOST, "host", 0, NULL, "HOST", NULL, 0, "host name or address of the running VM"},
    {OPT_LF_PORT, "port", 0, NULL, "PORT", NULL, 0, "SSH port (default 22)"},
    {OPT_USER, "user", 0, NULL, "USER", NULL, 0, "remote user (root, or a user with --sudo)"},
    {OPT_LF_KEY, "key", 0, NULL, "FILE", NULL, CLI_OPT_FILE,
     "private key file (key authentication only)"},
    {OPT_LF_KNOWN_HOSTS, "known-hosts", 0, NULL, "FILE", NULL, CLI_OPT_FILE,
     "known_hosts file the host key is verified against (default ~/.ssh/known_hosts)"},
    {OPT_LF_ACCEPT_NEW, "accept-new-host-key", 0, NULL, NULL, NULL, 0,
     "add the host key when the host is not yet known (a changed key is still refused)"},
    {OPT_LF_SUDO, "sudo", 0, NULL, NULL, NULL, 0, "run every command with sudo -n"},
    {OPT_FIXES, "fixes", 0, "only", "LIST", NULL, 0,
     "repairs to run: fstab, grub, network, initramfs (the default), vmware_tools; all; none"},
    {OPT_DRY_RUN, "dry-run", 0, NULL, NULL, NULL, 0,
     "list every change and command, write and run nothing that changes the VM"},
    {OPT_REPORT, "report", 0, NULL, "FILE", NULL, CLI_OPT_FILE, "write the JSON report to FILE"},
    {OPT_TIMEOUT, "timeout", 0, NULL, "SEC", NULL, 0, "seconds each remote command may take"},
    {0},
};

static const cli_option *const live_fix_tables[] = {live_fix_options, NULL};

static int
run_live_fix(cli_env *env, const cli_parsed *p)
{
    h2k_live_fix_options o = H2K_LIVE_FIX_OPTIONS_INIT;
    const char *report = NULL;
    unsigned long v = 0;
    for (size_t i = 0; i < p->n_items; i++) {
        const cli_item *it = &p->items[i];
        switch (it->opt->id) {
        case OPT_LF_HOST:
            o.host = it->value;
            break;
        case OPT_LF_PORT:
            if (!cli_parse_uint(it->value, 1, 65535, &v))
                return cli_usage_error(p->cmd, "--port: not a port: %s", it->value);
            o.port = (unsigned)v;
            break;
        case OPT_USER:
            o.user = it->value;
            break;
        case OPT_LF_KEY:
            o.key_file = it->value;
            break;
        case OPT_LF_KNOWN_HOSTS:
            o.known_hosts_file = it->value;
            break;
        case OPT_LF_ACCEPT_NEW:
            o.accept_new_host_key = 1;
            break;
        case OPT_LF_SUDO:
            o.sudo = 1;
            break;
        case OPT_DRY_RUN:
            o.dry_run = 1;
            break;
        case OPT_REPORT:
            report = it->value;
            break;
        case OPT_TIMEOUT:
            if (!cli_parse_uint(it->value, 1, 86400, &v))
                return cli_usage_error(p->cmd, "--timeout: not a number of seconds: %s", it->value);
            o.command_timeout = (unsigned)v;
            break;
        case OPT_FIXES: {
            unsigned bits = 0;
            if (cli_parse_fixes(it->value, &bits) < 0)
                return cli_usage_error(p->cmd, "--fixes: unknown repair in %s", it->value);
            o.fixes = bits;
            break;
        }
        default:
            break;
        }
    }
    if (!o.host)
        return cli_usage_error(p->cmd, "--host is required");
    if (!o.user)
        return cli_usage_error(p->cmd, "--user is required");
    if (!o.key_file)
        return cli_usage_error(p->cmd, "--key is required");
    h2k_live_fixer *lf = NULL;
    int rc = h2k_live_fixer_new(env->ctx, &o, &lf);
    if (rc < 0)
        return cli_report_error(env, rc);
    int run = h2k_live_fixer_run(lf);
    int exit_code = CLI_EXIT_OK;
    if (run < 0 && run != H2K_ERR_FIXER) {
        exit_code = cli_report_error(env, run);
    } else {
        char *json = h2k_live_fixer_report_json(lf);
        if (report && cli_write_text(report, json) < 0)
            fprintf(stderr, "hyper2kvm live-fix: cannot write %s\n", report);
        if (env->json) {
            cli_print_json(json);
        } else if (!env->quiet) {
            char *md = h2k_live_fixer_report_markdown(lf);
            if (md)
                fputs(cli_safe_lines(env, md), stdout);
            free(md);
        }
        free(json);
        if (run < 0)
            exit_code = cli_exit_code(run);
    }
    h2k_live_fixer_free(lf);
    return exit_code;
}

const cli_command cli_cmd_live_fix = {
    "live-fix",
    NULL,
    "prepare a running Linux VM for KVM over SSH (before the cutover)",
    0,
    0,
    live_fix_tables,
    run_live_fix,
};
