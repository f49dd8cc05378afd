/*
 * The virt-v2v backend of the orchestrator: runs
 *   virt-v2v -i disk|ova|vmx INPUT -o local -os WORK -of qcow2|raw -on NAME
 * in the work folder and moves its disks to OUTPUT_DIR/<name>-diskN.<fmt>.
 * virt-v2v makes its own XML; ours is written by the orchestrator as usual.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "orch_internal.h"

static void
v2v_line(void *ud, const char *line)
{
    h2k_ctx *ctx = ud;
    hk_debug(ctx, "virt-v2v", "%s", line);
}

int
hk_orch_run_virt_v2v(h2k_ctx *ctx, const h2k_run_options *opts, const char *work_dir,
                     h2k_migration_result *res)
{
    const char *in = opts->inputs[0];
    const char *mode = hk_endswith_nocase(in, ".ova")   ? "ova"
                       : hk_endswith_nocase(in, ".vmx") ? "vmx"
                                                        : "disk";
    if (opts->n_inputs != 1 || hk_endswith_nocase(in, ".ovf"))
        return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, in, -1, "backend",
                           "the virt-v2v backend takes one disk, .ova or .vmx");
    char *prog = hk_find_program("virt-v2v");
    if (!prog)
        return hk_error(ctx, H2K_ERR_NOT_FOUND, "virt-v2v is not installed");
    free(prog);
    const char *fmt = opts->output_format ? opts->output_format : "qcow2";
    char *os = hk_path_join(work_dir, "v2v");
    char *out_dir = hk_abspath(opts->output_dir);
    if (!os || !out_dir) {
        free(os);
        free(out_dir);
        return hk_error_nomem(ctx);
    }
    int rc = 0;
    if (mkdir(os, 0700) < 0) {
        rc = hk_error_errno(ctx, errno, os, "cannot create");
        goto done;
    }
    const char *argv[] = {"virt-v2v",
                          "-i",
                          mode,
                          in,
                          "-o",
                          "local",
                          "-os",
                          os,
                          "-of",
                          fmt,
                          "-on",
                          res->name,
                          "--machine-readable",
                          NULL};
    /* virt-v2v's appliance would pick a /dev/kvm that cannot run it and hang */
    const char *env[] = {"LIBGUESTFS_BACKEND=direct",
                         hk_kvm_possible() ? NULL : "LIBGUESTFS_BACKEND_SETTINGS=force_tcg", NULL};
    hk_run_opts ro = {0};
    ro.on_stdout_line = v2v_line;
    ro.userdata = ctx;
    ro.timeout_seconds = 7200;
    ro.envp = env;
    hk_run_result rr;
    memset(&rr, 0, sizeof(rr));
    hk_progress(ctx, "copy", 0, 1000);
    rc = hk_run(ctx, argv, &ro, &rr);
    if (rc == 0 && (rr.cancelled || rr.exit_status != 0))
        rc = rr.cancelled ? hk_error(ctx, H2K_ERR_CANCELLED, "virt-v2v cancelled")
                          : hk_error_at(ctx, H2K_ERR_CONVERSION, in, -1, NULL,
                                        "virt-v2v failed (exit %d): %s", rr.exit_status,
                                        rr.stderr_tail ? rr.stderr_tail : "");
    hk_run_result_clear(&rr);
    if (rc < 0)
        goto done;
    /* its disks: NAME-sda, NAME-sdb, ... */
    res->outputs = calloc(26, sizeof(*res->outputs));
    if (!res->outputs) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    for (int i = 0; i < 26; i++) {
        char *from = hk_asprintf("%s/%s-sd%c", os, res->name, 'a' + i);
        char *to = hk_asprintf("%s/%s-disk%d.%s", out_dir, res->name, i + 1, fmt);
        struct stat sb;
        if (!from || !to || stat(from, &sb) != 0) {
            free(from);
            free(to);
            break;
        }
        if (stat(to, &sb) == 0 || rename(from, to) < 0) {
            rc = stat(to, &sb) == 0
                     ? hk_error_at(ctx, H2K_ERR_EXISTS, to, -1, NULL, "the output already exists")
                     : hk_error_errno(ctx, errno, to, "cannot move the output");
            free(from);
            free(to);
            goto done;
        }
        h2k_migration_output *mo = &res->outputs[res->n_outputs++];
        mo->path = to;
        mo->format = strdup(fmt);
        mo->source_path = strdup(in);
        mo->source_format = strdup(mode);
        free(from);
    }
    if (res->n_outputs == 0)
        rc = hk_error_at(ctx, H2K_ERR_CONVERSION, os, -1, NULL, "virt-v2v wrote no disk for %s",
                         res->name);
    hk_progress(ctx, "copy", 1000, 1000);
done:
    free(os);
    free(out_dir);
    return rc;
}
