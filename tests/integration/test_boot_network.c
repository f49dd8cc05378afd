/*
 * A boot proof fails when the guest boots but its network stays down, on the
 * single-appliance path (the repair stage's appliance places the boot probe).
 *
 * The real Debian 12 guest (scripts/images/build-debian-guest.sh) names its
 * NIC ens192, pinned to its VMware MAC by 70-persistent-net.rules, and
 * configures only ens192 in /etc/network/interfaces.  Migrated with a new MAC
 * and every repair the boot needs (fstab, GRUB, initramfs) but not the
 * network one (nor the VMware tools removal, which the boot does not need:
 * it only costs time), the guest boots on virtio, its virtio NIC keeps the
 * kernel's name (the pin names another MAC) and nothing configures it:
 * `hyper2kvm local --test-boot` must fail at the boot stage, the guest having
 * reached its boot marker with no address; the output folder keeps the two
 * reports, which say the proof failed and why, and nothing else (no disk, no
 * XML without --keep-partial); no work folder, no child process is left and
 * the source is untouched.  The full path (network repaired, address up) is
 * test_local_debian's.  Slow: one appliance launch and one TCG boot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "boot_helpers.h"

#define NEW_MAC "52:54:00:4e:7a:01" /* not the guest's VMware MAC */
#define VM "debian12-nonet"

/* The status of the repair @name in the report, or NULL when it is not listed. */
static const char *
fix_status(json_object *r, const char *name)
{
    json_object *f = ts_report_fix(r, name);
    return f ? ts_json_str(f, "status") : NULL;
}

static void
test_network_down_fails_the_proof(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    ts_require_program("qemu-system-x86_64");
    ts_require_program("env");
    char *src = debian_guest();
    file_stamp before = stamp(src);
    char *dir = ts_mkdtemp();
    char *tmp = ts_join(dir, "tmp");
    char *out = ts_join(dir, "out");
    assert_int_equal(mkdir(tmp, 0700), 0);
    /* the run's work folders go to @tmp; libguestfs's appliance cache stays
       where it is (it follows TMPDIR otherwise, and would be built again) */
    const char *cache = getenv("LIBGUESTFS_CACHEDIR");
    if (!cache || !*cache)
        cache = getenv("TMPDIR");
    char *tmpdir = hk_asprintf("TMPDIR=%s", tmp);
    char *cachedir = hk_asprintf("LIBGUESTFS_CACHEDIR=%s", cache && *cache ? cache : "/var/tmp");
    const char *argv[] = {"env",
                          tmpdir,
                          cachedir,
                          ts_env("H2K_CLI"),
                          "local",
                          "--input",
                          src,
                          "--output-dir",
                          out,
                          "--name",
                          VM,
                          "--mac",
                          NEW_MAC,
                          "--skip",
                          "network,vmware_tools",
                          "--test-boot",
                          "--boot-timeout",
                          "600",
                          NULL};
    char *cli_out = NULL;
    double t0 = hk_now();
    int st = ts_run(argv, &cli_out);
    print_message("hyper2kvm local --skip network --test-boot: exit %d after %.1f s\n%s\n", st,
                  hk_now() - t0, cli_out);
    /* 10 + |H2K_ERR_BOOT_TEST| */
    if (st != 10 - H2K_ERR_BOOT_TEST)
        fail_msg("hyper2kvm local exited %d, want %d (boot test failed)", st,
                 10 - H2K_ERR_BOOT_TEST);

    /* the output folder keeps the two reports, and nothing else */
    char *rep_path = ts_join(out, VM ".report.json");
    char *md_path = ts_join(out, VM ".report.md");
    if (!ts_exists(rep_path) || !ts_exists(md_path))
        fail_msg("after the failed proof the output folder lacks the reports (%s)", out);
    char *disk = ts_join(out, VM "-disk1.qcow2");
    char *xml = ts_join(out, VM ".xml");
    assert_false(ts_exists(disk));
    assert_false(ts_exists(xml));
    /* and the guest's serial console, readable by its owner only */
    char *console = ts_join(out, VM ".boot-console.log");
    struct stat cs;
    if (stat(console, &cs) != 0)
        fail_msg("after the failed proof the output folder lacks %s", console);
    assert_int_equal(cs.st_mode & 0777, 0600);
    char *console_text = ts_read_file(console, NULL);
    if (!strstr(console_text, "H2K-BOOT-OK "))
        fail_msg("the kept console log lacks the probe's line:\n%s", console_text);
    free(console_text);
    assert_int_equal(ts_count_dir(out), 3);

    /* the report: failed at the boot stage, because no address came up */
    char *text = ts_read_file(rep_path, NULL);
    json_object *r = json_tokener_parse(text);
    if (!r)
        fail_msg("the report is not JSON:\n%s", text);
    assert_false(json_object_get_boolean(ts_json_member(r, "success")));
    json_object *err = ts_json_member(r, "error");
    assert_string_equal(ts_json_str(err, "code"), "BOOT_TEST");
    assert_string_equal(ts_json_str(err, "stage"), "boot");
    const char *why = ts_json_str(err, "message");
    if (!strstr(why, "network did not come up") || !strstr(why, NEW_MAC))
        fail_msg("the error does not say the network is missing: %s", why);
    json_object *boot = ts_json_member(r, "boot");
    assert_false(json_object_get_boolean(ts_json_member(boot, "success")));
    assert_string_equal(ts_json_str(boot, "verdict"), "failed");
    assert_false(json_object_get_boolean(ts_json_member(boot, "timed_out")));
    assert_int_equal(json_object_array_length(ts_json_member(boot, "addresses")), 0);
    assert_string_equal(ts_json_str(boot, "hostname"), GUEST_HOSTNAME);
    assert_string_equal(ts_json_str(boot, "console_log"), console);
    /* the guest did boot: its probe reported, without an address */
    const char *proof = ts_json_str(boot, "proof_line");
    if (!hk_startswith(proof, "H2K-BOOT-OK ") || !hk_endswith_nocase(proof, " none"))
        fail_msg("proof line: %s", proof);
    if (!strstr(ts_json_str(boot, "error"), "no address on its NIC (" NEW_MAC ")"))
        fail_msg("boot error: %s", ts_json_str(boot, "error"));
    /* the repairs the boot needs ran, the network one did not */
    assert_null(fix_status(r, "network"));
    assert_null(fix_status(r, "vmware_tools"));
    assert_string_equal(fix_status(r, "grub"), "changed");
    assert_string_equal(fix_status(r, "initramfs"), "changed");
    int removed = 0;
    json_object *warnings = ts_json_member(r, "warnings");
    for (size_t i = 0; i < json_object_array_length(warnings); i++) {
        const char *w = json_object_get_string(json_object_array_get_idx(warnings, i));
        if (strstr(w, "converted disks and the domain XML were removed") &&
            strstr(w, "serial console is in ") && strstr(w, console))
            removed = 1;
    }
    if (!removed)
        fail_msg("no warning says the outputs were removed and where the console is:\n%s", text);
    char *md = ts_read_file(md_path, NULL);
    if (!strstr(md, "but the boot proof FAILED") || !strstr(md, "network did not come up") ||
        !strstr(md, "Console (last lines)") || !strstr(md, "The whole serial console: `") ||
        !strstr(md, console))
        fail_msg("the Markdown report does not say why the proof failed:\n%s", md);

    /* no work folder, no child, the source untouched */
    assert_int_equal(ts_count_dir(tmp), 0);
    assert_int_equal(ts_count_children(NULL), 0);
    assert_unchanged(src, before);

    json_object_put(r);
    free(md);
    free(text);
    free(console);
    free(disk);
    free(xml);
    free(rep_path);
    free(md_path);
    free(cli_out);
    ts_rmtree(dir);
    free(tmpdir);
    free(cachedir);
    free(tmp);
    free(out);
    free(dir);
    free(src);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_down_fails_the_proof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
