/* The hyper2kvm CLI: usage, version, exit codes and JSON errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testsupport.h"

static int
cli(const char *a1, const char *a2, const char *a3, const char *a4, char **out)
{
    const char *argv[] = {ts_env("H2K_CLI"), a1, a2, a3, a4, NULL};
    return ts_run(argv, out);
}

static void
test_version(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli("version", NULL, NULL, NULL, &out), 0);
    char want[64];
    snprintf(want, sizeof(want), "hyper2kvm %s\n", h2k_version());
    assert_string_equal(out, want);
    free(out);
    assert_int_equal(cli("--json", "version", NULL, NULL, &out), 0);
    json_object *o = json_tokener_parse(out);
    assert_non_null(o);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "version", &v));
    assert_string_equal(json_object_get_string(v), h2k_version());
    json_object_put(o);
    free(out);
}

static void
test_usage_errors(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli(NULL, NULL, NULL, NULL, &out), 2);
    assert_non_null(strstr(out, "usage:"));
    free(out);
    assert_int_equal(cli("frobnicate", NULL, NULL, NULL, &out), 2);
    assert_non_null(strstr(out, "unknown command 'frobnicate'"));
    free(out);
    assert_int_equal(cli("probe", NULL, NULL, NULL, &out), 2);
    free(out);
    assert_int_equal(cli("convert", "only-one", NULL, NULL, &out), 2);
    free(out);
    assert_int_equal(cli("convert", "a", "b", "--format=vdi", &out), 2);
    free(out);
}

static void
test_not_found_exit_code(void **state)
{
    (void)state;
    char *out = NULL;
    int st = cli("probe", "/nonexistent/h2k/disk.vmdk", NULL, NULL, &out);
    assert_int_equal(st, 10 - H2K_ERR_NOT_FOUND);
    assert_non_null(strstr(out, "/nonexistent/h2k/disk.vmdk"));
    assert_non_null(strstr(out, "NOT_FOUND"));
    free(out);

    st = cli("--json", "probe", "/nonexistent/h2k/disk.vmdk", NULL, &out);
    assert_int_equal(st, 10 - H2K_ERR_NOT_FOUND);
    json_object *o = json_tokener_parse(out);
    assert_non_null(o);
    json_object *e, *v;
    assert_true(json_object_object_get_ex(o, "error", &e));
    assert_true(json_object_object_get_ex(e, "code", &v));
    assert_string_equal(json_object_get_string(v), "NOT_FOUND");
    assert_true(json_object_object_get_ex(e, "source_path", &v));
    assert_string_equal(json_object_get_string(v), "/nonexistent/h2k/disk.vmdk");
    json_object_put(o);
    free(out);
}

static void
test_probe_raw_json(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp();
    char *img = ts_join(dir, "disk.img");
    char buf[65536];
    memset(buf, 0x11, sizeof(buf));
    ts_write_file(img, buf, sizeof(buf));
    char *out = NULL;
    assert_int_equal(cli("probe", "--json", img, NULL, &out), 0);
    json_object *o = json_tokener_parse(out);
    assert_non_null(o);
    json_object *v;
    const char *keys[] = {"format",         "subformat", "virtual_size",
                          "allocated_size", "chain",     "extents"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_true(json_object_object_get_ex(o, keys[i], &v));
    json_object_object_get_ex(o, "format", &v);
    assert_string_equal(json_object_get_string(v), "raw");
    json_object_object_get_ex(o, "virtual_size", &v);
    assert_int_equal(json_object_get_int64(v), 65536);
    json_object_object_get_ex(o, "chain", &v);
    assert_int_equal(json_object_array_length(v), 1);
    json_object_put(o);
    free(out);
    ts_rmtree(dir);
    free(img);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_not_found_exit_code),
        cmocka_unit_test(test_probe_raw_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
