/* Unit tests of the tar header walker (src/disk/tar_index.c) on crafted buffers. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"
#include "disk/ova_internal.h"

/* ------------------------------------------------------- tar builder */

typedef struct tarb {
    uint8_t *d;
    size_t len;
} tarb;

enum {
    V7,
    USTAR,
    GNU
};

static void
put_octal(uint8_t *f, size_t len, uint64_t v)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%0*llo", (int)(len - 1), (unsigned long long)v);
    memcpy(f, tmp, len - 1);
    f[len - 1] = '\0';
}

static void
set_checksum(uint8_t *b)
{
    memset(b + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += b[i];
    char tmp[8];
    snprintf(tmp, sizeof(tmp), "%06o", sum);
    memcpy(b + 148, tmp, 6);
    b[154] = '\0';
    b[155] = ' ';
}

static uint8_t *
grow(tarb *t, size_t n)
{
    t->d = realloc(t->d, t->len + n);
    assert_non_null(t->d);
    memset(t->d + t->len, 0, n);
    uint8_t *p = t->d + t->len;
    t->len += n;
    return p;
}

/* Appends a header; returns its offset. */
static size_t
add_hdr(tarb *t, const char *name, char type, uint64_t size, int fmt)
{
    size_t off = t->len;
    uint8_t *b = grow(t, 512);
    strncpy((char *)b, name, 100);
    put_octal(b + 100, 8, 0644);
    put_octal(b + 108, 8, 0);
    put_octal(b + 116, 8, 0);
    put_octal(b + 124, 12, size);
    put_octal(b + 136, 12, 0);
    b[156] = (uint8_t)type;
    if (fmt == USTAR) {
        memcpy(b + 257,
               "ustar\0"
               "00",
               8);
    } else if (fmt == GNU) {
        memcpy(b + 257, "ustar  \0", 8);
    }
    set_checksum(b);
    return off;
}

static void
add_data(tarb *t, const void *data, size_t n)
{
    size_t padded = (n + 511) & ~(size_t)511;
    uint8_t *p = grow(t, padded);
    memcpy(p, data, n);
}

static void
add_end(tarb *t)
{
    grow(t, 1024);
}

static size_t
add_file(tarb *t, const char *name, const char *content, int fmt)
{
    size_t off = add_hdr(t, name, '0', strlen(content), fmt);
    add_data(t, content, strlen(content));
    return off;
}

/* Indexes the buffer (written to a file); returns rc. */
static int
index_buf(h2k_ctx *ctx, const tarb *t, const hk_tar_limits *lim, hk_tar_member **m, size_t *n)
{
    char *dir = ts_mkdtemp();
    char *p = ts_join(dir, "x.ova");
    ts_write_file(p, t->d, t->len);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    int rc = hk_tar_index(ctx, fd, p, t->len, lim, m, n);
    close(fd);
    ts_rmtree(dir);
    free(p);
    free(dir);
    return rc;
}

/* ------------------------------------------------------------- tests */

static void
test_parse_number(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(hk_tar_parse_number((const uint8_t *)"00000001750\0", 12, &v));
    assert_int_equal(v, 1000);
    assert_true(hk_tar_parse_number((const uint8_t *)"     1750 \0\0", 12, &v));
    assert_int_equal(v, 1000);
    assert_true(hk_tar_parse_number((const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0", 12, &v));
    assert_int_equal(v, 0);
    assert_true(hk_tar_parse_number((const uint8_t *)"77777777777\0", 12, &v));
    assert_true(v == 077777777777ULL);
    assert_false(hk_tar_parse_number((const uint8_t *)"0000000175x\0", 12, &v));
    assert_false(hk_tar_parse_number((const uint8_t *)"00000001758\0", 12, &v));
    assert_false(hk_tar_parse_number((const uint8_t *)"1750 1\0\0\0\0\0\0", 12, &v));
    /* GNU base-256: 0x80 then big-endian */
    uint8_t b256[12] = {0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1};
    assert_true(hk_tar_parse_number(b256, 12, &v));
    assert_true(v == ((UINT64_C(2) << 32) | 1));
    uint8_t neg[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    assert_false(hk_tar_parse_number(neg, 12, &v));
    uint8_t huge[12] = {0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}; /* 2^64 */
    assert_false(hk_tar_parse_number(huge, 12, &v));
    uint8_t max[12] = {0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_true(hk_tar_parse_number(max, 12, &v));
    assert_true(v == UINT64_MAX);
    /* octal overflow: 23 sevens */
    assert_false(hk_tar_parse_number((const uint8_t *)"77777777777777777777777", 23, &v));
}

static void
test_checksum(void **state)
{
    (void)state;
    tarb t = {0};
    add_hdr(&t, "a.txt", '0', 5, USTAR);
    assert_true(hk_tar_checksum_ok(t.d));
    t.d[3] ^= 1;
    assert_false(hk_tar_checksum_ok(t.d));
    t.d[3] ^= 1;
    /* historical signed sum: a high byte in the name */
    t.d[10] = 0xe9;
    memset(t.d + 148, ' ', 8);
    int sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (int8_t)t.d[i];
    char tmp[8];
    snprintf(tmp, sizeof(tmp), "%06o", sum);
    memcpy(t.d + 148, tmp, 6);
    t.d[154] = '\0';
    assert_true(hk_tar_checksum_ok(t.d));
    memcpy(t.d + 148, "junk\0\0 ", 8);
    assert_false(hk_tar_checksum_ok(t.d));
    free(t.d);
}

static void
expect_name(const char *raw, const char *want)
{
    char *o = NULL;
    const char *why = NULL;
    int r = hk_tar_normalise_name(raw, strlen(raw), 4096, &o, &why);
    if (r != 0)
        print_error("%s: %s\n", raw, why);
    assert_int_equal(r, 0);
    assert_string_equal(o, want);
    free(o);
}

static void
expect_unsafe(const char *raw, size_t len, const char *why_part)
{
    char *o = NULL;
    const char *why = NULL;
    assert_int_equal(hk_tar_normalise_name(raw, len, 4096, &o, &why), -1);
    assert_null(o);
    assert_non_null(why);
    assert_non_null(strstr(why, why_part));
}

static void
test_normalise(void **state)
{
    (void)state;
    expect_name("./vm.ovf", "vm.ovf");
    expect_name("././a//b/./c", "a/b/c");
    expect_name("dir/", "dir");
    expect_name("./", "");
    expect_name("...", "...");
    expect_name("..a/b..", "..a/b..");
    expect_unsafe("/etc/passwd", 11, "absolute");
    expect_unsafe("a/../b", 6, "..");
    expect_unsafe("..", 2, "..");
    expect_unsafe("./../evil", 9, "..");
    expect_unsafe("a\nb", 3, "control");
    expect_unsafe("a\x7f", 2, "control");
    expect_unsafe("a\0b", 3, "NUL");
    char *longn = malloc(5000);
    memset(longn, 'a', 5000);
    expect_unsafe(longn, 5000, "too long");
    free(longn);
}

static void
test_pax_records(void **state)
{
    (void)state;
    char *p = NULL;
    size_t pl = 0;
    uint64_t sz = 0;
    bool hs = false;
    const char *why = NULL;
    const char rec[] = "19 path=dir/x.vmdk\n15 size=123456\n11 mtime=1\n";
    assert_int_equal(hk_tar_parse_pax(rec, strlen(rec), &p, &pl, &sz, &hs, &why), 0);
    assert_string_equal(p, "dir/x.vmdk");
    assert_int_equal(pl, 10);
    assert_true(hs);
    assert_int_equal(sz, 123456);
    free(p);
    /* length pointing past the end */
    const char bad1[] = "99 path=x\n";
    assert_int_equal(hk_tar_parse_pax(bad1, strlen(bad1), &p, &pl, &sz, &hs, &why), -1);
    assert_null(p);
    /* record not ending in a newline */
    const char bad2[] = "10 path=xy";
    assert_int_equal(hk_tar_parse_pax(bad2, strlen(bad2), &p, &pl, &sz, &hs, &why), -1);
    /* no '=' */
    const char bad3[] = "8 pathx\n";
    assert_int_equal(hk_tar_parse_pax(bad3, strlen(bad3), &p, &pl, &sz, &hs, &why), -1);
    /* bad size value */
    const char bad4[] = "11 size=-1\n";
    assert_int_equal(hk_tar_parse_pax(bad4, strlen(bad4), &p, &pl, &sz, &hs, &why), -1);
    /* sparse files */
    const char bad5[] = "22 GNU.sparse.major=1\n";
    assert_int_equal(hk_tar_parse_pax(bad5, strlen(bad5), &p, &pl, &sz, &hs, &why), -1);
    assert_non_null(strstr(why, "sparse"));
    /* a path with a NUL byte is returned with its real length */
    const char nul[] = "12 path=a\0b\n";
    assert_int_equal(hk_tar_parse_pax(nul, sizeof(nul) - 1, &p, &pl, &sz, &hs, &why), 0);
    assert_int_equal(pl, 3);
    free(p);
    /* trailing NUL padding is fine */
    const char pad[] = "10 path=x\n\0\0\0";
    assert_int_equal(hk_tar_parse_pax(pad, sizeof(pad) - 1, &p, &pl, &sz, &hs, &why), 0);
    assert_string_equal(p, "x");
    free(p);
}

static void
test_index_ustar(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    tarb t = {0};
    add_file(&t, "./vm.ovf", "<Envelope/>", USTAR);
    add_hdr(&t, "./disks/", '5', 0, USTAR);
    add_file(&t, "./disks/d1.vmdk", "0123456789", USTAR);
    add_file(&t, "empty", "", USTAR);
    add_end(&t);
    hk_tar_member *m = NULL;
    size_t n = 0;
    ts_assert_rc(ctx, index_buf(ctx, &t, NULL, &m, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(m[0].name, "vm.ovf");
    assert_int_equal(m[0].header_offset, 0);
    assert_int_equal(m[0].data_offset, 512);
    assert_int_equal(m[0].size, 11);
    assert_string_equal(m[1].name, "disks/d1.vmdk");
    assert_int_equal(m[1].header_offset, 1536);
    assert_int_equal(m[1].data_offset, 2048);
    assert_int_equal(m[1].size, 10);
    assert_memory_equal(t.d + m[1].data_offset, "0123456789", 10);
    assert_string_equal(m[2].name, "empty");
    assert_int_equal(m[2].size, 0);
    hk_tar_members_free(m, n);
    free(t.d);
    h2k_ctx_free(ctx);
}

static void
test_index_prefix_and_v7(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    tarb t = {0};
    /* ustar prefix field */
    size_t off = add_hdr(&t, "file.txt", '0', 3, USTAR);
    memcpy(t.d + off + 345, "some/prefix", 11);
    set_checksum(t.d + off);
    add_data(&t, "abc", 3);
    /* old v7 header: no magic, type '\0', folder by trailing slash */
    add_hdr(&t, "olddir/", '\0', 0, V7);
    add_hdr(&t, "olddir/v7.txt", '\0', 2, V7);
    add_data(&t, "hi", 2);
    /* GNU magic: bytes 345.. are not a prefix */
    off = add_hdr(&t, "gnu.txt", '0', 1, GNU);
    memcpy(t.d + off + 345, "XXXX", 4);
    set_checksum(t.d + off);
    add_data(&t, "g", 1);
    add_end(&t);
    hk_tar_member *m = NULL;
    size_t n = 0;
    ts_assert_rc(ctx, index_buf(ctx, &t, NULL, &m, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(m[0].name, "some/prefix/file.txt");
    assert_string_equal(m[1].name, "olddir/v7.txt");
    assert_int_equal(m[1].data_offset, 2048);
    assert_string_equal(m[2].name, "gnu.txt");
    hk_tar_members_free(m, n);
    free(t.d);
    h2k_ctx_free(ctx);
}

static void
test_index_pax_and_gnu_long(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char longname[300];
    memset(longname, 'n', sizeof(longname));
    memcpy(longname, "deep/", 5);
    strcpy(longname + 280, "/file.vmdk");
    tarb t = {0};
    /* pax: path and size override the header */
    char rec[512];
    char body[400];
    snprintf(body, sizeof(body), " path=%s\n", longname);
    size_t bl = strlen(body);
    size_t digits = 3;
    snprintf(rec, sizeof(rec), "%zu%s", bl + digits, body);
    assert_int_equal(strlen(rec), bl + digits);
    char rec2[] = "12 size=700\n";
    char pax[900];
    snprintf(pax, sizeof(pax), "%s%s", rec, rec2);
    add_hdr(&t, "PaxHeaders/x", 'x', strlen(pax), USTAR);
    add_data(&t, pax, strlen(pax));
    size_t hdr = add_hdr(&t, "short", '0', 0, USTAR);
    char data[700];
    memset(data, 'p', sizeof(data));
    add_data(&t, data, sizeof(data));
    /* GNU 'L' long name */
    size_t lhdr = add_hdr(&t, "././@LongLink", 'L', strlen(longname) + 1 - 3, GNU);
    char ln2[300];
    strcpy(ln2, longname);
    ln2[strlen(ln2) - 3] = '\0'; /* ".../file.v" */
    add_data(&t, ln2, strlen(ln2) + 1);
    add_hdr(&t, "trunc", '0', 4, GNU);
    add_data(&t, "gnu!", 4);
    /* a global header is ignored */
    add_hdr(&t, "global", 'g', 10, USTAR);
    add_data(&t, "10 a=bcde\n", 10);
    add_file(&t, "last", "z", USTAR);
    add_end(&t);
    hk_tar_member *m = NULL;
    size_t n = 0;
    ts_assert_rc(ctx, index_buf(ctx, &t, NULL, &m, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(m[0].name, longname);
    assert_int_equal(m[0].size, 700);
    assert_int_equal(m[0].header_offset, 0);
    assert_int_equal(m[0].data_offset, hdr + 512);
    assert_string_equal(m[1].name, ln2);
    assert_int_equal(m[1].header_offset, lhdr);
    assert_int_equal(m[1].size, 4);
    assert_string_equal(m[2].name, "last");
    hk_tar_members_free(m, n);
    free(t.d);
    h2k_ctx_free(ctx);
}

static void
test_index_base256_size(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    tarb t = {0};
    size_t off = add_hdr(&t, "b256", '0', 0, GNU);
    memset(t.d + off + 124, 0, 12);
    t.d[off + 124] = 0x80;
    t.d[off + 135] = 5;
    set_checksum(t.d + off);
    add_data(&t, "12345", 5);
    add_end(&t);
    hk_tar_member *m = NULL;
    size_t n = 0;
    ts_assert_rc(ctx, index_buf(ctx, &t, NULL, &m, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].size, 5);
    hk_tar_members_free(m, n);
    /* a huge base-256 size lies beyond the file */
    t.d[off + 128] = 0x7f;
    set_checksum(t.d + off);
    assert_int_equal(index_buf(ctx, &t, NULL, &m, &n), H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "b256"));
    free(t.d);
    h2k_ctx_free(ctx);
}

/* Expects H2K_ERR_FORMAT (or @code) with @needle in the message and @offset. */
static void
expect_fail(const tarb *t, const hk_tar_limits *lim, int code, const char *needle, int64_t offset)
{
    h2k_ctx *ctx = ts_ctx();
    hk_tar_member *m = NULL;
    size_t n = 0;
    int rc = index_buf(ctx, t, lim, &m, &n);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    if (rc != code || !strstr(e->message, needle))
        print_error("rc %d, message: %s (want %s)\n", rc, e->message, needle);
    assert_int_equal(rc, code);
    assert_null(m);
    assert_non_null(strstr(e->message, needle));
    if (offset >= 0)
        assert_int_equal(e->offset, offset);
    h2k_ctx_free(ctx);
}

static void
test_index_refusals(void **state)
{
    (void)state;
    tarb t = {0};
    /* symbolic link */
    add_file(&t, "ok.txt", "x", USTAR);
    size_t off = add_hdr(&t, "link", '2', 0, USTAR);
    memcpy(t.d + off + 157, "/etc/passwd", 11);
    set_checksum(t.d + off);
    add_end(&t);
    expect_fail(&t, NULL, H2K_ERR_FORMAT, "\"link\" (header at offset 1024): symbolic links", 1024);
    free(t.d);

    /* hard link, device, fifo */
    const char types[] = "1346";
    for (int i = 0; types[i]; i++) {
        memset(&t, 0, sizeof(t));
        add_hdr(&t, "thing", types[i], 0, USTAR);
        add_end(&t);
        expect_fail(&t, NULL, H2K_ERR_FORMAT, "not allowed", 0);
        free(t.d);
    }

    /* path escapes and absolute names */
    const char *bad[] = {"../evil", "a/../../evil", "/abs/file"};
    for (size_t i = 0; i < 3; i++) {
        memset(&t, 0, sizeof(t));
        add_file(&t, bad[i], "evil", USTAR);
        add_end(&t);
        expect_fail(&t, NULL, H2K_ERR_FORMAT, "unsafe name", 0);
        free(t.d);
    }
    /* a folder escaping too */
    memset(&t, 0, sizeof(t));
    add_hdr(&t, "../up/", '5', 0, USTAR);
    add_end(&t);
    expect_fail(&t, NULL, H2K_ERR_FORMAT, "\"..\"", 0);
    free(t.d);

    /* control character */
    memset(&t, 0, sizeof(t));
    add_file(&t, "bad\x1bname", "x", USTAR);
    add_end(&t);
    expect_fail(&t, NULL, H2K_ERR_FORMAT, "bad\\x1bname", 0);
    free(t.d);

    /* duplicate names (after normalisation) */
    memset(&t, 0, sizeof(t));
    add_file(&t, "disk.vmdk", "1", USTAR);
    add_file(&t, "./disk.vmdk", "2", USTAR);
    add_end(&t);
    expect_fail(&t, NULL, H2K_ERR_FORMAT, "duplicate member name", 1024);
    free(t.d);

    /* a file that is also a folder of another file */
    memset(&t, 0, sizeof(t));
    add_file(&t, "a", "1", USTAR);
    add_file(&t, "a/b", "2", USTAR);
    add_end(&t);
    expect_fail(&t, NULL, H2K_ERR_FORMAT, "folder", 0);
    free(t.d);

    /* too many members */
    memset(&t, 0, sizeof(t));
    add_file(&t, "1", "1", USTAR);
    add_file(&t, "2", "2", USTAR);
    add_file(&t, "3", "3", USTAR);
    add_end(&t);
    hk_tar_limits lim = HK_TAR_LIMITS_INIT;
    lim.max_members = 2;
    expect_fail(&t, &lim, H2K_ERR_FORMAT, "too many members", 2048);
    lim = (hk_tar_limits)HK_TAR_LIMITS_INIT;
    lim.max_total = 2;
    expect_fail(&t, &lim, H2K_ERR_FORMAT, "limit", 2048);
    free(t.d);

    /* unknown type and sparse */
    memset(&t, 0, sizeof(t));
    add_hdr(&t, "weird", 'Q', 0, USTAR);
    add_end(&t);
    expect_fail(&t, NULL, H2K_ERR_FORMAT, "unsupported member type 0x51", 0);
    free(t.d);
    memset(&t, 0, sizeof(t));
    add_hdr(&t, "sparse", 'S', 0, GNU);
    add_end(&t);
    expect_fail(&t, NULL, H2K_ERR_FORMAT, "sparse", 0);
    free(t.d);
}

static void
test_index_corrupt(void **state)
{
    (void)state;
    tarb t = {0};
    add_file(&t, "a.txt", "hello", USTAR);
    add_file(&t, "b.txt", "world", USTAR);
    add_end(&t);
    tarb c = {malloc(t.len), t.len};
    memcpy(c.d, t.d, t.len);

    /* bad header checksum on the second header */
    c.d[1024 + 5] ^= 0x20;
    expect_fail(&c, NULL, H2K_ERR_FORMAT, "checksum", 1024);
    memcpy(c.d, t.d, t.len);
    c.d[0] = 'X';
    expect_fail(&c, NULL, H2K_ERR_FORMAT, "not a tar archive", 0);
    memcpy(c.d, t.d, t.len);

    /* truncated inside the data of b.txt */
    c.len = 1024 + 512 + 3;
    expect_fail(&c, NULL, H2K_ERR_FORMAT, "beyond the end", 1024);
    /* truncated inside a header */
    c.len = 1024 + 100;
    expect_fail(&c, NULL, H2K_ERR_FORMAT, "truncated tar header", 1024);
    /* truncated at a header boundary: no end marker */
    c.len = 1024;
    expect_fail(&c, NULL, H2K_ERR_FORMAT, "end-of-archive", 1024);
    /* empty */
    c.len = 0;
    expect_fail(&c, NULL, H2K_ERR_FORMAT, "empty", 0);
    /* compressed */
    c.len = t.len;
    c.d[0] = 0x1f;
    c.d[1] = 0x8b;
    expect_fail(&c, NULL, H2K_ERR_UNSUPPORTED, "gzip-compressed", 0);
    /* a long-name header with no member after it */
    free(c.d);
    memset(&c, 0, sizeof(c));
    add_hdr(&c, "././@LongLink", 'L', 4, GNU);
    add_data(&c, "abc", 4);
    add_end(&c);
    expect_fail(&c, NULL, H2K_ERR_FORMAT, "extended header", 1024);
    free(c.d);
    /* a pax header larger than the limit */
    memset(&c, 0, sizeof(c));
    add_hdr(&c, "big", 'x', (2u << 20), USTAR);
    grow(&c, 2u << 20);
    add_end(&c);
    expect_fail(&c, NULL, H2K_ERR_FORMAT, "too large", 0);
    free(c.d);
    /* malformed pax */
    memset(&c, 0, sizeof(c));
    add_hdr(&c, "pax", 'x', 8, USTAR);
    add_data(&c, "5 a=b\nx", 8);
    add_file(&c, "f", "1", USTAR);
    add_end(&c);
    expect_fail(&c, NULL, H2K_ERR_FORMAT, "pax", 0);
    free(c.d);
    free(t.d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_number),
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_pax_records),
        cmocka_unit_test(test_index_ustar),
        cmocka_unit_test(test_index_prefix_and_v7),
        cmocka_unit_test(test_index_pax_and_gnu_long),
        cmocka_unit_test(test_index_base256_size),
        cmocka_unit_test(test_index_refusals),
        cmocka_unit_test(test_index_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
