/*
 * A small, strict tar header walker that indexes an OVA in place.
 *
 * Why our own walker and not libarchive: the point of the index is the exact
 * byte offset of every member's data inside the OVA, so a disk can be read
 * where it lies instead of being copied.  libarchive reports header positions
 * but not data offsets, and its leniency (it skips or repairs what it does not
 * like) is the opposite of what an untrusted-input reader wants here: we must
 * refuse links, devices, sparse members, unsafe names and lying sizes with an
 * error that names the member and its header offset.  The formats an OVA uses
 * (v7, ustar, pax 'x'/'g', GNU 'L'/'K') fit in a few hundred lines, every
 * field checked against the file size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ova_internal.h"

/* ustar header layout */
#define H_NAME 0
#define H_NAME_LEN 100
#define H_SIZE 124
#define H_SIZE_LEN 12
#define H_CHKSUM 148
#define H_CHKSUM_LEN 8
#define H_TYPE 156
#define H_LINKNAME 157
#define H_MAGIC 257
#define H_PREFIX 345
#define H_PREFIX_LEN 155

bool
hk_tar_parse_number(const uint8_t *f, size_t len, uint64_t *out)
{
    *out = 0;
    if (len == 0)
        return false;
    if (f[0] & 0x80) {
        /* GNU base-256: big-endian two's complement in the remaining bits. */
        if (f[0] & 0x40)
            return false; /* negative */
        uint64_t v = f[0] & 0x3f;
        for (size_t i = 1; i < len; i++) {
            if (v > (UINT64_MAX >> 8))
                return false;
            v = (v << 8) | f[i];
        }
        *out = v;
        return true;
    }
    size_t i = 0;
    while (i < len && f[i] == ' ')
        i++;
    uint64_t v = 0;
    size_t digits = 0;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v > (UINT64_MAX >> 3))
            return false;
        v = (v << 3) | (uint64_t)(f[i] - '0');
    }
    /* the rest may only be terminators */
    for (; i < len; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return false;
    (void)digits;
    *out = v;
    return true;
}

bool
hk_tar_checksum_ok(const uint8_t b[HK_TAR_BLOCK])
{
    uint64_t want;
    if (!hk_tar_parse_number(b + H_CHKSUM, H_CHKSUM_LEN, &want))
        return false;
    uint64_t usum = 0;
    int64_t ssum = 0;
    for (size_t i = 0; i < HK_TAR_BLOCK; i++) {
        uint8_t c = (i >= H_CHKSUM && i < H_CHKSUM + H_CHKSUM_LEN) ? ' ' : b[i];
        usum += c;
        ssum += (int8_t)c;
    }
    return want == usum || (ssum >= 0 && want == (uint64_t)ssum);
}

int
hk_tar_normalise_name(const char *raw, size_t len, size_t max_len, char **out, const char **why)
{
    *out = NULL;
    *why = NULL;
    if (len > max_len) {
        *why = "name too long";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == 0) {
            *why = "name contains a NUL byte";
            return -1;
        }
        if (c < 0x20 || c == 0x7f) {
            *why = "name contains a control character";
            return -1;
        }
    }
    if (len > 0 && raw[0] == '/') {
        *why = "absolute path";
        return -1;
    }
    char *o = malloc(len + 1);
    if (!o)
        return H2K_ERR_NO_MEMORY;
    size_t n = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && raw[i] == '/')
            i++;
        size_t s = i;
        while (i < len && raw[i] != '/')
            i++;
        size_t cl = i - s;
        if (cl == 0 || (cl == 1 && raw[s] == '.'))
            continue;
        if (cl == 2 && raw[s] == '.' && raw[s + 1] == '.') {
            free(o);
            *why = "name contains a \"..\" component";
            return -1;
        }
        if (n > 0)
            o[n++] = '/';
        memcpy(o + n, raw + s, cl);
        n += cl;
    }
    o[n] = '\0';
    *out = o;
    return 0;
}

int
hk_tar_parse_pax(const char *d, size_t len, char **path, size_t *path_len, uint64_t *size,
                 bool *has_size, const char **why)
{
    *path = NULL;
    *path_len = 0;
    *has_size = false;
    *size = 0;
    *why = NULL;
    size_t pos = 0;
    while (pos < len) {
        /* trailing NUL padding after the last record is tolerated */
        if (d[pos] == '\0') {
            for (size_t k = pos; k < len; k++)
                if (d[k] != '\0') {
                    *why = "junk after the last pax record";
                    goto bad;
                }
            break;
        }
        size_t rl = 0, k = pos;
        while (k < len && d[k] >= '0' && d[k] <= '9') {
            if (rl > len)
                break;
            rl = rl * 10 + (size_t)(d[k] - '0');
            k++;
        }
        if (k == pos || k >= len || d[k] != ' ' || rl > len - pos || rl < (k - pos) + 3) {
            *why = "malformed pax record length";
            goto bad;
        }
        size_t end = pos + rl; /* one past the '\n' */
        if (d[end - 1] != '\n') {
            *why = "pax record does not end with a newline";
            goto bad;
        }
        const char *kv = d + k + 1;
        size_t kvl = end - 1 - (k + 1);
        const char *eq = memchr(kv, '=', kvl);
        if (!eq || eq == kv) {
            *why = "pax record without key=value";
            goto bad;
        }
        size_t kl = (size_t)(eq - kv);
        const char *val = eq + 1;
        size_t vl = kvl - kl - 1;
        if (kl == 4 && memcmp(kv, "path", 4) == 0) {
            free(*path);
            *path = malloc(vl + 1);
            if (!*path)
                return H2K_ERR_NO_MEMORY;
            memcpy(*path, val, vl);
            (*path)[vl] = '\0';
            *path_len = vl;
        } else if (kl == 4 && memcmp(kv, "size", 4) == 0) {
            char tmp[32];
            if (vl == 0 || vl >= sizeof(tmp)) {
                *why = "bad pax size";
                goto bad;
            }
            memcpy(tmp, val, vl);
            tmp[vl] = '\0';
            if (!hk_parse_u64(tmp, size, false)) {
                *why = "bad pax size";
                goto bad;
            }
            *has_size = true;
        } else if (kl >= 11 && memcmp(kv, "GNU.sparse.", 11) == 0) {
            *why = "sparse members are not supported";
            goto bad;
        }
        pos = end;
    }
    return 0;
bad:
    free(*path);
    *path = NULL;
    *path_len = 0;
    return -1;
}

void
hk_tar_members_free(hk_tar_member *m, size_t n)
{
    if (!m)
        return;
    for (size_t i = 0; i < n; i++)
        free(m[i].name);
    free(m);
}

static bool
is_zero_block(const uint8_t *b)
{
    for (size_t i = 0; i < HK_TAR_BLOCK; i++)
        if (b[i])
            return false;
    return true;
}

/* Rounds @size up to whole blocks; false on overflow. */
static bool
round_block(uint64_t size, uint64_t *out)
{
    if (size > UINT64_MAX - (HK_TAR_BLOCK - 1))
        return false;
    *out = (size + HK_TAR_BLOCK - 1) & ~(uint64_t)(HK_TAR_BLOCK - 1);
    return true;
}

/* A printable form of a raw name for messages (control characters escaped). */
static char *
printable(const char *s, size_t len)
{
    hk_buf b = {0};
    size_t lim = len > 256 ? 256 : len;
    for (size_t i = 0; i < lim; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            hk_buf_printf(&b, "\\x%02x", c);
        else
            hk_buf_append(&b, (const char *)&c, 1);
    }
    if (lim < len)
        hk_buf_puts(&b, "...");
    if (!b.data && !b.oom)
        hk_buf_puts(&b, "");
    return hk_buf_steal(&b);
}

static int
fail_member(h2k_ctx *ctx, const char *path, uint64_t hoff, const char *raw, size_t raw_len,
            const char *field, const char *fmt, const char *detail)
{
    char *p = printable(raw, raw_len);
    int rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)hoff, field,
                         "tar member \"%s\" (header at offset %llu): %s%s", p ? p : "?",
                         (unsigned long long)hoff, fmt, detail ? detail : "");
    free(p);
    return rc;
}

static int
cmp_member_ptr(const void *a, const void *b)
{
    const hk_tar_member *x = *(const hk_tar_member *const *)a;
    const hk_tar_member *y = *(const hk_tar_member *const *)b;
    return strcmp(x->name, y->name);
}

/* Duplicate names, and a file whose name is also a folder of another file. */
static int
check_names(h2k_ctx *ctx, const char *path, hk_tar_member *m, size_t n)
{
    if (n == 0)
        return 0;
    int rc = 0;
    hk_tar_member **s = malloc(n * sizeof(*s));
    if (!s)
        return hk_error_nomem(ctx);
    for (size_t i = 0; i < n; i++)
        s[i] = &m[i];
    qsort(s, n, sizeof(*s), cmp_member_ptr);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(s[i - 1]->name, s[i]->name) == 0) {
            const hk_tar_member *later = s[i]->header_offset > s[i - 1]->header_offset ? s[i]
                                                                                       : s[i - 1];
            rc = fail_member(ctx, path, later->header_offset, later->name, strlen(later->name),
                             "name", "duplicate member name", NULL);
            goto out;
        }
    }
    /* "x" against "x/...": the first name not below "x/" must not start with it */
    for (size_t i = 0; i < n; i++) {
        char *key = hk_asprintf("%s/", s[i]->name);
        if (!key) {
            rc = hk_error_nomem(ctx);
            goto out;
        }
        size_t kl = strlen(key);
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(s[mid]->name, key) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        bool hit = lo < n && strncmp(s[lo]->name, key, kl) == 0;
        free(key);
        if (hit) {
            rc = fail_member(ctx, path, s[i]->header_offset, s[i]->name, strlen(s[i]->name), "name",
                             "a file has the name of a folder of member ", s[lo]->name);
            goto out;
        }
    }
out:
    free(s);
    return rc;
}

static int
detect_compressed(h2k_ctx *ctx, const char *path, const uint8_t *b, size_t n)
{
    const char *what = NULL;
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        what = "gzip";
    else if (n >= 3 && memcmp(b, "BZh", 3) == 0)
        what = "bzip2";
    else if (n >= 6 && memcmp(b,
                              "\xfd"
                              "7zXZ\0",
                              6) == 0)
        what = "xz";
    else if (n >= 4 && memcmp(b, "\x28\xb5\x2f\xfd", 4) == 0)
        what = "zstd";
    if (!what)
        return 0;
    return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, path, 0, "magic",
                       "the OVA is %s-compressed as a whole; decompress it first (an OVA "
                       "must be a plain tar archive to be read in place)",
                       what);
}

/* Reads the data of an extension header ('x', 'L', ...) into a NUL-terminated buffer. */
static int
read_ext(h2k_ctx *ctx, int fd, const char *path, uint64_t off, uint64_t size, char **out)
{
    *out = malloc((size_t)size + 1);
    if (!*out)
        return hk_error_nomem(ctx);
    int rc = hk_pread_exact(ctx, fd, path, *out, (size_t)size, off, "extended header");
    if (rc < 0) {
        free(*out);
        *out = NULL;
        return rc;
    }
    (*out)[size] = '\0';
    return 0;
}

int
hk_tar_index(h2k_ctx *ctx, int fd, const char *path, uint64_t file_size,
             const hk_tar_limits *limits, hk_tar_member **out, size_t *n_out)
{
    hk_tar_limits lim = HK_TAR_LIMITS_INIT;
    if (limits)
        lim = *limits;
    *out = NULL;
    *n_out = 0;

    hk_tar_member *m = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    char *long_name = NULL; /* GNU 'L' or pax path for the next header */
    size_t long_len = 0;
    int long_from_pax = 0;
    uint64_t pax_size = 0;
    bool have_pax_size = false;
    uint64_t ext_start = UINT64_MAX; /* first extension header of the pending member */
    bool ended = false;
    int rc = 0;
    uint8_t b[HK_TAR_BLOCK];
    uint64_t off = 0;
    unsigned headers = 0;

    if (file_size == 0) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, 0, "header", "empty file: not a tar archive");
        goto fail;
    }
    {
        uint8_t head[8] = {0};
        size_t hl = file_size < sizeof(head) ? (size_t)file_size : sizeof(head);
        if ((rc = hk_pread_exact(ctx, fd, path, head, hl, 0, "header")) < 0)
            goto fail;
        if ((rc = detect_compressed(ctx, path, head, hl)) < 0)
            goto fail;
    }

    while (!ended) {
        if (++headers % 256 == 0 && (rc = hk_check_cancel(ctx)) < 0)
            goto fail;
        if (off == file_size) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)off, "header",
                             "the tar archive ends without its end-of-archive marker: the "
                             "file is truncated");
            goto fail;
        }
        if (file_size - off < HK_TAR_BLOCK) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)off, "header",
                             "truncated tar header: %llu bytes left, a header needs 512",
                             (unsigned long long)(file_size - off));
            goto fail;
        }
        if ((rc = hk_pread_exact(ctx, fd, path, b, HK_TAR_BLOCK, off, "header")) < 0)
            goto fail;
        if (is_zero_block(b)) {
            if (long_name || have_pax_size || ext_start != UINT64_MAX) {
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)off, "header",
                                 "the archive ends after an extended header with no member");
                goto fail;
            }
            ended = true;
            break;
        }
        if (!hk_tar_checksum_ok(b)) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)off, "chksum",
                             off == 0 ? "not a tar archive (bad header checksum)"
                                      : "bad tar header checksum: the archive is corrupt");
            goto fail;
        }
        bool posix = memcmp(b + H_MAGIC, "ustar\0", 6) == 0;
        char type = (char)b[H_TYPE];
        uint64_t size;
        if (!hk_tar_parse_number(b + H_SIZE, H_SIZE_LEN, &size)) {
            rc = fail_member(ctx, path, off, (const char *)b + H_NAME,
                             strnlen((const char *)b + H_NAME, H_NAME_LEN), "size",
                             "unreadable size field", NULL);
            goto fail;
        }
        uint64_t hdr_off = off;
        if (ext_start == UINT64_MAX)
            ext_start = off;
        uint64_t data_off = off + HK_TAR_BLOCK;

        /* --- extension headers: describe the next member */
        if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
            uint64_t padded;
            if (!round_block(size, &padded) || padded > file_size - data_off) {
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)hdr_off, "size",
                                 "extended header '%c' of %llu bytes lies beyond the end of "
                                 "the file (%llu bytes): truncated archive",
                                 type, (unsigned long long)size, (unsigned long long)file_size);
                goto fail;
            }
            uint64_t max = (type == 'L' || type == 'K') ? (uint64_t)lim.max_name + 1
                                                        : (uint64_t)HK_TAR_MAX_PAX;
            if (size > max) {
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)hdr_off, "size",
                                 "extended header '%c' is too large (%llu bytes, limit %llu)", type,
                                 (unsigned long long)size, (unsigned long long)max);
                goto fail;
            }
            char *data = NULL;
            if ((rc = read_ext(ctx, fd, path, data_off, size, &data)) < 0)
                goto fail;
            if (type == 'L') {
                /* the name, NUL-terminated (trailing NULs allowed) */
                size_t l = (size_t)size;
                while (l > 0 && data[l - 1] == '\0')
                    l--;
                if (!long_from_pax) {
                    free(long_name);
                    long_name = data;
                    long_len = l;
                } else {
                    free(data);
                }
            } else if (type == 'x') {
                char *p = NULL;
                size_t pl = 0;
                uint64_t ps = 0;
                bool hs = false;
                const char *why = NULL;
                int pr = hk_tar_parse_pax(data, (size_t)size, &p, &pl, &ps, &hs, &why);
                free(data);
                if (pr == H2K_ERR_NO_MEMORY) {
                    rc = hk_error_nomem(ctx);
                    goto fail;
                }
                if (pr < 0) {
                    rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)hdr_off, "pax header",
                                     "malformed pax extended header: %s", why);
                    goto fail;
                }
                if (p) {
                    free(long_name);
                    long_name = p;
                    long_len = pl;
                    long_from_pax = 1;
                }
                if (hs) {
                    pax_size = ps;
                    have_pax_size = true;
                }
            } else {
                /* 'g' global header and 'K' long link name: nothing we use
                 * (links are refused when their header arrives). */
                free(data);
                if (type == 'g')
                    ext_start = UINT64_MAX;
            }
            off = data_off + padded;
            continue;
        }

        /* --- a member header */
        const char *raw = NULL;
        size_t raw_len = 0;
        char joined[H_PREFIX_LEN + 1 + H_NAME_LEN + 1];
        if (long_name) {
            raw = long_name;
            raw_len = long_len;
        } else {
            size_t nl = strnlen((const char *)b + H_NAME, H_NAME_LEN);
            size_t pl = posix ? strnlen((const char *)b + H_PREFIX, H_PREFIX_LEN) : 0;
            size_t j = 0;
            if (pl) {
                memcpy(joined, b + H_PREFIX, pl);
                j = pl;
                joined[j++] = '/';
            }
            memcpy(joined + j, b + H_NAME, nl);
            j += nl;
            joined[j] = '\0';
            raw = joined;
            raw_len = j;
        }
        if (have_pax_size)
            size = pax_size;

        bool is_file = false, has_data = false; /* else a folder: skipped */
        switch (type) {
        case '0':
        case '\0':
        case '7':
            is_file = true;
            has_data = true;
            /* v7: a "regular file" whose name ends in '/' is a folder */
            if (raw_len > 0 && raw[raw_len - 1] == '/') {
                is_file = false;
            }
            break;
        case '5':
            break;
        case 'D': /* GNU dump folder: a folder followed by a listing */
            has_data = true;
            break;
        case '1':
        case '2':
            rc = fail_member(ctx, path, hdr_off, raw, raw_len, "typeflag",
                             type == '1' ? "hard links are not allowed in an OVA"
                                         : "symbolic links are not allowed in an OVA",
                             NULL);
            goto fail;
        case '3':
        case '4':
        case '6':
            rc = fail_member(ctx, path, hdr_off, raw, raw_len, "typeflag",
                             type == '6' ? "fifos are not allowed in an OVA"
                                         : "device nodes are not allowed in an OVA",
                             NULL);
            goto fail;
        case 'S':
            rc = fail_member(ctx, path, hdr_off, raw, raw_len, "typeflag",
                             "sparse members are not supported", NULL);
            goto fail;
        default: {
            char t[32];
            snprintf(t, sizeof(t), "0x%02x", (unsigned char)type);
            rc = fail_member(ctx, path, hdr_off, raw, raw_len, "typeflag",
                             "unsupported member type ", t);
            goto fail;
        }
        }

        char *name = NULL;
        const char *why = NULL;
        int nr = hk_tar_normalise_name(raw, raw_len, lim.max_name, &name, &why);
        if (nr == H2K_ERR_NO_MEMORY) {
            rc = hk_error_nomem(ctx);
            goto fail;
        }
        if (nr < 0) {
            rc = fail_member(ctx, path, hdr_off, raw, raw_len, "name", "unsafe name: ", why);
            goto fail;
        }
        uint64_t padded = 0;
        if (has_data && (!round_block(size, &padded) || padded > file_size - data_off)) {
            rc = fail_member(ctx, path, hdr_off, raw, raw_len, "size",
                             "the data lies beyond the end of the file: the archive is "
                             "truncated or the size field lies",
                             NULL);
            free(name);
            goto fail;
        }
        if (is_file && name[0] == '\0') {
            rc = fail_member(ctx, path, hdr_off, raw, raw_len, "name", "a file without a name",
                             NULL);
            free(name);
            goto fail;
        }
        if (is_file) {
            if (n >= lim.max_members) {
                free(name);
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)hdr_off, "members",
                                 "too many members (limit %zu)", lim.max_members);
                goto fail;
            }
            if (size > lim.max_total - total) {
                free(name);
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)hdr_off, "size",
                                 "members add up to more than the limit of %llu bytes",
                                 (unsigned long long)lim.max_total);
                goto fail;
            }
            total += size;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                hk_tar_member *nm = realloc(m, nc * sizeof(*nm));
                if (!nm) {
                    free(name);
                    rc = hk_error_nomem(ctx);
                    goto fail;
                }
                m = nm;
                cap = nc;
            }
            m[n].name = name;
            m[n].header_offset = ext_start;
            m[n].data_offset = data_off;
            m[n].size = size;
            n++;
        } else {
            free(name);
        }
        free(long_name);
        long_name = NULL;
        long_len = 0;
        long_from_pax = 0;
        have_pax_size = false;
        pax_size = 0;
        ext_start = UINT64_MAX;
        off = data_off + (has_data ? padded : 0);
    }

    if ((rc = check_names(ctx, path, m, n)) < 0)
        goto fail;
    *out = m;
    *n_out = n;
    return 0;
fail:
    free(long_name);
    hk_tar_members_free(m, n);
    return rc;
}
