/*
 * A Windows guest whose registry does not parse, inside its image: an overlay of
 * the phony Windows Server 2022 disk (scripts/images/build-windows-phony.sh; the
 * cached image is only ever a backing file) gets its SYSTEM hive truncated to its
 * first 4 KiB through libguestfs, then `hyper2kvm inspect` and `hyper2kvm fix
 * --virtio-win` must fail with an error naming that hive's path, and leave the
 * overlay and the cached image byte for byte as they were.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/gfs.h"
#include "testsupport.h"

static void
test_truncated_system_hive(void **state)
{
    (void)state;
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-windows-phony.sh");
    const char *argv[] = {"bash", script, "win2k22", NULL};
    char *out = NULL;
    if (ts_run(argv, &out) != 0)
        fail_msg("building the phony Windows guest failed:\n%s", out);
    char *line = strstr(out, "win2k22 /");
    assert_non_null(line);
    char *base = hk_strndup(line + 8, strcspn(line + 8, "\n"));
    free(out);
    char base_before[65], base_after[65];
    ts_sha256_file(base, base_before);

    char *dir = ts_mkdtemp();
    char *overlay = ts_join(dir, "win2k22-badhive.qcow2");

    /* the hive cut after its 4 KiB header block: a regf header with no hbin */
    h2k_ctx *ctx = ts_ctx();
    ts_allow_dir_of(ctx, base);
    ts_assert_rc(ctx, hk_qcow2_overlay(ctx, base, "qcow2", overlay), 0);
    const char *disks[] = {overlay};
    const char *formats[] = {"qcow2"};
    hk_gfs *gfs = NULL;
    ts_assert_rc(ctx, hk_gfs_open(ctx, disks, formats, 1, false, &gfs), 0);
    guestfs_h *g = gfs->g;
    assert_int_equal(guestfs_mount(g, "/dev/sda1", "/"), 0);
    const char *hive = "/Windows/System32/config/SYSTEM";
    assert_int_equal(guestfs_truncate_size(g, hive, 4096), 0);
    assert_int_equal(guestfs_umount_all(g), 0);
    ts_assert_rc(ctx, hk_gfs_close(gfs), 0);
    h2k_ctx_free(ctx);
    char ov_before[65], ov_after[65];
    ts_sha256_file(overlay, ov_before);

    char *allow = ts_dir_of(base);
    char *vw = ts_join(dir, "virtio-win");
    char *mkvw = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/make-fake-virtio-win.sh");
    const char *a1[] = {"bash", mkvw, vw, NULL};
    ts_run_ok(a1);

    /* inspect: refused, naming the hive */
    const char *insp[] = {ts_env("H2K_CLI"), "--allow-path", allow, "inspect", overlay, NULL};
    int st = ts_run(insp, &out);
    if (st == 0 || !strstr(out, "Windows/System32/config/SYSTEM"))
        fail_msg("inspect of a guest with a truncated SYSTEM hive (status %d):\n%s", st, out);
    free(out);

    /* fix: refused, naming the hive; nothing written (the overlay is the image) */
    char *report = ts_join(dir, "fix.json");
    const char *fix[] = {
        ts_env("H2K_CLI"), "--allow-path", allow, "fix", overlay, "--virtio-win", vw,
        "--report",        report,         NULL};
    st = ts_run(fix, &out);
    if (st == 0 || !strstr(out, "Windows/System32/config/SYSTEM"))
        fail_msg("fix of a guest with a truncated SYSTEM hive (status %d):\n%s", st, out);
    free(out);
    ts_sha256_file(overlay, ov_after);
    assert_string_equal(ov_before, ov_after);
    ts_sha256_file(base, base_after);
    assert_string_equal(base_before, base_after);

    ts_rmtree(dir);
    free(report);
    free(mkvw);
    free(vw);
    free(allow);
    free(overlay);
    free(dir);
    free(base);
    free(script);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_system_hive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
