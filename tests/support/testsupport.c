/* Helpers shared by the cmocka tests. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
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
    if (access(p, R_OK) != 0) {
        char msg[PATH_MAX + 128];
        snprintf(msg, sizeof(msg),
                 "shared test data missing: %s (the shared/ folder must sit beside the "
                 "repository)",
                 p);
        free(p); /* fail_msg() does not return */
        fail_msg("%s", msg);
    }
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

char *ts_tmpdir;

int
ts_setup_tmpdir(void **state)
{
    ts_tmpdir = ts_mkdtemp();
    *state = ts_tmpdir;
    return 0;
}

int
ts_teardown_tmpdir(void **state)
{
    ts_rmtree(ts_tmpdir);
    free(ts_tmpdir);
    ts_tmpdir = NULL;
    *state = NULL;
    return 0;
}

char *
ts_tmp_path(const char *name)
{
    assert_non_null(ts_tmpdir);
    return ts_join(ts_tmpdir, name);
}

char *
ts_tmp_write(const char *name, const void *data, size_t len)
{
    char *p = ts_tmp_path(name);
    ts_write_file(p, data, len);
    return p;
}

int
ts_fixture_setup(void **state)
{
    ts_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = ts_mkdtemp();
    f->ctx = ts_ctx();
    *state = f;
    return 0;
}

int
ts_fixture_teardown(void **state)
{
    ts_fixture *f = *state;
    ts_rmtree(f->dir);
    free(f->dir);
    h2k_ctx_free(f->ctx);
    free(f);
    *state = NULL;
    return 0;
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
    char *o = NULL, *e = NULL;
    int st = ts_run_split(argv, &o, &e);
    if (out)
        *out = hk_asprintf("%s%s", o, e);
    else if (st != 0)
        print_message("%s exited %d: %s%s\n", argv[0], st, o, e);
    free(o);
    free(e);
    return st;
}

int
ts_run_split(const char *const *argv, char **out, char **err)
{
    ts_require_program(argv[0]);
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    hk_run_result res;
    int rc = hk_run(ctx, argv, NULL, &res);
    if (rc < 0)
        fail_msg("cannot run %s: %s", argv[0], h2k_ctx_last_error(ctx)->message);
    *out = strdup(res.stdout_tail ? res.stdout_tail : "");
    if (err)
        *err = strdup(res.stderr_tail ? res.stderr_tail : "");
    int st = res.exit_status;
    hk_run_result_clear(&res);
    h2k_ctx_free(ctx);
    return st;
}

char *
ts_wine_run(const char *prefix, const char *const *args)
{
    char *env = hk_asprintf("WINEPREFIX=%s", prefix);
    const char *argv[16] = {"env",      env,   "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=",
                            "DISPLAY=", "wine"};
    size_t n = 6;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("wine failed (status %d):\n%s", st, out ? out : "");
    free(env);
    return out;
}

void
ts_run_ok(const char *const *argv)
{
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0) {
        hk_buf b = {0};
        for (size_t i = 0; argv[i]; i++)
            hk_buf_printf(&b, "%s ", argv[i]);
        print_error("command failed (%d): %s\n%s\n", st, b.data, out);
        hk_buf_free(&b);
    }
    free(out);
    assert_int_equal(st, 0);
}

void
ts_qemu_img_create(const char *fmt, const char *opts, const char *backing, const char *backing_fmt,
                   const char *path, const char *size)
{
    const char *argv[16] = {"qemu-img", "create", "-q", "-f", fmt};
    size_t n = 5;
    if (opts) {
        argv[n++] = "-o";
        argv[n++] = opts;
    }
    if (backing) {
        argv[n++] = "-b";
        argv[n++] = backing;
        argv[n++] = "-F";
        argv[n++] = backing_fmt;
    }
    argv[n++] = path;
    if (size)
        argv[n++] = size;
    argv[n] = NULL;
    ts_run_ok(argv);
}

void
ts_qemu_img_compare(const char *a, const char *afmt, const char *b, const char *bfmt)
{
    const char *argv[] = {"qemu-img", "compare", "-f", afmt, "-F", bfmt, a, b, NULL};
    ts_run_ok(argv);
}

void
ts_make_random_raw(const char *path, const char *size)
{
    static unsigned char rnd[1 << 20];
    int ufd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    assert_true(ufd >= 0);
    assert_int_equal(read(ufd, rnd, sizeof(rnd)), (ssize_t)sizeof(rnd));
    close(ufd);
    char *pat = hk_asprintf("%s.pattern", path);
    assert_non_null(pat);
    ts_write_file(pat, rnd, sizeof(rnd));
    ts_qemu_img_create("raw", NULL, NULL, NULL, path, size);
    char *cmd = hk_asprintf("write -q -s %s 0 %s", pat, size);
    assert_non_null(cmd);
    const char *argv[] = {"qemu-io", "-f", "raw", "-c", cmd, path, NULL};
    ts_run_ok(argv);
    unlink(pat);
    free(cmd);
    free(pat);
}

uint64_t
ts_qemu_img_info_u64(const char *fmt, const char *path, const char *key)
{
    const char *argv[7] = {"qemu-img", "info", "--output=json"};
    size_t n = 3;
    if (fmt) {
        argv[n++] = "-f";
        argv[n++] = fmt;
    }
    argv[n++] = path;
    argv[n] = NULL;
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("qemu-img info %s failed: %s", path, out);
    json_object *j = json_tokener_parse(out);
    assert_non_null(j);
    json_object *v = NULL;
    if (!json_object_object_get_ex(j, key, &v))
        fail_msg("qemu-img info %s: no %s in %s", path, key, out);
    uint64_t r = (uint64_t)json_object_get_int64(v);
    json_object_put(j);
    free(out);
    return r;
}

json_object *
ts_json_member(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v))
        fail_msg("no \"%s\" in the report", key);
    return v;
}

const char *
ts_json_str(json_object *o, const char *key)
{
    json_object *v = ts_json_member(o, key);
    if (!json_object_is_type(v, json_type_string))
        fail_msg("\"%s\" is not a string in the report", key);
    return json_object_get_string(v);
}

json_object *
ts_report_fix(json_object *report, const char *name)
{
    json_object *fixes = ts_json_member(report, "fixes");
    for (size_t i = 0; i < json_object_array_length(fixes); i++) {
        json_object *f = json_object_array_get_idx(fixes, i);
        if (strcmp(ts_json_str(f, "name"), name) == 0)
            return f;
    }
    return NULL;
}

h2k_disk_info *
ts_probe_ok(const char *path, int follow)
{
    h2k_ctx *ctx = ts_ctx();
    h2k_probe_options o = H2K_PROBE_OPTIONS_INIT;
    o.follow_chain = follow;
    h2k_disk_info *info = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, path, &o, &info), 0);
    h2k_ctx_free(ctx);
    return info;
}

char *
ts_probe_err(const char *path, const h2k_probe_options *opts, int code, const char *field,
             const char *err_path, int64_t offset)
{
    if (!err_path)
        err_path = path;
    char before[65], after[65];
    ts_sha256_file(path, before);
    h2k_ctx *ctx = ts_ctx();
    h2k_disk_info *info = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, path, opts, &info), code);
    assert_null(info);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_non_null(e->field);
    assert_string_equal(e->field, field);
    assert_non_null(e->source_path);
    assert_string_equal(e->source_path, err_path);
    if (offset != TS_ANY_OFFSET)
        assert_int_equal(e->offset, offset);
    assert_non_null(strstr(e->message, err_path));
    char *msg = strdup(e->message);
    assert_non_null(msg);
    h2k_ctx_free(ctx);
    ts_sha256_file(path, after);
    assert_string_equal(before, after);
    return msg;
}

char *
ts_probe_bytes_err(const char *name, const void *data, size_t len, h2k_disk_format format, int code,
                   const char *field, int64_t offset)
{
    char *p = ts_tmp_write(name, data, len);
    h2k_probe_options o = H2K_PROBE_OPTIONS_INIT;
    o.format = format;
    o.follow_chain = 0;
    char *msg = ts_probe_err(p, &o, code, field, NULL, offset);
    free(p);
    return msg;
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

void
ts_write_exec(const char *dir, const char *name, const char *text)
{
    char *p = ts_join(dir, name);
    ts_write_file(p, text, strlen(text));
    if (chmod(p, 0755) != 0)
        fail_msg("chmod %s: %s", p, strerror(errno));
    free(p);
}

int
ts_sh_with_path(const char *path_dir, const char *script, char **out)
{
    char *full = hk_asprintf("PATH='%s':\"$PATH\"; export PATH\n(\n%s\n) 2>&1\n", path_dir, script);
    if (!full)
        fail_msg("out of memory");
    FILE *f = popen(full, "r");
    if (!f)
        fail_msg("popen: %s", strerror(errno));
    hk_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        hk_buf_append(&b, chunk, n);
    hk_buf_append(&b, "", 0);
    int st = pclose(f);
    free(full);
    char *text = hk_buf_steal(&b);
    if (out)
        *out = text;
    else
        free(text);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void
ts_print_failed_boot(h2k_ctx *ctx, int rc, const h2k_migration_result *res)
{
    if (rc == 0)
        return;
    const char *log = res && res->boot ? res->boot->console_log_path : NULL;
    char *text = NULL;
    size_t len = 0;
    h2k_ctx *rctx = NULL;
    if (log && h2k_ctx_new(&rctx) == 0 &&
        hk_read_file(rctx, log, (size_t)64 << 20, &text, &len) == 0 && len) {
        static const char *const trouble[] = {
            "BUG:", "rcu: INFO:", "INFO: task",   "blocked for more than", "Call Trace:",
            "RIP:", "Oops",       "Kernel panic", "general protection"};
        size_t n_lines = 0, shown = 0;
        for (size_t i = 0; i < len; i++)
            n_lines += text[i] == '\n';
        print_error("the kept console %s (%zu lines); the kernel's reports of trouble:\n", log,
                    n_lines);
        size_t line = 0;
        for (char *l = text; l && *l; line++) {
            char *nl = strchr(l, '\n');
            if (nl)
                *nl = '\0';
            bool bad = false;
            for (size_t k = 0; k < HK_ARRAY_LEN(trouble) && !bad; k++)
                bad = strstr(l, trouble[k]) != NULL;
            if ((bad && shown < 60) || line + 80 >= n_lines) {
                if (bad && shown < 60)
                    shown++;
                print_error("%s%s\n", line + 80 >= n_lines ? "" : "! ", l);
            }
            l = nl ? nl + 1 : NULL;
        }
    } else if (h2k_ctx_last_error(ctx)->console_tail) {
        print_error("console:\n%s\n", h2k_ctx_last_error(ctx)->console_tail);
    }
    free(text);
    h2k_ctx_free(rctx);
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
ts_count_dir_matching(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, needle))
            n++;
    closedir(d);
    return n;
}

int
ts_count_dir(const char *dir)
{
    return ts_count_dir_matching(dir, "");
}

int
ts_proc_stat(const char *pid, char *comm, size_t comm_size, char *state, int *ppid)
{
    char path[300], buf[512];
    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = '\0';
    /* "pid (comm) state ppid ...": the command name may hold spaces */
    char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
    char st = 0;
    int pp = 0;
    if (!lp || !rp || sscanf(rp + 1, " %c %d", &st, &pp) != 2)
        return -1;
    if (comm && comm_size)
        snprintf(comm, comm_size, "%.*s", (int)(rp - lp - 1), lp + 1);
    if (state)
        *state = st;
    if (ppid)
        *ppid = pp;
    return 0;
}

int
ts_count_children(const char *comm)
{
    DIR *d = opendir("/proc");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    pid_t me = getpid();
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char name[256], state;
        int ppid;
        if (ts_proc_stat(e->d_name, name, sizeof(name), &state, &ppid) < 0 || ppid != me)
            continue;
        if (comm && strcmp(name, comm) != 0)
            continue;
        print_message("child process %s (%s), state %c\n", e->d_name, name, state);
        n++;
    }
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
    h2k_ctx_set_log(ctx, ts_log, NULL, getenv("H2K_TEST_DEBUG") ? H2K_LOG_DEBUG : H2K_LOG_WARNING);
    return ctx;
}

char *
ts_dir_of(const char *file)
{
    const char *slash = strrchr(file, '/');
    char *dir = slash ? hk_strndup(file, slash == file ? 1 : (size_t)(slash - file)) : strdup(".");
    assert_non_null(dir);
    return dir;
}

void
ts_allow_dir_of(h2k_ctx *ctx, const char *file)
{
    char *dir = ts_dir_of(file);
    ts_assert_rc(ctx, h2k_ctx_allow_path(ctx, dir), 0);
    free(dir);
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

size_t
ts_put_utf16le(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        ts_put_le16(p + 2 * i, (uint8_t)s[i]);
    return 2 * n;
}

char *
ts_debian_guest(void)
{
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-debian-guest.sh");
    const char *argv[] = {"bash", script, NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("cannot build the Debian test guest (%s exited %d):\n%s", script, st, out);
    char *path = NULL, *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (l[0] == '/' && hk_endswith_nocase(l, ".vmdk") && access(l, R_OK) == 0) {
            free(path);
            path = strdup(l);
        }
    if (!path)
        fail_msg("build-debian-guest.sh printed no readable image path");
    free(out);
    free(script);
    return path;
}
