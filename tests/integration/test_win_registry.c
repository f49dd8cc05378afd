/* The registry layer (src/guest/win_registry.c) on hives built with hivexregedit from the
 * shared phony-guest data; every write is read back with hivexget, a program of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/fsread.h"
#include "guest/win_registry.h"
#include "testsupport.h"

/* A SYSTEM hive: the minimal hive with windows-system.reg merged, in the fixture's folder. */
static char *
make_system_hive(const ts_fixture *fx)
{
    char *src = ts_shared_path("testdata/phony-guests/minimal-hive");
    char *reg = ts_shared_path("testdata/phony-guests/windows-system.reg");
    char *hive = ts_join(fx->dir, "SYSTEM");
    size_t len = 0;
    char *data = ts_read_file(src, &len);
    ts_write_file(hive, data, len);
    free(data);
    const char *argv[] = {
        "hivexregedit", "--merge", hive, "--prefix", "HKEY_LOCAL_MACHINE\\SYSTEM", reg, NULL};
    ts_run_ok(argv);
    free(src);
    free(reg);
    return hive;
}

static char *
hivexget(const char *hive, const char *key, const char *value)
{
    const char *argv[] = {"hivexget", hive, key, value, NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0) {
        free(out);
        return NULL;
    }
    char *nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
    return out;
}

static void
test_read(void **state)
{
    ts_fixture *fx = *state;
    char *path = make_system_hive(fx);
    hk_hive *h = NULL;
    assert_int_equal(hk_hive_open_file(fx->ctx, path, "SYSTEM", false, false, &h), 0);
    uint32_t cur = 0;
    assert_int_equal(hk_hive_get_dword(h, "Select", "Current", &cur), 0);
    assert_int_equal(cur, 1);
    /* case-insensitive, as Windows */
    char *hn = hk_hive_get_str(h, "controlset001\\SERVICES\\tcpip\\Parameters", "hostname");
    assert_string_equal(hn, "windows.invalid");
    free(hn);
    assert_true(hk_hive_has_key(h, "ControlSet001\\Services"));
    assert_false(hk_hive_has_key(h, "ControlSet001\\Services\\viostor"));
    char **sub = hk_hive_subkeys(h, "ControlSet001\\Services");
    assert_non_null(sub);
    assert_string_equal(sub[0], "Tcpip");
    assert_null(sub[1]);
    hk_strv_free(sub);
    /* read-only: writes refused */
    assert_int_equal(hk_hive_set_dword(h, "Select", "Current", 2), H2K_ERR_INVALID_ARG);
    hk_hive_close(h);
    free(path);
}

static void
test_write_record_idempotent(void **state)
{
    ts_fixture *fx = *state;
    char *path = make_system_hive(fx);
    hk_hive *h = NULL;
    assert_int_equal(hk_hive_open_file(fx->ctx, path, "SYSTEM", true, false, &h), 0);
    const char *svc = "ControlSet001\\Services\\viostor";
    assert_int_equal(hk_hive_set_dword(h, svc, "Start", 0), 0);
    assert_int_equal(hk_hive_set_str(h, svc, "ImagePath", HK_REG_EXPAND_SZ,
                                     "system32\\drivers\\viostor.sys"),
                     0);
    assert_int_equal(hk_hive_set_str(h, svc, "Group", HK_REG_SZ, "SCSI miniport"), 0);
    const char *multi[] = {"a", "b\xc3\xa9", NULL};
    assert_int_equal(hk_hive_set_multi(h, svc, "Multi", multi), 0);
    assert_int_equal(hk_hive_set_dword(h, "Select", "Current", 1), 0); /* same: no record */
    assert_int_equal(hk_hive_set_str(h, "ControlSet001\\Services\\Tcpip\\Parameters", "Hostname",
                                     HK_REG_SZ, "kvm.invalid"),
                     0);
    size_t n = 0;
    const hk_reg_change *c = hk_hive_changes(h, &n);
    assert_int_equal(n, 6); /* key created + 4 values + Hostname */
    assert_string_equal(c[0].action, "key created");
    assert_string_equal(c[0].key, svc);
    assert_string_equal(c[1].value, "Start");
    assert_string_equal(c[1].type, "REG_DWORD");
    assert_null(c[1].before);
    assert_string_equal(c[1].after, "0x00000000 (0)");
    assert_string_equal(c[4].after, "[\"a\", \"b\xc3\xa9\"]");
    assert_string_equal(c[5].before, "windows.invalid");
    assert_string_equal(c[5].after, "kvm.invalid");
    assert_int_equal(hk_hive_commit(h), 0);
    hk_hive_close(h);

    char *v = hivexget(path, "\\ControlSet001\\Services\\viostor", "ImagePath");
    assert_string_equal(v, "system32\\drivers\\viostor.sys");
    free(v);
    v = hivexget(path, "\\ControlSet001\\Services\\viostor", "Start");
    assert_string_equal(v, "0");
    free(v);
    v = hivexget(path, "\\ControlSet001\\Services\\Tcpip\\Parameters", "Hostname");
    assert_string_equal(v, "kvm.invalid");
    free(v);

    /* a second pass writes nothing and records nothing */
    char sha1[65], sha2[65];
    ts_sha256_file(path, sha1);
    assert_int_equal(hk_hive_open_file(fx->ctx, path, "SYSTEM", true, false, &h), 0);
    assert_int_equal(hk_hive_set_dword(h, svc, "Start", 0), 0);
    assert_int_equal(hk_hive_set_multi(h, svc, "Multi", multi), 0);
    assert_int_equal(hk_hive_set_str(h, svc, "Group", HK_REG_SZ, "SCSI miniport"), 0);
    char **m = hk_hive_get_multi(h, svc, "Multi");
    assert_string_equal(m[1], "b\xc3\xa9");
    hk_strv_free(m);
    hk_hive_changes(h, &n);
    assert_int_equal(n, 0);
    assert_false(hk_hive_dirty(h));
    assert_int_equal(hk_hive_commit(h), 0);
    hk_hive_close(h);
    ts_sha256_file(path, sha2);
    assert_string_equal(sha1, sha2);

    /* deletes are recorded with the old data */
    assert_int_equal(hk_hive_open_file(fx->ctx, path, "SYSTEM", true, false, &h), 0);
    assert_int_equal(hk_hive_delete_value(h, svc, "Multi"), 0);
    assert_int_equal(hk_hive_delete_value(h, svc, "Absent"), 0);
    assert_int_equal(hk_hive_delete_key(h, "ControlSet001\\Services\\Tcpip"), 0);
    c = hk_hive_changes(h, &n);
    assert_int_equal(n, 2);
    assert_string_equal(c[0].action, "value deleted");
    assert_string_equal(c[0].before, "[\"a\", \"b\xc3\xa9\"]");
    assert_null(c[0].after);
    assert_string_equal(c[1].action, "key deleted");
    assert_int_equal(hk_hive_commit(h), 0);
    hk_hive_close(h);
    v = hivexget(path, "\\ControlSet001\\Services\\viostor", "Multi");
    assert_null(v);
    v = hivexget(path, "\\ControlSet001\\Services\\viostor", "Group");
    assert_string_equal(v, "SCSI miniport");
    free(v);
    free(path);
}

static void
test_dry_run_and_garbage(void **state)
{
    ts_fixture *fx = *state;
    char *path = make_system_hive(fx);
    char sha1[65], sha2[65];
    ts_sha256_file(path, sha1);
    hk_hive *h = NULL;
    assert_int_equal(hk_hive_open_file(fx->ctx, path, "SYSTEM", true, true, &h), 0);
    assert_int_equal(hk_hive_set_dword(h, "Select", "Current", 2), 0);
    size_t n = 0;
    hk_hive_changes(h, &n);
    assert_int_equal(n, 1);
    assert_int_equal(hk_hive_commit(h), 0);
    hk_hive_close(h);
    ts_sha256_file(path, sha2);
    assert_string_equal(sha1, sha2);

    char *bad = ts_join(fx->dir, "garbage");
    ts_write_file(bad, "regf but not really a hive", 26);
    assert_int_equal(hk_hive_open_file(fx->ctx, bad, "SOFTWARE", false, false, &h),
                     H2K_ERR_GUEST_DETECTION);
    assert_null(h);
    assert_non_null(strstr(h2k_ctx_last_error(fx->ctx)->message, "does not parse"));
    free(bad);
    free(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_write_record_idempotent, ts_fixture_setup,
                                        ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_and_garbage, ts_fixture_setup,
                                        ts_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
