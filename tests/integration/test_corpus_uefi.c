/*
 * Corpus guest 1 end to end through the CLI: a Debian 12 UEFI VM from VMware
 * (scripts/images/build-debian-uefi-guest.sh: GPT, ESP with grub-efi and no
 * removable-media loader, LVM root on XFS, ext4 /boot, systemd-networkd matched
 * by the name ens192, pvscsi/vmxnet3, no virtio in the initramfs), given as
 * its VMX (firmware = "efi").
 *
 *  1. `local --input VM.vmx --test-boot` boots it under OVMF on virtio-blk and
 *     virtio-net with its static address; the report says what was changed
 *     (the firmware's fallback loader, the initramfs, the NIC pinned to its
 *     MAC) and the XML boots it with a UEFI loader and its own NVRAM.
 *  2. `--fixes none --test-boot` fails as soon as OVMF gives up (no loader:
 *     it starts its shell): the output folder keeps the reports with the
 *     console tail and no disk; with --keep-partial the disk stays.
 * Slow: two appliance launches and three TCG boots under OVMF.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "testsupport.h"

#define GUEST_MAC "00:50:56:1e:16:01"
#define GUEST_IP "10.0.2.15"

static char *
uefi_guest_vmx(void)
{
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-debian-uefi-guest.sh");
    const char *argv[] = {"bash", script, NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("cannot build corpus guest 1 (%s exited %d):\n%s", script, st, out);
    char *path = NULL, *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (l[0] == '/' && hk_endswith_nocase(l, ".vmx") && access(l, R_OK) == 0) {
            free(path);
            path = strdup(l);
        }
    if (!path)
        fail_msg("build-debian-uefi-guest.sh printed no readable VMX path");
    free(out);
    free(script);
    return path;
}

/* The "message" and "status" of repair @name in the report text, checked loosely. */
static void
assert_fix_changed(const char *rep, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "\"name\": \"%s\"", name);
    const char *p = strstr(rep, key);
    if (!p) {
        snprintf(key, sizeof(key), "\"name\":\"%s\"", name);
        p = strstr(rep, key);
    }
    if (!p)
        fail_msg("no repair %s in the report:\n%s", name, rep);
    const char *end = strchr(p, '}');
    const char *ch = strstr(p, "changed");
    if (!ch || (end && ch > end))
        fail_msg("repair %s did not change anything:\n%.400s", name, p);
}

static void
test_uefi_guest_boots(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    ts_require_program("qemu-system-x86_64");
    if (access("/usr/share/OVMF/OVMF_CODE_4M.fd", R_OK) != 0)
        fail_msg("OVMF (package ovmf) is required: /usr/share/OVMF/OVMF_CODE_4M.fd");
    char *vmx = uefi_guest_vmx();
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    char *rep_path = ts_join(dir, "run.json");
    const char *argv[] = {ts_env("H2K_CLI"), "--json", "local",    "--input", vmx,
                          "--output-dir",    out,      "--name",   "uefi",    "--test-boot",
                          "--boot-timeout",  "900",    "--report", rep_path,  NULL};
    char *cli_out = NULL;
    double t0 = hk_now();
    int st = ts_run(argv, &cli_out);
    print_message("corpus guest 1: local --test-boot took %.0f s\n", hk_now() - t0);
    if (st != 0)
        fail_msg("hyper2kvm local exited %d:\n%s", st, cli_out);
    char *rep = ts_read_file(rep_path, NULL);
    print_message("report: %s\n", rep);
    assert_non_null(strstr(rep, "\"success\": true"));
    /* the proof: booted with its static address */
    assert_non_null(strstr(rep, GUEST_IP));
    /* what was changed */
    assert_fix_changed(rep, "grub");
    assert_fix_changed(rep, "network");
    assert_fix_changed(rep, "initramfs");
    assert_non_null(strstr(rep, "/boot/efi/EFI/BOOT/BOOTX64.EFI"));
    /* UEFI in the domain: OVMF loader and the VM's own variables */
    char *xml_path = ts_join(out, "uefi.xml");
    char *xml = ts_read_file(xml_path, NULL);
    assert_non_null(strstr(xml, "<loader"));
    assert_non_null(strstr(xml, "OVMF_CODE"));
    assert_non_null(strstr(xml, "<nvram"));
    assert_non_null(strstr(xml, GUEST_MAC));
    free(xml);
    free(xml_path);
    free(rep);
    free(cli_out);
    ts_rmtree(dir);
    free(rep_path);
    free(out);
    free(dir);
    free(vmx);
}

/* One unrepaired run: must fail at the boot; returns the output folder's listing. */
static void
unrepaired_run(const char *vmx, int keep_partial)
{
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    /* OVMF finds no loader on the unrepaired disk: the proof cannot come, a short
       bound is plenty for the failure to show */
    const char *argv[] = {ts_env("H2K_CLI"),
                          "local",
                          "--input",
                          vmx,
                          "--output-dir",
                          out,
                          "--name",
                          "raw",
                          "--fixes",
                          "none",
                          "--test-boot",
                          "--boot-timeout",
                          "120",
                          keep_partial ? "--keep-partial" : NULL,
                          NULL};
    char *cli_out = NULL;
    int st = ts_run(argv, &cli_out);
    if (st == 0)
        fail_msg("an unrepaired UEFI guest passed the boot proof:\n%s", cli_out);
    char *json_path = ts_join(out, "raw.report.json");
    char *md_path = ts_join(out, "raw.report.md");
    if (access(json_path, R_OK) != 0 || access(md_path, R_OK) != 0)
        fail_msg("after a failed boot proof the output folder lacks the reports (%s):\n%s", out,
                 cli_out);
    char *json = ts_read_file(json_path, NULL);
    char *md = ts_read_file(md_path, NULL);
    assert_non_null(strstr(json, "\"success\": false"));
    assert_non_null(strstr(json, "console_tail"));
    /* recognised as OVMF giving up (its shell started), not left to the timeout */
    if (!strstr(json, "the UEFI firmware found"))
        fail_msg("the unrepaired boot was not recognised as the firmware giving up:\n%s", json);
    assert_non_null(strstr(md, "Did NOT boot"));
    assert_non_null(strstr(md, "Console (last lines)"));
    char *disk = ts_join(out, "raw-disk1.qcow2");
    char *xml = ts_join(out, "raw.xml");
    if (keep_partial) {
        assert_int_equal(access(disk, R_OK), 0);
        assert_int_equal(access(xml, R_OK), 0);
    } else {
        assert_int_not_equal(access(disk, F_OK), 0);
        assert_int_not_equal(access(xml, F_OK), 0);
        assert_int_equal(ts_count_dir(out), 3); /* the two reports and the console */
    }
    /* the firmware's console is kept for the failure's reader */
    char *console = ts_join(out, "raw.boot-console.log");
    char *console_text = ts_read_file(console, NULL);
    if (!console_text || !*console_text)
        fail_msg("after a failed boot proof %s is missing or empty", console);
    assert_non_null(strstr(json, "raw.boot-console.log"));
    free(console_text);
    free(console);
    free(disk);
    free(xml);
    free(json);
    free(md);
    free(json_path);
    free(md_path);
    free(cli_out);
    ts_rmtree(dir);
    free(out);
    free(dir);
}

static void
test_failed_proof_keeps_report(void **state)
{
    (void)state;
    ts_require_program("qemu-system-x86_64");
    char *vmx = uefi_guest_vmx();
    unrepaired_run(vmx, 0);
    unrepaired_run(vmx, 1);
    free(vmx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uefi_guest_boots),
        cmocka_unit_test(test_failed_proof_keeps_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
