/* `hyper2kvm convert` on the command line: JSON result, compression, exit
 * codes (10 + |h2k_code|) and cancellation by SIGTERM. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "testsupport.h"

#define MiB (UINT64_C(1) << 20)

typedef struct cli_out {
    int status;
    char *out; /* stdout */
    char *err; /* stderr */
} cli_out;

/* Runs the CLI with up to 8 arguments (NULL-terminated); stdout and stderr apart. */
static cli_out
cli(const char *a1, ...)
{
    const char *argv[12] = {ts_env("H2K_CLI")};
    size_t n = 1;
    va_list ap;
    va_start(ap, a1);
    for (const char *a = a1; a && n < HK_ARRAY_LEN(argv) - 1; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    h2k_ctx *ctx = ts_ctx();
    hk_run_result res;
    if (hk_run(ctx, argv, NULL, &res) < 0)
        fail_msg("cannot run %s: %s", argv[0], h2k_ctx_last_error(ctx)->message);
    cli_out o = {res.exit_status, res.stdout_tail, res.stderr_tail};
    h2k_ctx_free(ctx);
    return o;
}

static void
cli_out_free(cli_out *o)
{
    free(o->out);
    free(o->err);
}

static void
make_raw(const char *path)
{
    ts_run_ok((const char *const[]){"qemu-img", "create", "-q", "-f", "raw", path, "16M", NULL});
    ts_run_ok((const char *const[]){"qemu-io", "-f", "raw", "-c", "write -q -P 0x2c 0 2M", "-c",
                                    "write -q -P 0x99 9M 1M", path, NULL});
}

static json_object *
get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("JSON key \"%s\" missing in %s", key, json_object_to_json_string(o));
    return v;
}

/* Number of "*.part-*" files in @dir. */
static int
count_parts(const char *dir)
{
    return ts_count_dir_matching(dir, ".part-");
}

static void
test_convert_json(void **state)
{
    char *dir = *state;
    char *src = ts_join(dir, "disk.img"), *dst = ts_join(dir, "disk.qcow2");
    make_raw(src);
    char before[65], after[65];
    ts_sha256_file(src, before);

    cli_out r = cli("convert", src, dst, "--json", NULL);
    if (r.status != 0)
        fail_msg("exit %d: %s %s", r.status, r.out, r.err);
    json_object *o = json_tokener_parse(r.out);
    if (!o)
        fail_msg("stdout is not JSON: %s", r.out);
    assert_string_equal(json_object_get_string(get(o, "source_path")), src);
    assert_string_equal(json_object_get_string(get(o, "output_path")), dst);
    assert_string_equal(json_object_get_string(get(o, "format")), "qcow2");
    assert_string_equal(json_object_get_string(get(o, "source_format")), "raw");
    assert_int_equal(json_object_get_int64(get(o, "virtual_size")), 16 * MiB);
    assert_int_equal(json_object_get_int64(get(o, "chain_length")), 1);
    struct stat st;
    assert_int_equal(stat(dst, &st), 0);
    assert_int_equal(json_object_get_int64(get(o, "output_size")), (int64_t)st.st_blocks * 512);
    json_object *d = get(o, "duration_seconds");
    assert_true(json_object_is_type(d, json_type_double));
    assert_true(json_object_get_double(d) >= 0 && json_object_get_double(d) < 60);
    json_object_put(o);
    /* --json progress events on stderr, the last at 1000/1000 */
    assert_non_null(strstr(r.err, "{\"event\":\"progress\",\"stage\":\"convert\",\"done\":1000,"
                                  "\"total\":1000}"));
    cli_out_free(&r);
    ts_qemu_img_compare(src, "raw", dst, "qcow2");
    ts_sha256_file(src, after);
    assert_string_equal(before, after);

    /* text mode */
    char *dst2 = ts_join(dir, "text.img");
    r = cli("convert", "--format", "raw", src, dst2, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "converted "));
    assert_non_null(strstr(r.out, "(raw, 1 layer)"));
    cli_out_free(&r);
    ts_qemu_img_compare(src, "raw", dst2, "raw");
    free(dst2);
    free(src);
    free(dst);
}

static void
test_convert_compress(void **state)
{
    char *dir = *state;
    char *src = ts_join(dir, "disk.img"), *dst = ts_join(dir, "disk.qcow2"),
         *zl = ts_join(dir, "zlib.qcow2");
    make_raw(src);
    cli_out r = cli("--json", "convert", "--compress", src, dst, NULL);
    assert_int_equal(r.status, 0);
    cli_out_free(&r);
    const char *info[] = {"qemu-img", "info", "--output=json", dst, NULL};
    char *out = NULL;
    assert_int_equal(ts_run(info, &out), 0);
    assert_non_null(strstr(out, "\"compression-type\": \"zstd\""));
    free(out);
    ts_qemu_img_compare(src, "raw", dst, "qcow2");

    r = cli("convert", "--compression", "zlib", src, zl, NULL);
    assert_int_equal(r.status, 0);
    cli_out_free(&r);
    info[3] = zl;
    assert_int_equal(ts_run(info, &out), 0);
    assert_non_null(strstr(out, "\"compression-type\": \"zlib\""));
    free(out);

    /* raw output cannot be compressed: usage error, nothing created */
    int n = ts_count_dir(dir);
    char *bad = ts_join(dir, "bad.img");
    r = cli("convert", "--compress", "--format", "raw", src, bad, NULL);
    assert_int_equal(r.status, 2);
    cli_out_free(&r);
    assert_int_equal(ts_count_dir(dir), n);
    free(bad);
    free(src);
    free(dst);
    free(zl);
}

static void
test_convert_exit_codes(void **state)
{
    char *dir = *state;
    char *src = ts_join(dir, "disk.img"), *dst = ts_join(dir, "disk.qcow2");
    make_raw(src);
    ts_write_file(dst, "keep me", 7);

    /* EXISTS (-17) -> 27, JSON error on stdout, the file kept */
    cli_out r = cli("--json", "convert", src, dst, NULL);
    assert_int_equal(r.status, 10 + 17);
    json_object *o = json_tokener_parse(r.out);
    assert_non_null(o);
    json_object *e = get(o, "error");
    assert_string_equal(json_object_get_string(get(e, "code")), "EXISTS");
    assert_string_equal(json_object_get_string(get(e, "output_path")), dst);
    json_object_put(o);
    cli_out_free(&r);
    size_t len = 0;
    char *kept = ts_read_file(dst, &len);
    assert_int_equal(len, 7);
    free(kept);

    /* --overwrite replaces it */
    r = cli("-v", "convert", "--overwrite", src, dst, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "converted "));
    assert_null(strstr(r.err, "not synced"));
    cli_out_free(&r);
    ts_qemu_img_compare(src, "raw", dst, "qcow2");

    /* --no-sync: the same output, without the durability work */
    r = cli("-v", "convert", "--overwrite", "--no-sync", src, dst, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "not synced to disk"));
    cli_out_free(&r);
    ts_qemu_img_compare(src, "raw", dst, "qcow2");

    /* NOT_FOUND (-10) -> 20 */
    char *missing = ts_join(dir, "missing.vmdk"), *o2 = ts_join(dir, "o2.qcow2");
    r = cli("convert", missing, o2, NULL);
    assert_int_equal(r.status, 20);
    assert_non_null(strstr(r.err, "NOT_FOUND"));
    cli_out_free(&r);

    /* output == source: VALIDATION (-8) -> 18 */
    r = cli("convert", "--overwrite", "--format", "raw", src, src, NULL);
    assert_int_equal(r.status, 18);
    cli_out_free(&r);

    /* broken chain: FORMAT (-14) -> 24, nothing created */
    char *top = ts_join(dir, "top.qcow2"), *base = ts_join(dir, "base.qcow2");
    ts_qemu_img_create("qcow2", NULL, NULL, NULL, base, "16M");
    ts_qemu_img_create("qcow2", NULL, "base.qcow2", "qcow2", top, NULL);
    unlink(base);
    int n = ts_count_dir(dir);
    r = cli("convert", top, o2, NULL);
    assert_int_equal(r.status, 24);
    cli_out_free(&r);
    assert_int_equal(ts_count_dir(dir), n);
    assert_false(ts_exists(o2));
    free(top);
    free(base);
    free(missing);
    free(o2);
    free(src);
    free(dst);
}

/* SIGTERM during a conversion: the CLI cancels, exits 10 + 13, leaves nothing. */
static void
test_convert_sigterm(void **state)
{
    char *dir = *state;
    char *src = ts_join(dir, "big.img"), *dst = ts_join(dir, "big.qcow2");
    ts_make_random_raw(src, "512M");
    int n = ts_count_dir(dir);

    int errp[2];
    assert_int_equal(pipe2(errp, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(errp[1], 2);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        execl(ts_env("H2K_CLI"), "hyper2kvm", "--json", "convert", src, dst, (char *)NULL);
        _exit(127);
    }
    close(errp[1]);
    /* wait for the first progress event, then terminate */
    char buf[4096];
    size_t got = 0;
    bool seen = false;
    double t0 = hk_now();
    while (!seen && hk_now() - t0 < 30) {
        struct pollfd p = {errp[0], POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0)
            continue;
        ssize_t k = read(errp[0], buf + got, sizeof(buf) - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        buf[got] = '\0';
        seen = strstr(buf, "\"event\":\"progress\"") != NULL;
        if (got > sizeof(buf) / 2) {
            memmove(buf, buf + got / 2, got - got / 2);
            got -= got / 2;
        }
    }
    assert_true(seen);
    kill(pid, SIGTERM);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    close(errp[0]);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 10 + 13);
    assert_false(ts_exists(dst));
    assert_int_equal(count_parts(dir), 0);
    assert_int_equal(ts_count_dir(dir), n);
    free(src);
    free(dst);
}

static int
setup(void **state)
{
    ts_require_program("qemu-img");
    ts_require_program("qemu-io");
    return ts_setup_tmpdir(state);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_convert_json, setup, ts_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_convert_compress, setup, ts_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_convert_exit_codes, setup, ts_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_convert_sigterm, setup, ts_teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
