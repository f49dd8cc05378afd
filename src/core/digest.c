/*
 * Whole-file and in-memory digests (OpenSSL EVP), as lower-case hex.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"

static const EVP_MD *
md_of(hk_digest_alg alg)
{
    return alg == HK_DIGEST_SHA1 ? EVP_sha1() : EVP_sha256();
}

size_t
hk_digest_hex_len(hk_digest_alg alg)
{
    return alg == HK_DIGEST_SHA1 ? 40 : 64;
}

static void
to_hex(const unsigned char *d, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * n] = '\0';
}

bool
hk_digest_mem(const void *data, size_t len, hk_digest_alg alg, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    hex[0] = '\0';
    if (EVP_Digest(data, len, md, &md_len, md_of(alg), NULL) != 1 ||
        md_len * 2 != hk_digest_hex_len(alg))
        return false;
    to_hex(md, md_len, hex);
    return true;
}

int
hk_digest_file(h2k_ctx *ctx, const char *path, hk_digest_alg alg, char *hex, uint64_t *size)
{
    hex[0] = '\0';
    if (size)
        *size = 0;
    int fd = hk_open_input(ctx, path, "file", HK_OPEN_ALLOW_BLOCK, NULL);
    if (fd < 0)
        return fd;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    enum {
        CHUNK = 1 << 20
    };
    unsigned char *buf = malloc(CHUNK);
    int rc = 0;
    if (!md || !buf || EVP_DigestInit_ex(md, md_of(alg), NULL) != 1)
        rc = hk_error_nomem(ctx);
    uint64_t total = 0;
    while (rc == 0) {
        if ((rc = hk_check_cancel(ctx)) < 0)
            break;
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = hk_error_errno(ctx, errno, path, "cannot read");
            break;
        }
        if (n == 0)
            break;
        if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
            rc = hk_error(ctx, H2K_ERR_GENERIC, "%s: digest update failed", path);
        total += (uint64_t)n;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    if (rc == 0) {
        if (EVP_DigestFinal_ex(md, d, &dl) != 1 || dl * 2 != hk_digest_hex_len(alg))
            rc = hk_error(ctx, H2K_ERR_GENERIC, "%s: digest failed", path);
        else
            to_hex(d, dl, hex);
    }
    if (rc == 0 && size)
        *size = total;
    free(buf);
    EVP_MD_CTX_free(md);
    close(fd);
    return rc;
}
