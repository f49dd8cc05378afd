/*
 * The orchestrator on small images (no appliance except the dry run): a
 * migration without repairs, failures at "probe" and cancel during "copy"
 * leave nothing behind, the dry run writes only the report, the CLI, and a
 * batch of two VMs that resumes after an interruption.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

static char *
make_disk(const char *dir, const char *name, const char *fmt, const char *size)
{
    char *path = ts_join(dir, name);
    const char *argv[] = {"qemu-img", "create", "-q", "-f", fmt, path, size, NULL};
    ts_run_ok(argv);
    return path;
}

/* Writes @mib MiB of non-zero data at the start of a raw image. */
static void
fill_raw(const char *path, int mib)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    char buf[65536];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)(i * 7 + 1);
    for (int i = 0; i < mib * 16; i++)
        assert_int_equal(fwrite(buf, 1, sizeof(buf), f), sizeof(buf));
    fclose(f);
}

static int
count_work_dirs(const char *tmp)
{
    char *cmd = hk_asprintf("ls -d %s/h2k-run-* 2>/dev/null | wc -l", tmp);
    FILE *p = popen(cmd, "r");
    int n = -1;
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    free(cmd);
    return n;
}

static void
test_no_fixes(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    char *dir = ts_mkdtemp();
    char *tmp = ts_join(dir, "tmp");
    char *out = ts_join(dir, "out");
    char *src = make_disk(dir, "web01.vmdk", "vmdk", "64M");
    char before[65], after[65];
    ts_sha256_file(src, before);
    h2k_ctx *ctx = ts_ctx();
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_int_equal(h2k_ctx_set_tmpdir(ctx, tmp), 0);
    const char *inputs[] = {src};
    const char *macs[] = {"00:50:56:AA:BB:01"};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.fixes = 0;
    o.nic_macs = macs;
    o.n_nic_macs = 1;
    o.compress = 1;
    h2k_migration_result *res = NULL;
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &o, &res), 0);
    assert_non_null(res);
    assert_int_equal(res->success, 1);
    assert_string_equal(res->name, "web01");
    assert_int_equal(res->n_outputs, 1);
    char *disk = ts_join(out, "web01-disk1.qcow2");
    assert_string_equal(res->outputs[0].path, disk);
    assert_string_equal(res->outputs[0].source_format, "vmdk");
    assert_int_equal(res->outputs[0].virtual_size, 64u << 20);
    char sum[65];
    ts_sha256_file(disk, sum);
    assert_string_equal(res->outputs[0].sha256, sum);
    assert_int_equal(res->n_fixes, 0);
    /* outputs: disk, XML, JSON and Markdown reports; nothing else */
    assert_int_equal(ts_count_dir(out), 4);
    char *xml_path = ts_join(out, "web01.xml");
    char *xml = ts_read_file(xml_path, NULL);
    assert_non_null(strstr(xml, "00:50:56:aa:bb:01"));
    assert_non_null(strstr(xml, disk));
    char *rep_path = ts_join(out, "web01.report.json");
    char *rep = ts_read_file(rep_path, NULL);
    assert_non_null(strstr(rep, sum));
    assert_non_null(strstr(rep, "\"copy\""));
    assert_int_equal(count_work_dirs(tmp), 0);
    ts_sha256_file(src, after);
    assert_string_equal(before, after);
    /* a second run refuses to overwrite */
    h2k_migration_result_free(res);
    res = NULL;
    int rc = h2k_orchestrator_run(ctx, &o, &res);
    assert_int_equal(rc, H2K_ERR_EXISTS);
    assert_int_equal(ts_count_dir(out), 4);
    assert_int_equal(count_work_dirs(tmp), 0);
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    free(rep);
    free(rep_path);
    free(xml);
    free(xml_path);
    free(disk);
    free(src);
    ts_rmtree(dir);
    free(out);
    free(tmp);
    free(dir);
}

/* An OVA read in place: each disk member is copied out of the archive into the
 * work folder (never the whole archive), the OVA itself is unchanged. */
static void
test_ova_in_place(void **state)
{
    (void)state;
    ts_require_program("tar");
    char *dir = ts_mkdtemp();
    char *pkg = ts_join(dir, "pkg");
    char *disks = ts_join(pkg, "disks");
    assert_int_equal(mkdir(pkg, 0755), 0);
    assert_int_equal(mkdir(disks, 0755), 0);
    char *ovf_src = ts_data_path("ovf/full.ovf");
    size_t len = 0;
    char *ovf = ts_read_file(ovf_src, &len);
    char *ovf_path = ts_join(pkg, "vm.ovf");
    ts_write_file(ovf_path, ovf, len);
    char *a = ts_join(disks, "a.vmdk");
    const char *mk_a[] = {
        "qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized",
        a,          "16M",    NULL};
    ts_run_ok(mk_a);
    free(make_disk(pkg, "b.vmdk", "vmdk", "16M"));
    free(make_disk(pkg, "c.img", "raw", "8M"));
    char *iso = ts_join(pkg, "boot.iso");
    ts_write_file(iso, "", 0);
    char *ova = ts_join(dir, "vm.ova");
    const char *tar[] = {"tar",    "--format=ustar", "-C",     pkg,     "-cf",      ova,
                         "vm.ovf", "disks/a.vmdk",   "b.vmdk", "c.img", "boot.iso", NULL};
    ts_run_ok(tar);
    ts_rmtree(pkg); /* only the OVA is left */
    char before[65], after[65];
    ts_sha256_file(ova, before);
    char *out = ts_join(dir, "out");
    h2k_ctx *ctx = ts_ctx();
    const char *inputs[] = {ova};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.name = "ova-vm";
    o.fixes = 0;
    h2k_migration_result *res = NULL;
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &o, &res), 0);
    assert_int_equal(res->n_outputs, 3);
    assert_string_equal(res->outputs[0].source_format, "vmdk");
    assert_string_equal(res->outputs[2].source_format, "raw");
    assert_int_equal(res->outputs[2].virtual_size, 8u << 20);
    assert_string_equal(res->spec->source_type, "ova");
    assert_int_equal(ts_count_dir(out), 6); /* 3 disks, XML, 2 reports */
    ts_sha256_file(ova, after);
    assert_string_equal(before, after);
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(out);
    free(ova);
    free(iso);
    free(a);
    free(ovf_path);
    free(ovf);
    free(ovf_src);
    free(disks);
    free(pkg);
    free(dir);
}

static void
test_broken_chain_fails_at_probe(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    assert_int_equal(mkdir(out, 0755), 0);
    char *good = make_disk(dir, "good.qcow2", "qcow2", "16M");
    char *base = make_disk(dir, "base.vmdk", "vmdk", "16M");
    char *child = ts_join(dir, "child.qcow2");
    const char *mk[] = {"qemu-img", "create", "-q", "-f",  "qcow2", "-F",
                        "vmdk",     "-b",     base, child, NULL};
    ts_run_ok(mk);
    unlink(base); /* the chain is now broken */
    h2k_ctx *ctx = ts_ctx();
    const char *inputs[] = {good, child};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 2;
    o.output_dir = out;
    o.fixes = 0;
    h2k_migration_result *res = NULL;
    int rc = h2k_orchestrator_run(ctx, &o, &res);
    assert_true(rc == H2K_ERR_NOT_FOUND || rc == H2K_ERR_FORMAT);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_non_null(e->stage);
    assert_string_equal(e->stage, "probe");
    assert_non_null(res);
    assert_int_equal(res->success, 0);
    assert_string_equal(res->failed_stage, "probe");
    assert_int_equal(ts_count_dir(out), 0);
    h2k_migration_result_free(res);
    /* a missing input, too */
    const char *missing[] = {"/nonexistent/disk.vmdk"};
    o.inputs = missing;
    o.n_inputs = 1;
    rc = h2k_orchestrator_run(ctx, &o, NULL);
    assert_int_equal(rc, H2K_ERR_NOT_FOUND);
    assert_string_equal(h2k_ctx_last_error(ctx)->stage, "probe");
    assert_int_equal(ts_count_dir(out), 0);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(good);
    free(base);
    free(child);
    free(out);
    free(dir);
}

static void
cancel_on_copy(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    (void)done;
    (void)total;
    if (strcmp(stage, "copy") == 0)
        h2k_ctx_cancel(ud);
}

static void
test_cancel_during_copy(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    char *dir = ts_mkdtemp();
    char *tmp = ts_join(dir, "tmp");
    char *out = ts_join(dir, "out");
    assert_int_equal(mkdir(tmp, 0700), 0);
    char *a = make_disk(dir, "a.raw", "raw", "256M");
    char *b = make_disk(dir, "b.raw", "raw", "256M");
    fill_raw(a, 64);
    fill_raw(b, 64);
    h2k_ctx *ctx = ts_ctx();
    assert_int_equal(h2k_ctx_set_tmpdir(ctx, tmp), 0);
    h2k_ctx_set_progress(ctx, cancel_on_copy, ctx);
    const char *inputs[] = {a, b};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 2;
    o.output_dir = out;
    o.name = "cancelled";
    o.fixes = 0;
    h2k_migration_result *res = NULL;
    int rc = h2k_orchestrator_run(ctx, &o, &res);
    assert_int_equal(rc, H2K_ERR_CANCELLED);
    assert_string_equal(h2k_ctx_last_error(ctx)->stage, "copy");
    assert_string_equal(res->failed_stage, "copy");
    /* the output folder was created by the run: it is gone again */
    assert_false(ts_exists(out));
    assert_int_equal(count_work_dirs(tmp), 0);
    assert_int_equal(ts_count_dir(dir), 3); /* tmp, a.raw, b.raw */
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(a);
    free(b);
    free(out);
    free(tmp);
    free(dir);
}

/* The phony RHEL 9 guest (scripts/images/build-phony-guests.sh). */
static char *
phony_guest(const char *name)
{
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-phony-guests.sh");
    const char *argv[] = {"bash", script, name, NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("building the phony guests failed:\n%s", out);
    char *path = NULL, *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(name);
        if (strncmp(l, name, n) == 0 && l[n] == ' ')
            path = strdup(l + n + 1);
    }
    if (!path)
        fail_msg("build-phony-guests.sh printed no path for %s", name);
    free(out);
    free(script);
    return path;
}

static void
test_dry_run_writes_only_the_report(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    char *img = phony_guest("rhel9");
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    char before[65], after[65];
    ts_sha256_file(img, before);
    h2k_ctx *ctx = ts_ctx();
    const char *inputs[] = {img};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.name = "rhel9";
    o.dry_run = 1;
    h2k_migration_result *res = NULL;
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &o, &res), 0);
    assert_int_equal(res->dry_run, 1);
    assert_int_equal(res->n_outputs, 0);
    assert_null(res->xml_path);
    assert_true(res->n_fixes >= 5);
    assert_non_null(res->identity_json);
    assert_non_null(strstr(res->identity_json, "rhel"));
    assert_int_equal(ts_count_dir(out), 2);
    char *rep_path = ts_join(out, "rhel9.report.json");
    char *rep = ts_read_file(rep_path, NULL);
    assert_non_null(strstr(rep, "\"dry_run\": true"));
    assert_non_null(strstr(rep, "\"fstab\""));
    char *md_path = ts_join(out, "rhel9.report.md");
    assert_true(ts_exists(md_path));
    ts_sha256_file(img, after);
    assert_string_equal(before, after);
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(rep);
    free(rep_path);
    free(md_path);
    free(out);
    free(dir);
    free(img);
}

static void
test_cli_local(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp();
    char *src = make_disk(dir, "db01.vhdx", "vhdx", "32M");
    char *out = ts_join(dir, "out");
    const char *argv[] = {ts_env("H2K_CLI"),
                          "--json",
                          "local",
                          "--input",
                          src,
                          "--output-dir",
                          out,
                          "--fixes",
                          "none",
                          "--format",
                          "raw",
                          "--name",
                          "db",
                          "--network-map",
                          "*=bridge:br0",
                          "--mac",
                          "52:54:00:12:34:56",
                          NULL};
    char *text = NULL;
    int st = ts_run(argv, &text);
    if (st != 0)
        print_error("%s\n", text);
    assert_int_equal(st, 0);
    assert_non_null(strstr(text, "\"success\": true"));
    assert_non_null(strstr(text, "db-disk1.raw"));
    char *xml_path = ts_join(out, "db.xml");
    char *xml = ts_read_file(xml_path, NULL);
    assert_non_null(strstr(xml, "<source bridge=\"br0\"/>"));
    assert_non_null(strstr(xml, "52:54:00:12:34:56"));
    free(text);
    /* usage errors and a failing input: exit 2 and 10+|code| */
    const char *bad[] = {ts_env("H2K_CLI"), "local", "--input", src, NULL};
    assert_int_equal(ts_run(bad, NULL), 2);
    const char *miss[] = {ts_env("H2K_CLI"), "--json", "local",   "--input", "/nonexistent.vmdk",
                          "--output-dir",    out,      "--fixes", "none",    NULL};
    text = NULL;
    assert_int_equal(ts_run(miss, &text), 10 + 10);
    assert_non_null(strstr(text, "\"stage\":\"probe\""));
    free(text);
    free(xml);
    free(xml_path);
    ts_rmtree(dir);
    free(src);
    free(out);
    free(dir);
}

static void
test_batch_resume(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp();
    char *a = make_disk(dir, "a.raw", "raw", "16M");
    char *b = make_disk(dir, "b.qcow2", "qcow2", "16M");
    char *plan_path = ts_join(dir, "plan.json");
    char *plan = hk_asprintf("{\"output_dir\": \"out\", \"jobs\": 2,\n"
                             " \"defaults\": {\"fixes\": \"none\"},\n"
                             " \"vms\": [{\"name\": \"vm-a\", \"inputs\": [\"a.raw\"]},\n"
                             "         {\"name\": \"vm-b\", \"inputs\": \"b.qcow2\"}]}\n");
    ts_write_file(plan_path, plan, strlen(plan));
    char *state_path = ts_join(dir, "plan.state.json");
    /* an interrupted earlier run: vm-a finished, vm-b was running */
    const char *st0 = "{\"vms\": [{\"name\": \"vm-a\", \"state\": \"done\"},"
                      " {\"name\": \"vm-b\", \"state\": \"running\"}]}";
    ts_write_file(state_path, st0, strlen(st0));
    const char *argv[] = {ts_env("H2K_CLI"), "batch", plan_path, NULL};
    char *text = NULL;
    int st = ts_run(argv, &text);
    if (st != 0)
        print_error("%s\n", text);
    assert_int_equal(st, 0);
    assert_non_null(strstr(text, "vm-b"));
    free(text);
    char *out_a = ts_join(dir, "out/vm-a");
    char *out_b = ts_join(dir, "out/vm-b/vm-b-disk1.qcow2");
    assert_false(ts_exists(out_a)); /* not redone */
    assert_true(ts_exists(out_b));
    h2k_ctx *ctx = ts_ctx();
    h2k_batch_state *s = NULL;
    ts_assert_rc(ctx, h2k_batch_state_load(ctx, state_path, &s), 0);
    assert_int_equal(s->n_entries, 2);
    assert_int_equal(h2k_batch_state_find(s, "vm-a")->state, H2K_VM_DONE);
    assert_int_equal(h2k_batch_state_find(s, "vm-b")->state, H2K_VM_DONE);
    h2k_batch_state_free(s);
    /* a fresh state: both run, in parallel */
    unlink(state_path);
    char *outdir = ts_join(dir, "out");
    ts_rmtree(outdir);
    text = NULL;
    assert_int_equal(ts_run(argv, &text), 0);
    free(text);
    char *disk_a = ts_join(dir, "out/vm-a/vm-a-disk1.qcow2");
    assert_true(ts_exists(disk_a));
    assert_true(ts_exists(out_b));
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(disk_a);
    free(outdir);
    free(out_a);
    free(out_b);
    free(state_path);
    free(plan);
    free(plan_path);
    free(a);
    free(b);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_fixes),
        cmocka_unit_test(test_ova_in_place),
        cmocka_unit_test(test_broken_chain_fails_at_probe),
        cmocka_unit_test(test_cancel_during_copy),
        cmocka_unit_test(test_cli_local),
        cmocka_unit_test(test_batch_resume),
        cmocka_unit_test(test_dry_run_writes_only_the_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
