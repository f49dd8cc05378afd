/* Unit tests of src/core: context, errors, strings, paths, subprocess. */
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "testsupport.h"

static void
test_error_codes(void **state)
{
    (void)state;
    assert_string_equal(h2k_code_name(H2K_ERR_VALIDATION), "VALIDATION");
    assert_string_equal(h2k_code_name(H2K_ERR_BOOT_TEST), "BOOT_TEST");
    assert_string_equal(h2k_code_name(12345), "UNKNOWN");
    assert_non_null(h2k_strerror(H2K_ERR_FORMAT));
    assert_string_equal(h2k_strerror(-999), "unknown error code");
}

static void
test_ctx_error_detail(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_int_equal(e->code, 0);
    assert_string_equal(e->message, "");
    assert_int_equal(e->offset, -1);

    int rc = hk_error_at(ctx, H2K_ERR_FORMAT, "/x/disk.vmdk", 512, "grainSize", "bad grain %d", 3);
    assert_int_equal(rc, H2K_ERR_FORMAT);
    e = h2k_ctx_last_error(ctx);
    assert_int_equal(e->code, H2K_ERR_FORMAT);
    assert_string_equal(e->source_path, "/x/disk.vmdk");
    assert_string_equal(e->field, "grainSize");
    assert_int_equal(e->offset, 512);
    assert_string_equal(e->message, "/x/disk.vmdk: bad grain 3 (field grainSize, offset 512)");

    hk_error_prefix(ctx, "stage %s", "probe");
    assert_string_equal(e->message,
                        "stage probe: /x/disk.vmdk: bad grain 3 (field grainSize, offset 512)");
    hk_error_set_output(ctx, "/out.qcow2");
    assert_string_equal(e->output_path, "/out.qcow2");

    hk_error(ctx, H2K_ERR_IO, "plain");
    assert_null(e->source_path);
    assert_null(e->field);
    assert_int_equal(e->offset, -1);
    h2k_ctx_clear_error(ctx);
    assert_int_equal(e->code, 0);
    h2k_ctx_free(ctx);
}

static void
test_ctx_cancel_and_tmpdir(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    assert_int_equal(h2k_ctx_is_cancelled(ctx), 0);
    assert_int_equal(hk_check_cancel(ctx), 0);
    h2k_ctx_cancel(ctx);
    assert_int_equal(hk_check_cancel(ctx), H2K_ERR_CANCELLED);
    h2k_ctx_reset_cancel(ctx);
    assert_int_equal(hk_check_cancel(ctx), 0);
    assert_int_equal(h2k_ctx_set_tmpdir(ctx, "/tmp/x"), 0);
    assert_string_equal(h2k_ctx_tmpdir(ctx), "/tmp/x");
    assert_int_equal(h2k_ctx_set_tmpdir(ctx, ""), H2K_ERR_INVALID_ARG);
    h2k_ctx_free(ctx);
}

static int log_count;
static void
count_log(void *ud, h2k_log_level l, const char *d, const char *m)
{
    (void)ud, (void)l, (void)d;
    if (strlen(m) > 2000)
        log_count += 100;
    log_count++;
}

static void
test_log_levels(void **state)
{
    (void)state;
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    h2k_ctx_set_log(ctx, count_log, NULL, H2K_LOG_INFO);
    log_count = 0;
    hk_debug(ctx, "t", "hidden");
    hk_info(ctx, "t", "shown");
    hk_warn(ctx, "t", "shown");
    assert_int_equal(log_count, 2);
    char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    hk_info(ctx, "t", "%s", big);
    assert_int_equal(log_count, 103);
    h2k_ctx_free(ctx);
}

static void
test_strings(void **state)
{
    (void)state;
    hk_buf b = {0};
    hk_buf_puts(&b, "a");
    hk_buf_printf(&b, "%d-%s", 42, "x");
    char *s = hk_buf_steal(&b);
    assert_string_equal(s, "a42-x");
    free(s);
    uint64_t v;
    assert_true(hk_parse_u64("18446744073709551615", &v, false));
    assert_true(v == UINT64_MAX);
    assert_false(hk_parse_u64("18446744073709551616", &v, false));
    assert_false(hk_parse_u64("12a", &v, false));
    assert_false(hk_parse_u64("", &v, false));
    assert_true(hk_parse_u64("0xfffffffe", &v, true));
    assert_true(v == 0xfffffffeu);
    assert_false(hk_parse_u64("0x", &v, true));
    char t[] = "  \t hi there \n";
    assert_string_equal(hk_strtrim(t), "hi there");
    assert_true(hk_endswith_nocase("disk.VMDK", ".vmdk"));
    assert_false(hk_endswith_nocase("k", ".vmdk"));
}

/* hk_sh_quote: the quoted form (when given), and a round trip through a real
 * /bin/sh for every case. */
static void
test_sh_quote(void **state)
{
    (void)state;
    static const struct {
        const char *in, *quoted;
    } cases[] = {
        {"6.1.0-50-amd64", "'6.1.0-50-amd64'"},
        {"", "''"},
        {"it's", "'it'\\''s'"},
        {"a b", NULL},
        {"x'; touch /tmp/pwned; '", NULL},
        {"$(id)`id`", NULL},
        {"\\\"\n*?[", NULL},
        {"''''", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *q = hk_sh_quote(cases[i].in);
        assert_non_null(q);
        if (cases[i].quoted)
            assert_string_equal(q, cases[i].quoted);
        char *cmd = hk_asprintf("printf %%s %s", q);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        char out[128] = {0};
        size_t n = fread(out, 1, sizeof(out) - 1, f);
        assert_int_equal(pclose(f), 0);
        out[n] = '\0';
        assert_string_equal(out, cases[i].in);
        free(cmd);
        free(q);
    }
}

static void
test_paths(void **state)
{
    (void)state;
    char *p = hk_abspath("/a/b/../c/./d//e/");
    assert_string_equal(p, "/a/c/d/e");
    free(p);
    p = hk_abspath("/../..");
    assert_string_equal(p, "/");
    free(p);
    p = hk_dirname("/a/b/c.vmdk");
    assert_string_equal(p, "/a/b");
    free(p);
    p = hk_dirname("c.vmdk");
    assert_string_equal(p, ".");
    free(p);
    p = hk_path_join("/a/", "b");
    assert_string_equal(p, "/a/b");
    free(p);
    p = hk_path_join("/a", "/abs");
    assert_string_equal(p, "/abs");
    free(p);
}

static int lines_seen;
static void
on_line(void *ud, const char *line)
{
    (void)ud;
    if (strcmp(line, "two") == 0 || strcmp(line, "one") == 0)
        lines_seen++;
}

static void
test_subprocess(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    hk_run_result res;
    const char *argv[] = {"sh", "-c", "printf 'one\\rtwo\\n'; echo err >&2; exit 3", NULL};
    hk_run_opts o = {.on_stdout_line = on_line, .split_cr = true};
    lines_seen = 0;
    assert_int_equal(hk_run(ctx, argv, &o, &res), 0);
    assert_int_equal(res.exit_status, 3);
    assert_int_equal(lines_seen, 2);
    assert_string_equal(res.stderr_tail, "err\n");
    hk_run_result_clear(&res);

    const char *slow[] = {"sleep", "30", NULL};
    hk_run_opts t = {.timeout_seconds = 1};
    double t0 = hk_now();
    assert_int_equal(hk_run(ctx, slow, &t, &res), H2K_ERR_TIMEOUT);
    assert_true(res.timed_out);
    assert_true(hk_now() - t0 < 10);
    hk_run_result_clear(&res);

    const char *none[] = {"no-such-program-h2k", NULL};
    assert_int_equal(hk_run(ctx, none, NULL, &res), H2K_ERR_NOT_FOUND);
    hk_run_result_clear(&res);
    h2k_ctx_free(ctx);
}

static void
test_pread_exact_truncated(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp();
    char *f = ts_join(dir, "short");
    ts_write_file(f, "abc", 3);
    h2k_ctx *ctx = ts_ctx();
    int fd = open(f, O_RDONLY);
    char buf[8];
    assert_int_equal(hk_pread_exact(ctx, fd, f, buf, 3, 0, "x"), 0);
    assert_int_equal(hk_pread_exact(ctx, fd, f, buf, 8, 0, "magic"), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "magic");
    assert_int_equal(h2k_ctx_last_error(ctx)->offset, 3);
    close(fd);
    h2k_ctx_free(ctx);
    free(f);
    ts_rmtree(dir);
    free(dir);
}

static void
test_version(void **state)
{
    (void)state;
    int ma = -1, mi = -1, pa = -1;
    h2k_version_numbers(&ma, &mi, &pa);
    char buf[32];
    snprintf(buf, sizeof(buf), "%d.%d.%d", ma, mi, pa);
    assert_string_equal(buf, h2k_version());
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_ctx_error_detail),
        cmocka_unit_test(test_ctx_cancel_and_tmpdir),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_sh_quote),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_subprocess),
        cmocka_unit_test(test_pread_exact_truncated),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
