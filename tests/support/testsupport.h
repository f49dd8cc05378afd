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

/* Runs argv (NULL-terminated), fails the test if the program is missing.
 * Returns the exit status; *out (if not NULL) gets stdout+stderr tail (caller frees). */
int ts_run(const char *const *argv, char **out);
/* Like ts_run() but fails the test unless the exit status is 0. */
void ts_run_ok(const char *const *argv);
/* Fails the test with a clear message unless @prog is in PATH. */
void ts_require_program(const char *prog);

/* Writes @len bytes to @path (created/truncated). */
void ts_write_file(const char *path, const void *data, size_t len);
/* Reads a file; caller frees; *len_out optional. */
char *ts_read_file(const char *path, size_t *len_out);
/* sha256 of a file as hex (65 bytes). */
void ts_sha256_file(const char *path, char out[65]);
/* Number of entries in a directory (excluding . and ..). */
int ts_count_dir(const char *dir);
/* True when @path exists. */
int ts_exists(const char *path);

/* Store integers into crafted headers: big endian (VHD, qcow2) or little endian (VHDX). */
void ts_put_be32(uint8_t *p, uint32_t v);
void ts_put_be64(uint8_t *p, uint64_t v);
void ts_put_le16(uint8_t *p, uint16_t v);
void ts_put_le32(uint8_t *p, uint32_t v);
void ts_put_le64(uint8_t *p, uint64_t v);

/* A context with logging to stderr at warning level (debug when H2K_TEST_DEBUG is set). */
h2k_ctx *ts_ctx(void);

/* Asserts rc == expected and prints the context's error when not. */
#define ts_assert_rc(ctx, rc, expected)                                                        \
    do {                                                                                       \
        int _rc = (rc);                                                                        \
        if (_rc != (expected))                                                                 \
            print_error("unexpected rc %d (%s), want %d (%s): %s\n", _rc, h2k_code_name(_rc),  \
                        (expected), h2k_code_name(expected),                                   \
                        h2k_ctx_last_error(ctx)->message);                                     \
        assert_int_equal(_rc, (expected));                                                     \
    } while (0)

#endif
