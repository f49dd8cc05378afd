/*
 * The real Debian guest shaped like a VMware VM (scripts/images/build-debian-guest.sh),
 * through the command line as an administrator would run it:
 *   hyper2kvm convert guest.vmdk guest.qcow2
 *   hyper2kvm fix guest.qcow2 --force-initramfs --report report.json
 *   hyper2kvm test guest.qcow2 --bus virtio --nic virtio-net-pci --mac <its MAC>
 *   hyper2kvm test guest.qcow2 --libvirt qemu:///system ... (the same, through libvirt)
 * Before the repair the guest does not boot on virtio (its initramfs has no
 * virtio driver and it names /dev/sda1: tests/integration/test_boot_qemu.c
 * shows that); after it, it boots on virtio-blk and
 * virtio-net only, its interface comes up with its original static address,
 * and VMware tools are gone.  The source VMDK is never modified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testsupport.h"

static char *
env_value(const char *env_text, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "%s=", key);
    const char *p = strstr(env_text, pat);
    if (!p)
        fail_msg("%s missing from the guest's .env", key);
    p += strlen(pat);
    return hk_strndup(p, strcspn(p, "\n"));
}

static json_object *
run_json(const char *const *argv, int want_status)
{
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != want_status)
        fail_msg("%s %s exited %d (want %d):\n%s", argv[0], argv[1], st, want_status, out);
    /* the JSON document is the first '{' at the start of a line */
    const char *j = out[0] == '{' ? out : strstr(out, "\n{");
    assert_non_null(j);
    json_object *o = json_tokener_parse(j[0] == '\n' ? j + 1 : j);
    if (!o)
        fail_msg("no JSON in:\n%s", out);
    free(out);
    return o;
}

/* A field ("status", "message") of the repair @name in a fix report. */
static const char *
fix_field(json_object *report, const char *name, const char *field)
{
    json_object *fixes, *f, *v;
    assert_true(json_object_object_get_ex(report, "fixes", &fixes));
    for (size_t i = 0; i < json_object_array_length(fixes); i++) {
        f = json_object_array_get_idx(fixes, i);
        json_object_object_get_ex(f, "name", &v);
        if (strcmp(json_object_get_string(v), name) == 0) {
            json_object_object_get_ex(f, field, &v);
            return json_object_get_string(v);
        }
    }
    fail_msg("no fix named %s in the report", name);
    return NULL;
}

static const char *
fix_status(json_object *report, const char *name)
{
    return fix_field(report, name, "status");
}

static void
test_debian_fix_then_boot_on_virtio(void **state)
{
    (void)state;
    const char *cli = ts_env("H2K_CLI");
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-debian-guest.sh");
    const char *build[] = {"bash", script, NULL};
    char *out = NULL;
    if (ts_run(build, &out) != 0)
        fail_msg("building the Debian test guest failed:\n%s", out);
    char *vmdk = hk_strndup(out, strcspn(out, "\n"));
    free(out);
    char *envpath = hk_asprintf("%.*s.env", (int)(strlen(vmdk) - 5), vmdk);
    char *envtext = ts_read_file(envpath, NULL);
    char *mac = env_value(envtext, "H2K_GUEST_MAC");
    char *ip = env_value(envtext, "H2K_GUEST_IP");
    char before[65], after[65];
    ts_sha256_file(vmdk, before);

    char *dir = ts_mkdtemp();
    char *qcow = ts_join(dir, "guest.qcow2");
    char *report = ts_join(dir, "report.json");
    char *log = ts_join(dir, "console.log");

    const char *convert[] = {cli, "--json", "convert", vmdk, qcow, NULL};
    json_object_put(run_json(convert, 0));

    /* the full rebuild by update-initramfs (the in-place path is what
     * test_local_debian boots) */
    const char *fix[] = {cli, "fix", qcow, "--force-initramfs", "--report", report, NULL};
    char *fix_out = NULL;
    int st = ts_run(fix, &fix_out);
    if (st != 0)
        fail_msg("hyper2kvm fix exited %d:\n%s", st, fix_out);
    free(fix_out);
    json_object *rep = json_object_from_file(report);
    assert_non_null(rep);
    assert_string_equal(fix_status(rep, "fstab"), "changed");
    assert_string_equal(fix_status(rep, "grub"), "changed");
    assert_string_equal(fix_status(rep, "network"), "changed");
    assert_string_equal(fix_status(rep, "initramfs"), "changed");
    const char *msg = fix_field(rep, "initramfs", "message");
    if (!strstr(msg, "1 initramfs rebuilt"))
        fail_msg("initramfs: %s", msg);
    assert_string_equal(fix_status(rep, "vmware_tools"), "changed");
    json_object_put(rep);

    const char *boot[] = {cli,         "--json", "test",           qcow,    "--bus",
                          "virtio",    "--nic",  "virtio-net-pci", "--mac", mac,
                          "--timeout", "600",    "--console-log",  log,     NULL};
    json_object *res = run_json(boot, 0), *v;
    assert_true(json_object_object_get_ex(res, "success", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(res, "addresses", &v));
    bool found = false;
    for (size_t i = 0; i < json_object_array_length(v); i++)
        found |= strcmp(json_object_get_string(json_object_array_get_idx(v, i)), ip) == 0;
    if (!found)
        fail_msg("the static address %s did not come up: %s", ip, json_object_get_string(v));
    json_object_put(res);

    /* the same proof through libvirt: a transient domain on an overlay */
    const char *vboot[] = {
        cli,      "--json", "test",           qcow,    "--libvirt", "qemu:///system", "--bus",
        "virtio", "--nic",  "virtio-net-pci", "--mac", mac,         "--timeout",      "600",
        NULL};
    res = run_json(vboot, 0);
    assert_true(json_object_object_get_ex(res, "success", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(res, "addresses", &v));
    found = false;
    for (size_t i = 0; i < json_object_array_length(v); i++)
        found |= strcmp(json_object_get_string(json_object_array_get_idx(v, i)), ip) == 0;
    if (!found)
        fail_msg("through libvirt, %s did not come up: %s", ip, json_object_get_string(v));
    json_object_put(res);

    /* the repaired guest no longer runs VMware tools, and the source is untouched */
    char *console = ts_read_file(log, NULL);
    assert_null(strstr(console, "vmtoolsd"));
    assert_null(strstr(console, "hosted on VMware"));
    free(console);
    ts_sha256_file(vmdk, after);
    assert_string_equal(before, after);

    ts_rmtree(dir);
    free(dir);
    free(qcow);
    free(report);
    free(log);
    free(mac);
    free(ip);
    free(envtext);
    free(envpath);
    free(vmdk);
    free(script);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debian_fix_then_boot_on_virtio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
