/*
 * The ONE full migration of the suite: the real Debian 12 guest shaped like an
 * old VMware VM (scripts/images/build-debian-guest.sh) through
 * h2k_orchestrator_run() with repairs and the boot test.  The output must
 * boot on virtio-blk + virtio-net with its static address, keeping the
 * source's MAC; the source must be unchanged; the report must list the
 * repairs; the XML must pass virt-xml-validate.  The initramfs gets its virtio
 * drivers in place (no update-initramfs, prepared beside the package removal),
 * a second look finds them, and initramfs-tools' own lsinitramfs lists them
 * in the output's image.  Slow (appliances + TCG boot).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "testsupport.h"

#define GUEST_MAC "00:50:56:3a:12:7b"
#define GUEST_IP "10.0.2.15"

static void
test_debian_migration_boots(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    ts_require_program("qemu-system-x86_64");
    ts_require_program("virt-xml-validate");
    ts_require_program("debugfs");
    ts_require_program("lsinitramfs");
    char *src = ts_debian_guest();
    char before[65], after[65];
    ts_sha256_file(src, before);
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    h2k_ctx *ctx = ts_ctx();
    const char *inputs[] = {src};
    const char *macs[] = {GUEST_MAC};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.name = "debian12";
    o.nic_macs = macs;
    o.n_nic_macs = 1;
    o.compress = 1;
    o.test_boot = 1;
    o.boot_timeout = 600;
    h2k_migration_result *res = NULL;
    int rc = h2k_orchestrator_run(ctx, &o, &res);
    ts_print_failed_boot(ctx, rc, res);
    ts_assert_rc(ctx, rc, 0);
    assert_int_equal(res->success, 1);

    /* booted on virtio with its static address */
    assert_non_null(res->boot);
    assert_int_equal(res->boot->success, 1);
    /* a proven boot leaves no console log in the output folder */
    assert_null(res->boot->console_log_path);
    {
        char *kept = hk_asprintf("%s/%s.boot-console.log", out, "debian12");
        assert_false(ts_exists(kept));
        free(kept);
    }
    int found = 0;
    for (size_t i = 0; i < res->boot->n_addresses; i++)
        if (strcmp(res->boot->addresses[i], GUEST_IP) == 0 ||
            strncmp(res->boot->addresses[i], GUEST_IP "/", strlen(GUEST_IP) + 1) == 0)
            found = 1;
    if (!found)
        print_error("proof line: %s\n", res->boot->proof_line ? res->boot->proof_line : "");
    assert_true(found);

    /* outputs and the source */
    assert_int_equal(res->n_outputs, 1);
    char *disk = ts_join(out, "debian12-disk1.qcow2");
    assert_string_equal(res->outputs[0].path, disk);
    char sum[65];
    ts_sha256_file(disk, sum);
    assert_string_equal(res->outputs[0].sha256, sum);
    ts_sha256_file(src, after);
    assert_string_equal(before, after);

    /* report: the repairs, the identity, the boot */
    char *rep_path = ts_join(out, "debian12.report.json");
    char *rep = ts_read_file(rep_path, NULL);
    assert_non_null(strstr(rep, "\"grub\""));
    assert_non_null(strstr(rep, "\"fstab\""));
    assert_non_null(strstr(rep, "\"network\""));
    assert_non_null(strstr(rep, "\"initramfs\""));
    assert_non_null(strstr(rep, "debian"));
    assert_non_null(strstr(rep, GUEST_IP));
    int changed = 0;
    const char *initramfs_msg = NULL;
    for (size_t i = 0; i < res->n_fixes; i++) {
        if (strcmp(res->fixes[i].status, "changed") == 0)
            changed++;
        if (strcmp(res->fixes[i].name, "initramfs") == 0)
            initramfs_msg = res->fixes[i].message;
    }
    assert_true(changed >= 3);
    assert_non_null(initramfs_msg);
    if (!strstr(initramfs_msg, "0 initramfs rebuilt, 1 given virtio drivers in place"))
        fail_msg("initramfs: %s", initramfs_msg);

    /* a second repair (on an overlay of the output) reads the new initramfs
     * and has nothing to do; its Markdown report shows the in-guest script as
     * a block */
    char *ov = ts_join(dir, "again.qcow2");
    const char *mk[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-F",
                        "qcow2",    "-b",     disk, ov,   NULL};
    assert_int_equal(ts_run(mk, NULL), 0);
    char *again = ts_join(dir, "again.json"), *again_md = ts_join(dir, "again.md");
    const char *fix[] = {ts_env("H2K_CLI"), "fix",    ov,  "--only", "initramfs", "--report", again,
                         "--report-md",     again_md, NULL};
    char *fix_out = NULL;
    if (ts_run(fix, &fix_out) != 0)
        fail_msg("hyper2kvm fix: %s", fix_out);
    free(fix_out);
    char *again_text = ts_read_file(again, NULL);
    if (!strstr(again_text, "1 already had them"))
        fail_msg("second look at the initramfs: %s", again_text);
    char *md = ts_read_file(again_md, NULL);
    const char *block = strstr(md, "```sh\nH2K_INITRD_MODE=run\nset -- '");
    if (!block || !strstr(block, "cpio -idm") || !strstr(block, "```\n\nexited 0 after"))
        fail_msg("no initramfs script block in the Markdown report:\n%s", md);
    free(md);
    free(again_text);
    free(again);
    free(again_md);
    free(ov);
    char sum_again[65];
    ts_sha256_file(disk, sum_again);
    assert_string_equal(sum, sum_again);

    /* the boot probe was written by the repair appliance into the repaired
     * overlay after the output was copied from it: the output holds no probe
     * (read with debugfs from a raw copy; the root file system is the
     * guest's first partition, at 1 MiB) */
    char *raw = ts_join(dir, "out.raw");
    const char *to_raw[] = {"qemu-img", "convert", "-O", "raw", disk, raw, NULL};
    assert_int_equal(ts_run(to_raw, NULL), 0);
    size_t fl = strlen(raw) + 32;
    char *fsarg = malloc(fl);
    assert_non_null(fsarg);
    snprintf(fsarg, fl, "%s?offset=1048576", raw);
    const char *ls_sbin[] = {"debugfs", "-R", "ls /usr/local/sbin", fsarg, NULL};
    const char *ls_units[] = {"debugfs", "-R", "ls /etc/systemd/system", fsarg, NULL};
    char *sbin = NULL, *units = NULL;
    assert_int_equal(ts_run(ls_sbin, &sbin), 0);
    assert_int_equal(ts_run(ls_units, &units), 0);
    if (!strstr(units, "multi-user.target.wants"))
        fail_msg("debugfs did not read the root file system: %s", units);
    if (strstr(sbin, "h2k-boot-probe") || strstr(units, "h2k-boot-probe"))
        fail_msg("the boot probe is in the output:\n%s\n%s", sbin, units);
    /* initramfs-tools' own reader lists the drivers in the output's image
     * (the early archives walked, the compressed one read) */
    const char *ls_boot[] = {"debugfs", "-R", "ls -l /boot", fsarg, NULL};
    char *boot = NULL;
    assert_int_equal(ts_run(ls_boot, &boot), 0);
    char *name = strstr(boot, "initrd.img-");
    if (!name)
        fail_msg("no initramfs in /boot:\n%s", boot);
    name[strcspn(name, " \t\n")] = '\0';
    char *img = ts_join(dir, "initrd.img");
    size_t dl = strlen(name) + strlen(img) + 16;
    char *dump_cmd = malloc(dl);
    assert_non_null(dump_cmd);
    snprintf(dump_cmd, dl, "dump /boot/%s %s", name, img);
    const char *dump[] = {"debugfs", "-R", dump_cmd, fsarg, NULL};
    assert_int_equal(ts_run(dump, NULL), 0);
    const char *lsinit[] = {
        "sh", "-c", "lsinitramfs \"$1\" | grep -E '/virtio_(blk|pci|scsi)\\.ko$'", "sh", img, NULL};
    char *listing = NULL;
    assert_int_equal(ts_run(lsinit, &listing), 0);
    if (!strstr(listing, "/virtio_blk.ko") || !strstr(listing, "/virtio_pci.ko") ||
        !strstr(listing, "/virtio_scsi.ko"))
        fail_msg("lsinitramfs does not list the virtio drivers:\n%.2000s", listing);
    free(listing);
    free(dump_cmd);
    free(img);
    free(boot);
    unlink(raw);
    free(sbin);
    free(units);
    free(fsarg);
    free(raw);

    /* the XML keeps the MAC and validates */
    char *xml_path = ts_join(out, "debian12.xml");
    char *xml = ts_read_file(xml_path, NULL);
    assert_non_null(strstr(xml, GUEST_MAC));
    const char *val[] = {"virt-xml-validate", xml_path, "domain", NULL};
    char *vout = NULL;
    int vst = ts_run(val, &vout);
    if (vst != 0)
        print_error("virt-xml-validate: %s\n", vout ? vout : "");
    assert_int_equal(vst, 0);
    free(vout);
    /* disk, XML, two reports; nothing else */
    assert_int_equal(ts_count_dir(out), 4);

    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(xml);
    free(xml_path);
    free(rep);
    free(rep_path);
    free(disk);
    free(out);
    free(dir);
    free(src);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debian_migration_boots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
