/*
 * Batches on threads and OVA manifests.
 *
 *  - A plan of four streamOptimized OVAs run with four jobs (h2k_batch_run):
 *    every output is identical to its source (qemu-img compare).  The members
 *    used to be copied through one static buffer shared by the threads.
 *  - `local` (library) and `batch` (command line) verify the OVA's manifest
 *    while the member is copied out: a SHA256 mismatch is refused naming the
 *    member and both digests, nothing is left behind; SHA1 manifests pass.
 *  - h2k_ova_verify_manifest (`ovf`) hashes each member once even when the
 *    manifest lists it thousands of times.
 * Small generated images only (a few MiB); no appliance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_helpers.h"
#include "ova_helpers.h"
#include "testsupport.h"

#define N_VMS 4
#define DISK_MIB 32

static void
test_batch_four_jobs(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    ts_require_program("tar");
    char *dir = ts_mkdtemp();
    for (int i = 0; i < N_VMS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "vm%d", i);
        free(oh_make_ova(dir, name, DISK_MIB, (uint64_t)i + 1, OH_MF_GOOD));
    }
    h2k_ctx *ctx = ts_ctx();
    h2k_plan *p = bh_plan(ctx, dir, "{\"fixes\": \"none\", \"compress\": false}", N_VMS, ".ova");
    bh_log log;
    memset(&log, 0, sizeof(log));
    double t0 = hk_now();
    int rc = h2k_batch_run(ctx, p, NULL, 4, bh_on_vm, &log);
    print_message("batch of %d OVAs (%d MiB each), jobs 4: %.1f s\n", N_VMS, DISK_MIB,
                  hk_now() - t0);
    bh_print_failures(&log);
    ts_assert_rc(ctx, rc, 0);
    assert_int_equal(log.n_done, N_VMS);
    for (int i = 0; i < N_VMS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "vm%d", i);
        char *out = hk_asprintf("%s/out/%s/%s-disk1.qcow2", dir, name, name);
        oh_compare(dir, name, out, "qcow2");
        free(out);
    }
    h2k_plan_free(p);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(dir);
}

static int
count_prefix(const char *dir, const char *prefix)
{
    char *cmd = hk_asprintf("ls -a '%s' | grep -c '^%s' || true", dir, prefix);
    FILE *p = popen(cmd, "r");
    int n = -1;
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    free(cmd);
    return n;
}

/* `local` on an OVA whose manifest does not match its disk: refused while the
 * member is copied out, naming the member and both digests; no output, no work
 * folder.  The same OVA with a right SHA1 manifest migrates. */
static void
test_local_manifest(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    char *dir = ts_mkdtemp();
    char *tmp = ts_join(dir, "tmp");
    assert_int_equal(mkdir(tmp, 0700), 0);
    char *bad = oh_make_ova(dir, "bad", 2, 7, OH_MF_BAD_DISK);
    char *good = oh_make_ova(dir, "good", 2, 8, OH_MF_SHA1_GOOD);
    h2k_ctx *ctx = ts_ctx();
    assert_int_equal(h2k_ctx_set_tmpdir(ctx, tmp), 0);
    char *out = ts_join(dir, "out");
    const char *inputs[] = {bad};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.fixes = 0;
    h2k_migration_result *res = NULL;
    int rc = h2k_orchestrator_run(ctx, &o, &res);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    print_message("mismatch: %s\n", e->message);
    assert_int_equal(rc, H2K_ERR_VALIDATION);
    assert_non_null(strstr(e->message, "disk.vmdk"));
    assert_non_null(strstr(e->message, "bad.mf"));
    assert_non_null(strstr(e->message, "SHA256"));
    assert_non_null(strstr(e->message, "expected"));
    /* the manifest's digest and the real one are both named */
    const char *actual = strstr(e->message, "actual ");
    assert_non_null(actual);
    assert_true(strspn(actual + 7, "0123456789abcdef") == 64);
    assert_false(ts_exists(out) && ts_count_dir(out) > 0);
    assert_int_equal(count_prefix(tmp, "h2k-run-"), 0);
    h2k_migration_result_free(res);
    res = NULL;
    inputs[0] = good;
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &o, &res), 0);
    char *disk = ts_join(out, "good-disk1.qcow2");
    oh_compare(dir, "good", disk, "qcow2");
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(disk);
    free(out);
    free(good);
    free(bad);
    free(tmp);
    free(dir);
}

/* `hyper2kvm batch`: the VM whose manifest does not match fails with the
 * digests in its message, the other one migrates. */
static void
test_batch_manifest_cli(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    char *dir = ts_mkdtemp();
    free(oh_make_ova(dir, "ok", 2, 11, OH_MF_GOOD));
    free(oh_make_ova(dir, "tampered", 2, 12, OH_MF_BAD_DISK));
    const char *plan = "{\"output_dir\": \"out\", \"jobs\": 2,\n"
                       " \"defaults\": {\"fixes\": \"none\"},\n"
                       " \"vms\": [{\"name\": \"ok\", \"inputs\": [\"ok.ova\"]},\n"
                       "         {\"name\": \"tampered\", \"inputs\": [\"tampered.ova\"]}]}\n";
    char *plan_path = ts_join(dir, "plan.json");
    ts_write_file(plan_path, plan, strlen(plan));
    const char *argv[] = {ts_env("H2K_CLI"), "batch", plan_path, "--jobs", "2", NULL};
    char *text = NULL;
    int st = ts_run(argv, &text);
    print_message("%s\n", text);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(text, "does not match manifest"));
    assert_non_null(strstr(text, "disk.vmdk"));
    char *ok = ts_join(dir, "out/ok/ok-disk1.qcow2");
    oh_compare(dir, "ok", ok, "qcow2");
    char *t_out = ts_join(dir, "out/tampered");
    assert_false(ts_exists(t_out) && ts_count_dir(t_out) > 0);
    free(t_out);
    free(ok);
    free(text);
    ts_rmtree(dir);
    free(plan_path);
    free(dir);
}

typedef struct hashed {
    h2k_ctx *ctx;
    uint64_t total, limit;
} hashed;

/* Records the bytes to hash; stops the check (cancel) as soon as more than
 * @limit are announced: hashing the disk 18,000 times would take an hour. */
static void
on_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    hashed *h = ud;
    (void)done;
    if (strcmp(stage, "verify") != 0)
        return;
    h->total = total;
    if (total > h->limit)
        h2k_ctx_cancel(h->ctx);
}

/* A manifest listing the disk 18,000 times: each member is hashed once (the
 * bytes to hash, as progress reports them, are the disk and the OVF once).
 * A later line giving the same member another digest is a mismatch. */
static void
test_ovf_manifest_dedupe(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    char *dir = ts_mkdtemp();
    char *ova0 = oh_make_ova(dir, "rep", 4, 21, OH_MF_NONE);
    /* repacked with a long manifest (SHA1 and a short name: under the 1 MiB
       manifest limit) */
    char *pkg = ts_join(dir, "pkg");
    assert_int_equal(mkdir(pkg, 0755), 0);
    const char *untar[] = {"tar", "-C", pkg, "-xf", ova0, NULL};
    ts_run_ok(untar);
    char *vmdk0 = ts_join(pkg, "disk.vmdk");
    char *vmdk = ts_join(pkg, "d.vmdk");
    assert_int_equal(rename(vmdk0, vmdk), 0);
    char *ovf = ts_join(pkg, "rep.ovf");
    char *d_disk = oh_file_digest("SHA1", vmdk);
    char *d_ovf = oh_file_digest("SHA1", ovf);
    hk_buf mf = {0};
    hk_buf_printf(&mf, "SHA1(rep.ovf)= %s\n", d_ovf);
    for (int i = 0; i < 18000; i++)
        hk_buf_printf(&mf, "SHA1(d.vmdk)= %s\n", d_disk);
    char *mf_path = ts_join(pkg, "rep.mf");
    ts_write_file(mf_path, mf.data, mf.len);
    hk_buf_free(&mf);
    char *ova = ts_join(dir, "long.ova");
    const char *tar[] = {"tar", "--format=ustar", "-C",     pkg,      "-cf",
                         ova,   "rep.ovf",        "d.vmdk", "rep.mf", NULL};
    ts_run_ok(tar);
    struct stat sd, so;
    assert_int_equal(stat(vmdk, &sd), 0);
    assert_int_equal(stat(ovf, &so), 0);
    h2k_ctx *ctx = ts_ctx();
    hashed h = {ctx, 0, (uint64_t)sd.st_size + (uint64_t)so.st_size};
    h2k_ctx_set_progress(ctx, on_progress, &h);
    h2k_ova *o = NULL;
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova, &o), 0);
    double t0 = hk_now();
    ts_assert_rc(ctx, h2k_ova_verify_manifest(ctx, o), 0);
    print_message("18,001 manifest lines verified in %.2f s\n", hk_now() - t0);
    assert_int_equal(h.total, (uint64_t)sd.st_size + (uint64_t)so.st_size);
    h2k_ova_free(o);
    /* a second line for the same member with another digest is a mismatch */
    hk_buf m2 = {0};
    hk_buf_printf(&m2, "SHA1(rep.ovf)= %s\nSHA1(d.vmdk)= %s\n", d_ovf, d_disk);
    d_disk[5] = d_disk[5] == 'a' ? 'b' : 'a';
    hk_buf_printf(&m2, "SHA1(d.vmdk)= %s\n", d_disk);
    ts_write_file(mf_path, m2.data, m2.len);
    hk_buf_free(&m2);
    unlink(ova);
    ts_run_ok(tar);
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova, &o), 0);
    assert_int_equal(h2k_ova_verify_manifest(ctx, o), H2K_ERR_VALIDATION);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "line 3"));
    h2k_ova_free(o);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(ova);
    free(mf_path);
    free(d_ovf);
    free(d_disk);
    free(ovf);
    free(vmdk);
    free(vmdk0);
    free(pkg);
    free(ova0);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_four_jobs),
        cmocka_unit_test(test_local_manifest),
        cmocka_unit_test(test_batch_manifest_cli),
        cmocka_unit_test(test_ovf_manifest_dedupe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
