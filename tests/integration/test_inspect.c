/*
 * Guest detection from disk images with libguestfs (h2k_guest_detect_image and
 * hyper2kvm inspect), on the phony guests of scripts/images/build-phony-guests.sh:
 * a two-disk guest inspected in one appliance, a "multi-boot" VM (two guests'
 * disks together) and a disk without an operating system, both refused with
 * GUEST_DETECTION.  The images are opened read-only and stay unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testsupport.h"

static char *rhel9, *ubuntu, *ubuntu2, *workdir;

static int
setup(void **state)
{
    (void)state;
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-phony-guests.sh");
    const char *argv[] = {"bash", script, "rhel9", "ubuntu", NULL};
    char *out = NULL;
    if (ts_run(argv, &out) != 0)
        fail_msg("building the phony guests failed:\n%s", out);
    char *r = strstr(out, "rhel9 "), *u = strstr(out, "ubuntu ");
    assert_non_null(r);
    assert_non_null(u);
    rhel9 = hk_strndup(r + 6, strcspn(r + 6, "\n"));
    ubuntu = hk_strndup(u + 7, strcspn(u + 7, "\n"));
    ubuntu2 = hk_asprintf("%.*s-disk2.qcow2", (int)(strlen(ubuntu) - 6), ubuntu);
    workdir = ts_mkdtemp();
    free(out);
    free(script);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    ts_rmtree(workdir);
    free(workdir);
    free(rhel9);
    free(ubuntu);
    free(ubuntu2);
    return 0;
}

static void
test_cli_inspect_two_disks(void **state)
{
    (void)state;
    char before[65], after[65];
    ts_sha256_file(ubuntu2, before);
    const char *argv[] = {ts_env("H2K_CLI"), "inspect", "--json", ubuntu, ubuntu2, NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("inspect exited %d:\n%s", st, out);
    json_object *o = json_tokener_parse(out), *v;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "os_id", &v));
    assert_string_equal(json_object_get_string(v), "ubuntu");
    assert_true(json_object_object_get_ex(o, "os_version", &v));
    assert_string_equal(json_object_get_string(v), "22.04");
    assert_true(json_object_object_get_ex(o, "distro_family", &v));
    assert_string_equal(json_object_get_string(v), "debian");
    assert_true(json_object_object_get_ex(o, "network_config", &v));
    assert_string_equal(json_object_get_string(v), "netplan");
    assert_true(json_object_object_get_ex(o, "mounts", &v));
    bool data = false;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *m = json_object_array_get_idx(v, i), *mp, *dev;
        json_object_object_get_ex(m, "mountpoint", &mp);
        json_object_object_get_ex(m, "device", &dev);
        if (strcmp(json_object_get_string(mp), "/data") == 0) {
            data = true;
            assert_string_equal(json_object_get_string(dev), "/dev/sdb1"); /* the second disk */
        }
    }
    assert_true(data);
    assert_true(json_object_object_get_ex(o, "kernels", &v));
    assert_int_equal(json_object_array_length(v), 1);
    json_object_put(o);
    free(out);
    ts_sha256_file(ubuntu2, after);
    assert_string_equal(before, after);
}

static void
test_multi_boot_refused(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_guest_detector *det = NULL;
    assert_int_equal(h2k_guest_detector_new(ctx, &det), 0);
    const char *disks[] = {rhel9, ubuntu};
    h2k_guest_identity *id = NULL;
    ts_assert_rc(ctx, h2k_guest_detect_image(det, disks, NULL, 2, &id), H2K_ERR_GUEST_DETECTION);
    assert_null(id);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "multi-boot"));
    h2k_guest_detector_free(det);
    h2k_ctx_free(ctx);
}

static void
test_no_os_refused(void **state)
{
    (void)state;
    char *blank = ts_join(workdir, "blank.qcow2");
    const char *mk[] = {"qemu-img", "create", "-q", "-f", "qcow2", blank, "64M", NULL};
    ts_run_ok(mk);
    const char *argv[] = {ts_env("H2K_CLI"), "--json", "inspect", blank, NULL};
    char *out = NULL;
    assert_int_equal(ts_run(argv, &out), 10 - H2K_ERR_GUEST_DETECTION);
    assert_non_null(strstr(out, "GUEST_DETECTION"));
    assert_non_null(strstr(out, "no operating system"));
    free(out);
    free(blank);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_inspect_two_disks),
        cmocka_unit_test(test_multi_boot_refused),
        cmocka_unit_test(test_no_os_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
