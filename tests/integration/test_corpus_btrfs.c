/*
 * Corpus guest 2 end to end through the CLI: a VMware VM (VMX, pvscsi, two
 * VMDKs, vmxnet3) running Debian 12 on a btrfs root in subvolumes @ and @home,
 * with a dracut initramfs without virtio, a NetworkManager keyfile bound to
 * ens192 and /var on the second disk named /dev/sdb1 in fstab
 * (scripts/images/build-debian-btrfs-guest.sh, cached).
 * `hyper2kvm local --input VM.vmx --output-dir OUT --test-boot` must succeed
 * with the boot proven on virtio with the static address, the dracut image
 * given its drivers in place (not rebuilt), and the report saying what
 * changed.  Slow (image build when not cached, appliances, TCG boot): label
 * "corpus", outside the default CI run; scripts/corpus.sh runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testsupport.h"

#define GUEST_MAC "00:50:56:3a:12:7c"
#define GUEST_IP "10.0.2.15"
#define GUEST_HOST "h2k-debian12-btrfs"

/* The VMX the image script prints (last absolute line ending in .vmx). */
static char *
btrfs_guest(void)
{
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-debian-btrfs-guest.sh");
    const char *argv[] = {"bash", script, NULL};
    char *out = NULL;
    double t0 = hk_now();
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("cannot build corpus guest 2 (%s exited %d):\n%s", script, st, out);
    print_message("guest 2 image (built or cached): %.1f s\n", hk_now() - t0);
    char *path = NULL, *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (l[0] == '/' && hk_endswith_nocase(l, ".vmx") && ts_exists(l)) {
            free(path);
            path = strdup(l);
        }
    if (!path)
        fail_msg("build-debian-btrfs-guest.sh printed no VMX path");
    free(out);
    free(script);
    return path;
}

/* The value of @key in the guest's facts (NAME.env next to @vmx); caller frees. */
static char *
guest_fact(const char *vmx, const char *key)
{
    size_t n = strlen(vmx);
    char *env = malloc(n + 1);
    assert_non_null(env);
    memcpy(env, vmx, n + 1);
    assert_true(n > 4);
    strcpy(env + n - 4, ".env");
    char *text = ts_read_file(env, NULL);
    size_t kl = strlen(key);
    char *val = NULL, *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l && !val; l = strtok_r(NULL, "\n", &save))
        if (strncmp(l, key, kl) == 0 && l[kl] == '=')
            val = strdup(l + kl + 1);
    if (!val)
        fail_msg("no %s in %s", key, env);
    free(text);
    free(env);
    return val;
}

/* The fix named @name in the report's "fixes" array. */
static json_object *
fix_named(json_object *r, const char *name)
{
    json_object *f = ts_report_fix(r, name);
    if (!f)
        fail_msg("no fix \"%s\" in the report", name);
    return f;
}

static void
test_btrfs_dracut_nm_guest_boots(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    ts_require_program("qemu-system-x86_64");
    char *vmx = btrfs_guest();
    char *dir_of = ts_dir_of(vmx);
    char *disk1 = ts_join(dir_of, "debian12-btrfs-vmware-disk1.vmdk");
    char *disk2 = ts_join(dir_of, "debian12-btrfs-vmware-disk2.vmdk");
    char before1[65], before2[65], after[65];
    ts_sha256_file(disk1, before1);
    ts_sha256_file(disk2, before2);

    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    const char *argv[] = {
        ts_env("H2K_CLI"), "--allow-path",   dir_of, "local", "--input", vmx, "--output-dir", out,
        "--test-boot",     "--boot-timeout", "900",  NULL};
    char *cli_out = NULL;
    double t0 = hk_now();
    int st = ts_run(argv, &cli_out);
    print_message("hyper2kvm local --test-boot: %.1f s\n%s\n", hk_now() - t0, cli_out);
    if (st != 0)
        fail_msg("hyper2kvm local exited %d:\n%s", st, cli_out);
    free(cli_out);

    /* the sources are untouched */
    ts_sha256_file(disk1, after);
    assert_string_equal(before1, after);
    ts_sha256_file(disk2, after);
    assert_string_equal(before2, after);

    char *rep_path = ts_join(out, GUEST_HOST ".report.json");
    char *text = ts_read_file(rep_path, NULL);
    /* valid JSON, strings valid UTF-8 (the console tail comes from the guest) */
    json_tokener *tok = json_tokener_new();
    assert_non_null(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *r = json_tokener_parse_ex(tok, text, (int)strlen(text));
    if (!r)
        fail_msg("the report is not valid JSON: %s",
                 json_tokener_error_desc(json_tokener_get_error(tok)));
    json_tokener_free(tok);
    assert_true(json_object_get_boolean(ts_json_member(r, "success")));

    /* booted on virtio with the static address of the keyfile */
    json_object *boot = ts_json_member(r, "boot");
    assert_true(json_object_get_boolean(ts_json_member(boot, "success")));
    const char *proof = json_object_get_string(ts_json_member(boot, "proof_line"));
    if (!strstr(proof, GUEST_HOST) || !strstr(proof, GUEST_IP))
        fail_msg("proof line: %s", proof);

    /* the dracut image gained its drivers in place */
    const char *msg = json_object_get_string(ts_json_member(fix_named(r, "initramfs"), "message"));
    if (!strstr(msg, "0 initramfs rebuilt, 1 given virtio drivers in place"))
        fail_msg("initramfs: %s", msg);
    /* the address the boot saw */
    json_object *addrs = ts_json_member(boot, "addresses");
    bool seen = false;
    for (size_t i = 0; i < json_object_array_length(addrs); i++)
        seen |= strcmp(json_object_get_string(json_object_array_get_idx(addrs, i)), GUEST_IP) == 0;
    assert_true(seen);
    /* /dev/sdb1 in fstab became the UUID of the /var file system on disk 2 */
    assert_string_equal(json_object_get_string(ts_json_member(fix_named(r, "fstab"), "status")),
                        "changed");
    char *var_uuid = guest_fact(vmx, "H2K_GUEST_VAR_UUID");
    char note[128];
    snprintf(note, sizeof(note), "/dev/sdb1 -> UUID=%s", var_uuid);
    if (!strstr(text, note))
        fail_msg("the report lacks the fstab change \"%s\"", note);
    free(var_uuid);
    /* the keyfile bound to ens192: the name pinned to the NIC's MAC */
    if (!strstr(text, "10-hyper2kvm-ens192.link"))
        fail_msg("the report lacks the link file pinning ens192");
    /* the keyfile's interface name is pinned to the MAC */
    assert_string_equal(json_object_get_string(ts_json_member(fix_named(r, "network"), "status")),
                        "changed");
    json_object_put(r);

    /* two virtio disks and the source's MAC in the domain */
    char *xml_path = ts_join(out, GUEST_HOST ".xml");
    char *xml = ts_read_file(xml_path, NULL);
    assert_non_null(strstr(xml, GUEST_MAC));
    assert_non_null(strstr(xml, "bus=\"virtio\""));
    assert_non_null(strstr(xml, "disk2.qcow2"));
    assert_non_null(strstr(xml, "<target dev=\"vdb\" bus=\"virtio\"/>"));

    free(xml);
    free(xml_path);
    free(text);
    free(rep_path);
    ts_rmtree(dir);
    free(out);
    free(dir);
    free(disk1);
    free(disk2);
    free(dir_of);
    free(vmx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_btrfs_dracut_nm_guest_boots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
