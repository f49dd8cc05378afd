/* Helpers shared by the cmocka tests. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "testsupport.h"

const char *
ts_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("environment variable %s is not set: run the tests through ctest", name);
    return v;
}

char *
ts_join(const char *a, const char *b)
{
    char *s = hk_path_join(a, b);
    assert_non_null(s);
    return s;
}

char *
ts_data_path(const char *rel)
{
    return ts_join(ts_env("H2K_TEST_DATA"), rel);
}

char *
ts_shared_path(const char *rel)
{
    char *p = ts_join(ts_env("H2K_SHARED_DIR"), rel);
    if (access(p, R_OK) != 0)
        fail_msg("shared test data missing: %s (the shared/ folder must sit beside the "
                 "repository)", p);
    return p;
}

char *
ts_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = hk_asprintf("%s/h2k-test-XXXXXX", base && *base ? base : "/var/tmp");
    assert_non_null(tmpl);
    if (!mkdtemp(tmpl))
        fail_msg("mkdtemp: %s", strerror(errno));
    return tmpl;
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void
ts_rmtree(const char *dir)
{
    if (dir)
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

void
ts_require_program(const char *prog)
{
    char *p = hk_find_program(prog);
    if (!p)
        fail_msg("required program '%s' is not installed: run scripts/install-deps.sh", prog);
    free(p);
}

int
ts_run(const char *const *argv, char **out)
{
    ts_require_program(argv[0]);
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    hk_run_result res;
    int rc = hk_run(ctx, argv, NULL, &res);
    if (rc < 0)
        fail_msg("cannot run %s: %s", argv[0], h2k_ctx_last_error(ctx)->message);
    if (out)
        *out = hk_asprintf("%s%s", res.stdout_tail ? res.stdout_tail : "",
                           res.stderr_tail ? res.stderr_tail : "");
    int st = res.exit_status;
    if (st != 0 && !out)
        print_message("%s exited %d: %s%s\n", argv[0], st, res.stdout_tail, res.stderr_tail);
    hk_run_result_clear(&res);
    h2k_ctx_free(ctx);
    return st;
}

void
ts_run_ok(const char *const *argv)
{
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0) {
        hk_buf b = { 0 };
        for (size_t i = 0; argv[i]; i++)
            hk_buf_printf(&b, "%s ", argv[i]);
        print_error("command failed (%d): %s\n%s\n", st, b.data, out);
        hk_buf_free(&b);
    }
    free(out);
    assert_int_equal(st, 0);
}

void
ts_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fail_msg("cannot create %s: %s", path, strerror(errno));
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            fail_msg("write %s: %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    close(fd);
}

char *
ts_read_file(const char *path, size_t *len_out)
{
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    char *data = NULL;
    size_t len = 0;
    if (hk_read_file(ctx, path, (size_t)1 << 30, &data, &len) < 0)
        fail_msg("%s", h2k_ctx_last_error(ctx)->message);
    h2k_ctx_free(ctx);
    if (len_out)
        *len_out = len;
    return data;
}

void
ts_sha256_file(const char *path, char out[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    static unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(md, buf, n);
    fclose(f);
    unsigned char dg[32];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(md, dg, &dl);
    EVP_MD_CTX_free(md);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", dg[i]);
}

int
ts_count_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

int
ts_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void
ts_log(void *ud, h2k_log_level level, const char *domain, const char *msg)
{
    (void)ud, (void)level;
    fprintf(stderr, "  [h2k %s] %s\n", domain, msg);
}

h2k_ctx *
ts_ctx(void)
{
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    h2k_ctx_set_log(ctx, ts_log, NULL,
                    getenv("H2K_TEST_DEBUG") ? H2K_LOG_DEBUG : H2K_LOG_WARNING);
    return ctx;
}

void
ts_put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

void
ts_put_be64(uint8_t *p, uint64_t v)
{
    ts_put_be32(p, (uint32_t)(v >> 32));
    ts_put_be32(p + 4, (uint32_t)v);
}

void
ts_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void
ts_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void
ts_put_le64(uint8_t *p, uint64_t v)
{
    ts_put_le32(p, (uint32_t)v);
    ts_put_le32(p + 4, (uint32_t)(v >> 32));
}
