/*
 * Example: repair a guest offline so that it boots on KVM (fstab, GRUB,
 * network, initramfs, VMware tools, SELinux), in one libguestfs appliance.
 * All or nothing: the repairs reach the disks only when they have all run
 * (h2k_offline_fixer_commit); a failure before leaves the disks unchanged.
 *
 *   cc fix_guest.c $(pkg-config --cflags --libs hyper2kvm) -o fix_guest
 *   ./fix_guest [--dry-run] disk1.qcow2 [disk2.qcow2...]
 *   ./fix_guest --self-test      (checks the repair names; needs no VM)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hyper2kvm.h>

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0)
        return h2k_fix_kinds_parse("fstab,grub") == (H2K_FIX_FSTAB | H2K_FIX_GRUB) &&
                       h2k_fix_kinds_parse("bogus") < 0
                   ? 0
                   : 1;
    h2k_fix_options opts = H2K_FIX_OPTIONS_INIT;
    opts.atomic = 1;
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--dry-run") == 0) {
        opts.dry_run = 1;
        first = 2;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [--dry-run] DISK [DISK...]\n", argv[0]);
        return 2;
    }
    h2k_ctx *ctx = NULL;
    h2k_offline_fixer *fx = NULL;
    if (h2k_ctx_new(&ctx) < 0)
        return 1;
    int rc = h2k_offline_fixer_open(ctx, (const char *const *)argv + first, NULL,
                                    (size_t)(argc - first), &opts, &fx);
    if (rc == 0) {
        rc = h2k_offline_fixer_run_all(fx);
        if (rc == 0 || rc == H2K_ERR_FIXER) { /* one failed repair: keep the others */
            int committed = h2k_offline_fixer_commit(fx);
            if (committed < 0)
                rc = committed;
        }
        char *md = h2k_offline_fixer_report_markdown(fx);
        if (md)
            fputs(md, stdout);
        free(md);
        int closed = h2k_offline_fixer_close(fx);
        if (rc == 0)
            rc = closed;
    }
    if (rc < 0)
        fprintf(stderr, "repair failed [%s]: %s\n", h2k_code_name(rc),
                h2k_ctx_last_error(ctx)->message);
    h2k_ctx_free(ctx);
    return rc < 0 ? 1 : 0;
}
