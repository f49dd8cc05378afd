/*
 * Helpers that several layers need and that live here once: atomic file
 * writes, whole-file digests, MAC addresses, string vectors and recursive
 * removal.  Internal (hk_), never installed.  Every function is thread-safe:
 * none keeps state between calls.
 */
#ifndef HK_CORE_UTIL_H
#define HK_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* ---------------------------------------------------------- atomic writes */

/* Writes @len bytes of @data to @path atomically: a temporary file beside it
 * ("<path>.part-XXXXXX"), fchmod()ed to hk_output_mode(@mode, stat of @source)
 * (@mode 0 = 0600; @source may be NULL), fsync()ed, renamed over @path, the
 * folder fsync()ed.  On error nothing is left at the temporary name and @path
 * is unchanged; the error names the file.  0 or a negative h2k_code. */
int hk_write_file_atomic(h2k_ctx *ctx, const char *path, const void *data, size_t len,
                         unsigned mode, const char *source);

/* Writes all @len bytes to @fd (retrying short writes and EINTR); 0, or the
 * code hk_error_errno() gives (H2K_ERR_IO for most), recorded naming @path. */
int hk_write_all(h2k_ctx *ctx, int fd, const char *path, const void *data, size_t len);

/* ---------------------------------------------------------------- digests */

typedef enum hk_digest_alg {
    HK_DIGEST_SHA1,   /* 20 bytes, 40 hex digits */
    HK_DIGEST_SHA256, /* 32 bytes, 64 hex digits */
} hk_digest_alg;

/* Room for the hex digest of any hk_digest_alg with its NUL. */
#define HK_DIGEST_HEX_MAX 65

/* Hex digits of @alg's digest (40 or 64). */
size_t hk_digest_hex_len(hk_digest_alg alg);

/* Lower-case hex digest of the whole file @path into @hex (at least
 * hk_digest_hex_len(alg) + 1 bytes); *size (may be NULL) gets the bytes
 * read.  Honours cancellation between chunks.  0 or a negative h2k_code
 * naming @path; @hex is "" on error. */
int hk_digest_file(h2k_ctx *ctx, const char *path, hk_digest_alg alg, char *hex, uint64_t *size);

/* Lower-case hex digest of @len bytes at @data into @hex (as above); false
 * only when OpenSSL fails (then @hex is ""). */
bool hk_digest_mem(const void *data, size_t len, hk_digest_alg alg, char *hex);

/* ----------------------------------------------------------- MAC addresses */

/* The value of the hex digit @c (0-9, a-f, A-F), or -1. */
int hk_hexval(char c);

/* Parses the @len bytes at @s as a MAC address: six pairs of hex digits
 * separated by one kind of separator, ':' or '-' ("52:54:00:AB:cd:ef",
 * "52-54-00-ab-cd-ef"); with HK_MAC_BARE also twelve hex digits without
 * separators.  @mac (may be NULL) gets the bytes.  True when it is one. */
#define HK_MAC_BARE 1u
bool hk_mac_parse(const char *s, size_t len, unsigned flags, unsigned char mac[6]);

/* Formats @mac as "52:54:00:ab:cd:ef" (lower case, colons) into @out. */
void hk_mac_format(const unsigned char mac[6], char out[18]);

/* hk_mac_parse() then hk_mac_format(): the canonical form of @s into @out;
 * false (and @out "") when @s is not a MAC address. */
bool hk_mac_norm(const char *s, size_t len, unsigned flags, char out[18]);

/* Rewrites @s (NUL-terminated, may be NULL) in place into the canonical form
 * when it is a MAC address with separators (same length); true when it was
 * one, false (and @s unchanged) otherwise. */
bool hk_mac_canon(char *s);

/* ---------------------------------------------------------- string vectors */

/* Appends a copy of @s (NULL: "") to the counted array *@v of *@n strings
 * (not NULL-terminated).  False on allocation failure (then *v and *n are
 * unchanged). */
bool hk_strv_add(char ***v, size_t *n, const char *s);

/* Frees the *@n strings of *@v and the array; sets *v = NULL, *n = 0. */
void hk_strv_clear(char ***v, size_t *n);

/* Frees a NULL-terminated array of strings (NULL is fine). */
void hk_strv_free(char **v);

/* Number of strings in a NULL-terminated array (0 for NULL). */
size_t hk_strv_len(char *const *v);

/* A deep copy of the NULL-terminated array @v (NULL: an empty array); NULL
 * on allocation failure.  Free with hk_strv_free(). */
char **hk_strv_dup(char *const *v);

/* -------------------------------------------------------- recursive removal */

/* Removes @name in the folder @dirfd (AT_FDCWD: the current folder) and,
 * when it is a folder, everything in it, without a subprocess and without
 * following symbolic links (a link is removed as a link, never what it
 * names).  Best effort: returns 0 when @name is gone afterwards (or never
 * existed), else -errno of the first failure.  Records nothing. */
int hk_remove_tree_at(int dirfd, const char *name);

/* hk_remove_tree_at(AT_FDCWD, @path). */
int hk_remove_tree(const char *path);

#endif /* HK_CORE_UTIL_H */
