/*
 * The virt-v2v backend of h2k_orchestrator_run() (backend = "virt-v2v").
 *
 * - The real Debian 12 guest (scripts/images/build-debian-guest.sh) through
 *   virt-v2v 2.x: the result is filled like the native backend's (outputs with
 *   path, format, size, sha256 and virtual size; our XML; per-stage timings
 *   and progress under "fix", "trim", "copy"; the reports), virt-v2v's warnings
 *   carried over, the source unchanged, nothing left in the temporary folder.
 *   The output is NOT boot-tested: virt-v2v leaves this guest's GRUB root
 *   device and interface name as they were (see bench/README.md); the result
 *   carries a warning saying so.  Slow (one virt-v2v run under TCG).
 * - Fast failures: a missing input stops at "probe"; a virt-v2v that fails
 *   (a stand-in script first in PATH) names its step and its error, with or
 *   without a JSON error message; a cancel kills its whole process group.
 *   None leaves an output or a temporary file.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

#define GUEST_MAC "00:50:56:3a:12:7b"

/* Progress events: the distinct stage names, in order of first appearance. */
typedef struct progress_log {
    char stages[256];
    h2k_ctx *cancel_ctx; /* cancelled on the first "fix" event with done >= 1 */
} progress_log;

static void
on_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    progress_log *pl = ud;
    (void)total;
    size_t n = strlen(pl->stages);
    const char *last = strrchr(pl->stages, ' ');
    last = last ? last + 1 : pl->stages;
    if (strcmp(last, stage) != 0 && n + strlen(stage) + 2 < sizeof(pl->stages))
        snprintf(pl->stages + n, sizeof(pl->stages) - n, "%s%s", n ? " " : "", stage);
    if (pl->cancel_ctx && strcmp(stage, "fix") == 0 && done >= 1)
        h2k_ctx_cancel(pl->cancel_ctx);
}

static double
timing(const h2k_migration_result *res, const char *stage)
{
    for (size_t i = 0; i < res->n_timings; i++)
        if (strcmp(res->timings[i].stage, stage) == 0)
            return res->timings[i].seconds;
    fail_msg("no timing for stage %s", stage);
    return -1;
}

static int
has_warning(const h2k_migration_result *res, const char *prefix)
{
    for (size_t i = 0; i < res->n_warnings; i++)
        if (strncmp(res->warnings[i], prefix, strlen(prefix)) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------ the real guest */

static void
test_v2v_debian(void **state)
{
    (void)state;
    ts_require_program("virt-v2v");
    ts_require_program("nbdcopy");
    ts_require_program("qemu-img");
    char *src = ts_debian_guest();
    char before[65], after[65];
    ts_sha256_file(src, before);
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    char *tmp = ts_join(dir, "tmp");
    assert_int_equal(mkdir(tmp, 0700), 0);
    h2k_ctx *ctx = ts_ctx();
    h2k_ctx_set_tmpdir(ctx, tmp);
    progress_log pl = {{0}, NULL};
    h2k_ctx_set_progress(ctx, on_progress, &pl);
    const char *inputs[] = {src};
    const char *macs[] = {GUEST_MAC};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.name = "debian12";
    o.nic_macs = macs;
    o.n_nic_macs = 1;
    o.backend = "virt-v2v";
    h2k_migration_result *res = NULL;
    int rc = h2k_orchestrator_run(ctx, &o, &res);
    ts_assert_rc(ctx, rc, 0);
    assert_int_equal(res->success, 1);
    assert_int_equal(res->code, 0);
    assert_null(res->failed_stage);
    assert_string_equal(res->backend, "virt-v2v");
    assert_string_equal(res->name, "debian12");

    /* the disk, as the native backend describes it */
    assert_int_equal(res->n_outputs, 1);
    const h2k_migration_output *mo = &res->outputs[0];
    char *disk = ts_join(out, "debian12-disk1.qcow2");
    assert_string_equal(mo->path, disk);
    assert_string_equal(mo->format, "qcow2");
    assert_string_equal(mo->source_path, src);
    assert_string_equal(mo->source_format, "vmdk");
    assert_int_equal(mo->virtual_size, 3ull << 30);
    struct stat sb;
    assert_int_equal(stat(disk, &sb), 0);
    assert_int_equal(mo->size, (uint64_t)sb.st_blocks * 512u);
    assert_true(mo->size > (100u << 20) && mo->size < (1u << 30));
    char sum[65];
    ts_sha256_file(disk, sum);
    assert_string_equal(mo->sha256, sum);
    const char *info[] = {"qemu-img", "info", "--output=json", disk, NULL};
    char *iout = NULL;
    assert_int_equal(ts_run(info, &iout), 0);
    assert_non_null(strstr(iout, "\"format\": \"qcow2\""));
    free(iout);

    /* our XML, with the MAC given */
    char *xml_path = ts_join(out, "debian12.xml");
    assert_non_null(res->xml_path);
    assert_string_equal(res->xml_path, xml_path);
    char *xml = ts_read_file(xml_path, NULL);
    assert_non_null(strstr(xml, GUEST_MAC));
    assert_non_null(strstr(xml, disk));

    /* stages: virt-v2v's steps under our names, in order, each timed */
    assert_string_equal(pl.stages, "probe fix trim copy xml report");
    assert_true(timing(res, "probe") >= 0);
    assert_true(timing(res, "fix") > 10); /* appliance, inspection, conversion */
    assert_true(timing(res, "trim") > 0);
    assert_true(timing(res, "copy") > 0);
    assert_true(timing(res, "xml") >= 0);
    assert_true(res->total_seconds >= timing(res, "fix") + timing(res, "copy"));
    assert_null(res->boot);
    assert_int_equal(res->n_fixes, 0);

    /* warnings: the output is as virt-v2v left it; virt-v2v 2.2 says it
       could not update GRUB on this guest */
    assert_true(has_warning(res, "virt-v2v backend: hyper2kvm's repairs did not run"));
    assert_true(has_warning(res, "virt-v2v: could not determine a way to update the "
                                 "configuration of Grub2"));

    /* reports */
    char *rep_path = ts_join(out, "debian12.report.json");
    char *md_path = ts_join(out, "debian12.report.md");
    assert_string_equal(res->report_json_path, rep_path);
    assert_string_equal(res->report_md_path, md_path);
    char *rep = ts_read_file(rep_path, NULL);
    assert_non_null(strstr(rep, "\"virt-v2v\""));
    assert_non_null(strstr(rep, sum));
    assert_non_null(strstr(rep, "\"trim\""));
    assert_non_null(strstr(rep, "repairs did not run"));
    assert_true(ts_exists(md_path));

    /* disk, XML, two reports; no virt-v2v folder or XML; no temporary file */
    assert_int_equal(ts_count_dir(out), 4);
    assert_int_equal(ts_count_dir(tmp), 0);
    ts_sha256_file(src, after);
    assert_string_equal(before, after);

    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(rep);
    free(rep_path);
    free(md_path);
    free(xml);
    free(xml_path);
    free(disk);
    free(tmp);
    free(out);
    free(dir);
    free(src);
}

/* ------------------------------------------------------ fast failures */

static void
test_v2v_missing_input(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    char *tmp = ts_join(dir, "tmp");
    char *missing = ts_join(dir, "nope.vmdk");
    assert_int_equal(mkdir(tmp, 0700), 0);
    h2k_ctx *ctx = ts_ctx();
    h2k_ctx_set_tmpdir(ctx, tmp);
    const char *inputs[] = {missing};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.backend = "virt-v2v";
    h2k_migration_result *res = NULL;
    int rc = h2k_orchestrator_run(ctx, &o, &res);
    ts_assert_rc(ctx, rc, H2K_ERR_NOT_FOUND);
    assert_non_null(res);
    assert_int_equal(res->success, 0);
    assert_int_equal(res->code, H2K_ERR_NOT_FOUND);
    assert_string_equal(res->failed_stage, "probe");
    assert_string_equal(h2k_ctx_last_error(ctx)->stage, "probe");
    assert_string_equal(res->backend, "virt-v2v");
    assert_int_equal(res->n_outputs, 0);
    assert_false(ts_exists(out));
    assert_int_equal(ts_count_dir(tmp), 0);
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(missing);
    free(tmp);
    free(out);
    free(dir);
}

/* A stand-in virt-v2v: prints virt-v2v 2.2's first messages, records its
 * environment and leaves a file in its temporary folder, then per $FAKE_MODE:
 * "json" fails with a JSON error, "stderr" fails with only stderr text,
 * "hang" starts a grandchild (pid in $FAKE_PIDFILE) and waits. */
static const char fake_v2v[] =
    "#!/bin/bash\n"
    "msg() { printf '{ \"message\": \"%s\", \"timestamp\": \"t\", \"type\": \"%s\" }\\n' \"$1\" "
    "\"$2\"; }\n"
    "env > \"$FAKE_ENVFILE\"\n"
    "echo \"$@\" > \"$FAKE_ENVFILE.argv\"\n"
    "touch \"$VIRT_V2V_TMPDIR/overlay.qcow2\" \"$TMPDIR/v2v.sock\"\n"
    "msg 'Setting up the source: -i disk x' message\n"
    "if [ \"$FAKE_MODE\" = hang ]; then\n"
    "  sleep 600 & echo $! > \"$FAKE_PIDFILE\"\n"
    "  msg 'Opening the source' message; wait; exit 0\n"
    "fi\n"
    "msg 'Opening the source' message\n"
    "msg 'Inspecting the source' message\n"
    "msg 'could not determine a way\\nto update Grub2' warning\n"
    "printf '\\r  0%% [----]\\r 50%% [**--]\\r100%% [****]\\n' >&2\n"
    "case \"$FAKE_MODE\" in\n"
    "json) msg 'inspection could not detect the source guest.\\n\\nNo root device found.' "
    "error\n"
    "  printf 'virt-v2v: error: inspection could not detect the source guest.\\n\\n"
    "If reporting bugs, run virt-v2v with debugging enabled:\\n\\n  virt-v2v -v -x "
    "[...]\\n' >&2 ;;\n"
    "stderr) printf 'nbdkit: error: plugin vddk\\nvirt-v2v: error: nbdkit did not start\\n\\n' "
    ">&2 ;;\n"
    "esac\n"
    "exit 1\n";

typedef struct fake_env {
    char *dir, *bin, *out, *tmp, *envfile, *pidfile;
    char *old_path;
} fake_env;

static void
fake_setup(fake_env *f, const char *mode)
{
    f->dir = ts_mkdtemp();
    f->bin = ts_join(f->dir, "bin");
    f->out = ts_join(f->dir, "out");
    f->tmp = ts_join(f->dir, "tmp");
    f->envfile = ts_join(f->dir, "env.txt");
    f->pidfile = ts_join(f->dir, "pid.txt");
    assert_int_equal(mkdir(f->bin, 0700), 0);
    assert_int_equal(mkdir(f->tmp, 0700), 0);
    char *script = ts_join(f->bin, "virt-v2v");
    ts_write_file(script, fake_v2v, strlen(fake_v2v));
    assert_int_equal(chmod(script, 0755), 0);
    free(script);
    const char *path = getenv("PATH");
    f->old_path = strdup(path ? path : "/usr/bin:/bin");
    char *np = hk_asprintf("%s:%s", f->bin, f->old_path);
    setenv("PATH", np, 1);
    free(np);
    setenv("FAKE_MODE", mode, 1);
    setenv("FAKE_ENVFILE", f->envfile, 1);
    setenv("FAKE_PIDFILE", f->pidfile, 1);
}

static void
fake_teardown(fake_env *f)
{
    setenv("PATH", f->old_path, 1);
    unsetenv("FAKE_MODE");
    unsetenv("FAKE_ENVFILE");
    unsetenv("FAKE_PIDFILE");
    ts_rmtree(f->dir);
    free(f->dir);
    free(f->bin);
    free(f->out);
    free(f->tmp);
    free(f->envfile);
    free(f->pidfile);
    free(f->old_path);
}

/* Runs the backend on a small qcow2 through the stand-in; returns rc. */
static int
fake_run(fake_env *f, h2k_ctx *ctx, h2k_migration_result **res)
{
    char *disk = ts_join(f->dir, "disk.qcow2");
    const char *mk[] = {"qemu-img", "create", "-q", "-f", "qcow2", disk, "64M", NULL};
    ts_run_ok(mk);
    h2k_ctx_set_tmpdir(ctx, f->tmp);
    const char *inputs[] = {disk};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = f->out;
    o.name = "vm";
    o.backend = "virt-v2v";
    int rc = h2k_orchestrator_run(ctx, &o, res);
    free(disk);
    return rc;
}

/* True while @pid runs (a zombie waiting for its reaper counts as gone). */
static int
process_alive(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[512];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z';
}

static void
assert_nothing_left(fake_env *f, h2k_migration_result *res)
{
    assert_int_equal(res->n_outputs, 0);
    assert_false(ts_exists(f->out)); /* created by the run, removed empty */
    assert_int_equal(ts_count_dir(f->tmp), 0);
}

static void
test_v2v_fails_json_error(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    fake_env f;
    fake_setup(&f, "json");
    h2k_ctx *ctx = ts_ctx();
    progress_log pl = {{0}, NULL};
    h2k_ctx_set_progress(ctx, on_progress, &pl);
    h2k_migration_result *res = NULL;
    int rc = fake_run(&f, ctx, &res);
    ts_assert_rc(ctx, rc, H2K_ERR_CONVERSION);
    assert_string_equal(res->failed_stage, "fix");
    char *want = hk_asprintf("%s/disk.qcow2: virt-v2v failed (exit 1) at step: Inspecting the "
                             "source: inspection could not detect the source guest. No root "
                             "device found.",
                             f.dir);
    assert_string_equal(res->error_message, want);
    free(want);
    assert_string_equal(pl.stages, "probe fix");
    /* its warning is ours, on one line */
    assert_true(has_warning(res, "virt-v2v: could not determine a way to update Grub2"));
    assert_nothing_left(&f, res);

    /* what it was given: TCG where KVM cannot run guests, its temporary
       folders inside the run's work folder, the appliance cache kept */
    char *env = ts_read_file(f.envfile, NULL);
    assert_non_null(strstr(env, "\nLIBGUESTFS_BACKEND=direct\n"));
    if (!hk_kvm_possible())
        assert_non_null(strstr(env, "LIBGUESTFS_BACKEND_SETTINGS=force_tcg"));
    char *want_tmp = hk_asprintf("\nVIRT_V2V_TMPDIR=%s/h2k-run-", f.tmp);
    assert_non_null(strstr(env, want_tmp));
    assert_non_null(strstr(env, "\nLIBGUESTFS_CACHEDIR="));
    char *argv_path = hk_asprintf("%s.argv", f.envfile);
    char *argv = ts_read_file(argv_path, NULL);
    char *want_argv = hk_asprintf("-i disk %s/disk.qcow2 -o local -os %s/.vm.v2v-", f.dir, f.out);
    assert_non_null(strstr(argv, want_argv));
    assert_non_null(strstr(argv, " -of qcow2 -on vm --machine-readable"));
    free(want_argv);
    free(argv);
    free(argv_path);
    free(want_tmp);
    free(env);
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    fake_teardown(&f);
}

static void
test_v2v_fails_stderr_only(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    fake_env f;
    fake_setup(&f, "stderr");
    h2k_ctx *ctx = ts_ctx();
    h2k_migration_result *res = NULL;
    int rc = fake_run(&f, ctx, &res);
    ts_assert_rc(ctx, rc, H2K_ERR_CONVERSION);
    assert_string_equal(res->failed_stage, "fix");
    /* the last lines of stderr, the progress bar dropped */
    char *want = hk_asprintf("%s/disk.qcow2: virt-v2v failed (exit 1) at step: Inspecting the "
                             "source: nbdkit: error: plugin vddk virt-v2v: error: nbdkit did not "
                             "start",
                             f.dir);
    assert_string_equal(res->error_message, want);
    free(want);
    assert_nothing_left(&f, res);
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    fake_teardown(&f);
}

static void
test_v2v_cancel_kills_group(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    fake_env f;
    fake_setup(&f, "hang");
    h2k_ctx *ctx = ts_ctx();
    progress_log pl = {{0}, ctx};
    h2k_ctx_set_progress(ctx, on_progress, &pl);
    h2k_migration_result *res = NULL;
    double t0 = hk_now();
    int rc = fake_run(&f, ctx, &res);
    ts_assert_rc(ctx, rc, H2K_ERR_CANCELLED);
    assert_true(hk_now() - t0 < 30);
    assert_string_equal(res->failed_stage, "fix");
    assert_nothing_left(&f, res);
    /* the grandchild went with the group */
    char *pid_s = ts_read_file(f.pidfile, NULL);
    pid_t pid = (pid_t)atoi(pid_s);
    assert_true(pid > 1);
    int alive = 1;
    for (int i = 0; i < 50 && alive; i++) {
        alive = process_alive(pid);
        if (alive)
            usleep(100 * 1000);
    }
    assert_false(alive);
    free(pid_s);
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    fake_teardown(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2v_missing_input),
        cmocka_unit_test(test_v2v_fails_json_error),
        cmocka_unit_test(test_v2v_fails_stderr_only),
        cmocka_unit_test(test_v2v_cancel_kills_group),
        cmocka_unit_test(test_v2v_debian),
    };
    /* H2K_TEST_FILTER=test_v2v_fails* runs some tests only (the fast ones) */
    if (getenv("H2K_TEST_FILTER"))
        cmocka_set_test_filter(getenv("H2K_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
