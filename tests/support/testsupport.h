/*
 * Helpers shared by the cmocka tests: environment, temporary folders,
 * running programs, checksums.  A missing dependency is a test FAILURE with
 * a clear message, never a skip.
 */
#ifndef H2K_TESTSUPPORT_H
#define H2K_TESTSUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <hyper2kvm.h>

#include "core/internal.h"

/* Value of an environment variable set by CTest; fails the test if unset. */
const char *ts_env(const char *name);
/* ts_env("H2K_TEST_DATA") + "/" + rel; caller frees. */
char *ts_data_path(const char *rel);
/* ts_env("H2K_SHARED_DIR") + "/" + rel, which must exist; caller frees. */
char *ts_shared_path(const char *rel);

/* Creates a fresh temporary directory; caller removes it with ts_rmtree(). */
char *ts_mkdtemp(void);
/* Removes a directory tree (files and folders); frees nothing. */
void ts_rmtree(const char *dir);
/* Joins two path parts; caller frees. */
char *ts_join(const char *a, const char *b);

/* A temporary folder for a cmocka group (or test): ts_setup_tmpdir() makes it,
 * sets ts_tmpdir and *state to it; ts_teardown_tmpdir() removes and frees it. */
extern char *ts_tmpdir;
int ts_setup_tmpdir(void **state);
int ts_teardown_tmpdir(void **state);
/* ts_tmpdir + "/" + name; caller frees. */
char *ts_tmp_path(const char *name);
/* Writes @len bytes to ts_tmpdir/@name; returns the path (caller frees). */
char *ts_tmp_write(const char *name, const void *data, size_t len);

/* A temporary folder and a context for a cmocka group: ts_fixture_setup() puts a
 * new one in *state, ts_fixture_teardown() removes the folder and frees both. */
typedef struct ts_fixture {
    char *dir;
    h2k_ctx *ctx;
} ts_fixture;
int ts_fixture_setup(void **state);
int ts_fixture_teardown(void **state);

/* Runs argv (NULL-terminated), fails the test if the program is missing.
 * Returns the exit status; *out (if not NULL) gets stdout+stderr tail (caller frees). */
int ts_run(const char *const *argv, char **out);
/* Like ts_run() but *out gets stdout's tail alone and *err (if not NULL) stderr's
 * tail (caller frees both): for programs whose stdout is parsed while their
 * stderr may carry anything (package installs, build logs). */
int ts_run_split(const char *const *argv, char **out, char **err);
/* Runs wine with @args (NULL-terminated, at most 9) in the prefix folder
 * @prefix, quietly and without a display; fails the test unless it exits 0.
 * Returns its output (stdout+stderr tail; caller frees). */
char *ts_wine_run(const char *prefix, const char *const *args);
/* Like ts_run() but fails the test unless the exit status is 0. */
void ts_run_ok(const char *const *argv);
/* Fails the test with a clear message unless @prog is in PATH. */
void ts_require_program(const char *prog);

/* qemu-img create -q -f @fmt [-o @opts] [-b @backing -F @backing_fmt] @path [@size]
 * (a NULL leaves its part out); fails the test unless it succeeds. */
void ts_qemu_img_create(const char *fmt, const char *opts, const char *backing,
                        const char *backing_fmt, const char *path, const char *size);
/* qemu-img compare -f @afmt -F @bfmt @a @b: fails the test unless the guest-visible
 * contents are identical. */
void ts_qemu_img_compare(const char *a, const char *afmt, const char *b, const char *bfmt);
/* A raw image of @size (a qemu-img size) filled with one random MiB repeated,
 * so that converting it takes a while; a pattern file beside it is removed. */
void ts_make_random_raw(const char *path, const char *size);
/* Number @key of `qemu-img info --output=json [-f @fmt] @path` (@fmt may be NULL). */
uint64_t ts_qemu_img_info_u64(const char *fmt, const char *path, const char *key);

/* Reading a migration report (h2k_migration_result_to_json) parsed with json-c. */
struct json_object;
/* The member @key of the object @o; fails the test when @o is NULL or lacks it. */
struct json_object *ts_json_member(struct json_object *o, const char *key);
/* The string member @key of @o; fails the test when it is absent or not a string. */
const char *ts_json_str(struct json_object *o, const char *key);
/* The entry of the repair @name in the report's "fixes", or NULL when not listed. */
struct json_object *ts_report_fix(struct json_object *report, const char *name);

/* Probes @path (follow_chain = @follow, other options default); fails the test
 * unless it succeeds.  Caller frees with h2k_disk_info_free(). */
h2k_disk_info *ts_probe_ok(const char *path, int follow);
/* Offset argument of ts_probe_err(): any offset will do. */
#define TS_ANY_OFFSET (-2)
/* Probes @path (@opts may be NULL) and asserts: rc @code, no info, error field
 * @field, error file @err_path (@path when NULL) named in the message, error
 * offset @offset (unless TS_ANY_OFFSET), and @path unchanged.  Returns the
 * message (caller frees). */
char *ts_probe_err(const char *path, const h2k_probe_options *opts, int code, const char *field,
                   const char *err_path, int64_t offset);
/* Writes @len bytes to ts_tmpdir/@name and probes it as @format without
 * following its chain, as ts_probe_err() does with @path as the error file.
 * Returns the message (caller frees). */
char *ts_probe_bytes_err(const char *name, const void *data, size_t len, h2k_disk_format format,
                         int code, const char *field, int64_t offset);

/* Writes @len bytes to @path (created/truncated). */
void ts_write_file(const char *path, const void *data, size_t len);
/* Writes @text to @dir/@name, executable (a stub program for a test). */
void ts_write_exec(const char *dir, const char *name, const char *text);
/* Runs @script with /bin/sh, @path_dir first in its PATH; its whole output
 * (stdout and stderr) in *@out (optional, caller frees).  Returns its exit
 * status, -1 when it did not exit. */
int ts_sh_with_path(const char *path_dir, const char *script, char **out);
/* After a migration with a boot test that returned @rc: when it failed, prints
 * what the console shows of it: from the kept serial console log
 * (res->boot->console_log_path) the kernel's reports of trouble (lockups,
 * stalls, hung tasks, oopses, panics: their first 60 lines, marked "! ") and
 * its last 80 lines, else the error's console tail. */
void ts_print_failed_boot(h2k_ctx *ctx, int rc, const h2k_migration_result *res);
/* Reads a file; caller frees; *len_out optional. */
char *ts_read_file(const char *path, size_t *len_out);
/* sha256 of a file as hex (65 bytes). */
void ts_sha256_file(const char *path, char out[65]);
/* Number of entries in a directory (excluding . and ..). */
int ts_count_dir(const char *dir);
/* Number of entries of @dir whose name contains @needle; -1 if it cannot be read. */
int ts_count_dir_matching(const char *dir, const char *needle);
/* Reads /proc/PID/stat: the command name (into @comm, @comm_size bytes, may be
 * NULL), the state letter and the parent pid (each may be NULL).  0, or -1
 * when the process is gone or the file cannot be parsed. */
int ts_proc_stat(const char *pid, char *comm, size_t comm_size, char *state, int *ppid);
/* Number of child processes of this one (running or zombie) whose command
 * name is @comm, or all of them when @comm is NULL; each is printed. */
int ts_count_children(const char *comm);
/* True when @path exists. */
int ts_exists(const char *path);

/* Store integers into crafted headers: big endian (VHD, qcow2) or little endian (VHDX). */
void ts_put_be32(uint8_t *p, uint32_t v);
void ts_put_be64(uint8_t *p, uint64_t v);
void ts_put_le16(uint8_t *p, uint16_t v);
void ts_put_le32(uint8_t *p, uint32_t v);
void ts_put_le64(uint8_t *p, uint64_t v);
/* Stores ASCII @s as UTF-16LE (no terminator); returns the bytes written. */
size_t ts_put_utf16le(uint8_t *p, const char *s);

/* The cached Debian 12 VMware-shaped test guest: runs
 * scripts/images/build-debian-guest.sh (which builds it on first use) and
 * returns the image path it prints (caller frees); fails the test when it cannot. */
char *ts_debian_guest(void);

/* A context with logging to stderr at warning level (debug when H2K_TEST_DEBUG is set). */
h2k_ctx *ts_ctx(void);

/* The folder of @file (a cached test image that an overlay elsewhere is backed by),
 * newly allocated.  Overlays name files outside their own folder, which the library
 * refuses unless that folder is allowed: ts_allow_dir_of() for a context, or
 * "--allow-path" with this folder for the command line. */
char *ts_dir_of(const char *file);

/* h2k_ctx_allow_path(ctx, the folder of @file); fails the test when refused. */
void ts_allow_dir_of(h2k_ctx *ctx, const char *file);

/* Asserts rc == expected and prints the context's error when not. */
#define ts_assert_rc(ctx, rc, expected)                                                            \
    do {                                                                                           \
        int _rc = (rc);                                                                            \
        if (_rc != (expected))                                                                     \
            print_error("unexpected rc %d (%s), want %d (%s): %s\n", _rc, h2k_code_name(_rc),      \
                        (expected), h2k_code_name(expected), h2k_ctx_last_error(ctx)->message);    \
        assert_int_equal(_rc, (expected));                                                         \
    } while (0)

#endif
