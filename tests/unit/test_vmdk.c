/*
 * Unit tests of the VMDK metadata parsers (src/disk/vmdk_descriptor.c) and of
 * the VMDK prober on hand-crafted files (no external program).
 *
 * Golden descriptor cases: tests/data/vmdk/NAME.desc is parsed and validated;
 * a canonical summary of the result must equal tests/data/vmdk/NAME.expected.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

#include "disk/vmdk_descriptor.h"

/* ------------------------------------------------------- golden descriptors */

static void
summarise_error(hk_buf *b, h2k_ctx *ctx, const char *what, int rc)
{
    const h2k_error *e = h2k_ctx_last_error(ctx);
    hk_buf_printf(b, "%s: %s field %s offset %lld\n%s message: %s\n", what, h2k_code_name(rc),
                  e->field ? e->field : "-", (long long)e->offset, what, e->message);
}

static char *
summarise(const char *name, const char *text, size_t len)
{
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    hk_buf b = {0};
    hk_vmdk_descriptor d;
    int rc = hk_vmdk_descriptor_parse(ctx, text, len, name, 0, &d);
    if (rc < 0) {
        summarise_error(&b, ctx, "parse", rc);
        assert_int_equal(d.n_extents, 0);
        assert_null(d.create_type);
        h2k_ctx_free(ctx);
        return hk_buf_steal(&b);
    }
    hk_buf_puts(&b, "parse: ok\n");
    hk_buf_printf(&b, "version: %u\n", d.version);
    hk_buf_printf(&b, "encoding: %s\n", d.encoding ? d.encoding : "-");
    if (d.has_cid)
        hk_buf_printf(&b, "CID: %08x\n", d.cid);
    else
        hk_buf_puts(&b, "CID: -\n");
    if (d.has_parent_cid)
        hk_buf_printf(&b, "parentCID: %08x\n", d.parent_cid);
    else
        hk_buf_puts(&b, "parentCID: -\n");
    hk_buf_printf(&b, "createType: %s\n", d.create_type ? d.create_type : "-");
    hk_buf_printf(&b, "parentFileNameHint: %s\n", d.parent_hint ? d.parent_hint : "-");
    for (size_t i = 0; i < d.n_extents; i++) {
        const hk_vmdk_extent_line *e = &d.extents[i];
        hk_buf_printf(&b, "extent: line %u at %llu: %s %llu %s", e->line,
                      (unsigned long long)e->text_offset, e->access, (unsigned long long)e->sectors,
                      hk_vmdk_extent_type_name(e->type));
        if (e->file)
            hk_buf_printf(&b, " \"%s\"", e->file);
        if (e->has_offset)
            hk_buf_printf(&b, " offset %llu", (unsigned long long)e->offset);
        hk_buf_puts(&b, "\n");
    }
    hk_buf_printf(&b, "total_sectors: %llu\n", (unsigned long long)d.total_sectors);
    for (size_t i = 0; i < d.n_ddb; i++)
        hk_buf_printf(&b, "ddb: %s = %s\n", d.ddb[i].key, d.ddb[i].value);
    rc = hk_vmdk_descriptor_validate(ctx, &d, name, 0, false);
    if (rc < 0)
        summarise_error(&b, ctx, "validate", rc);
    else
        hk_buf_puts(&b, "validate: ok\n");
    hk_vmdk_descriptor_clear(&d);
    h2k_ctx_free(ctx);
    return hk_buf_steal(&b);
}

static int
has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_descriptor_golden(void **state)
{
    (void)state;
    char *dir = ts_data_path("vmdk");
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh)))
        if (has_suffix(de->d_name, ".desc") && n < HK_ARRAY_LEN(names))
            names[n++] = strdup(de->d_name);
    closedir(dh);
    qsort(names, n, sizeof(names[0]), cmp_str);
    assert_true(n >= 20);
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char *in = ts_join(dir, names[i]);
        size_t len;
        char *text = ts_read_file(in, &len);
        char *got = summarise(names[i], text, len);
        assert_non_null(got);
        char *exp_name = hk_asprintf("%.*s.expected", (int)(strlen(names[i]) - 5), names[i]);
        char *exp_path = ts_join(dir, exp_name);
        char *want = ts_exists(exp_path) ? ts_read_file(exp_path, NULL) : NULL;
        if (!want || strcmp(want, got) != 0) {
            print_error("golden mismatch for %s\n--- expected (%s)\n%s--- got\n%s", names[i],
                        exp_name, want ? want : "(missing)\n", got);
            failures++;
        }
        free(want);
        free(exp_path);
        free(exp_name);
        free(got);
        free(text);
        free(in);
        free(names[i]);
    }
    free(dir);
    assert_int_equal(failures, 0);
}

/* A descriptor parsed from memory: stops at NUL, tolerates a missing final newline. */
static void
test_descriptor_nul_and_limits(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    hk_vmdk_descriptor d;
    static const char text[] = "CID=0000000a\ncreateType=\"streamOptimized\"\n"
                               "RW 128 SPARSE \"x.vmdk\"\0garbage that is never read\x01\x02";
    assert_int_equal(hk_vmdk_descriptor_parse(ctx, text, sizeof(text) - 1, "mem", 512, &d), 0);
    assert_int_equal(d.n_extents, 1);
    assert_int_equal(d.cid, 10);
    assert_string_equal(d.create_type, "streamOptimized");
    assert_int_equal(hk_vmdk_descriptor_validate(ctx, &d, "mem", 512, true), 0);
    hk_vmdk_descriptor_clear(&d);

    /* the file offset given is added to the line offset in errors */
    static const char bad[] = "version=1\nRW 5 FLAT \"a\" x\n";
    ts_assert_rc(ctx, hk_vmdk_descriptor_parse(ctx, bad, sizeof(bad) - 1, "mem", 512, &d),
                 H2K_ERR_FORMAT);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_int_equal(e->offset, 512 + 10);
    assert_string_equal(e->field, "extent");
    assert_string_equal(e->source_path, "mem");

    /* two extents in a monolithic type */
    static const char two[] =
        "createType=\"monolithicSparse\"\nRW 8 SPARSE \"a\"\nRW 8 SPARSE \"b\"\n";
    assert_int_equal(hk_vmdk_descriptor_parse(ctx, two, sizeof(two) - 1, "mem", 0, &d), 0);
    ts_assert_rc(ctx, hk_vmdk_descriptor_validate(ctx, &d, "mem", 0, false), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "extent");
    assert_string_equal(hk_vmdk_descriptor_ddb(&d, "ddb.none") ? "x" : "", "");
    hk_vmdk_descriptor_clear(&d);

    /* many DDB entries beyond the limit */
    hk_buf b = {0};
    hk_buf_puts(&b, "createType=\"vmfs\"\n");
    for (unsigned i = 0; i <= HK_VMDK_MAX_DDB; i++)
        hk_buf_printf(&b, "ddb.k%u = \"%u\"\n", i, i);
    ts_assert_rc(ctx, hk_vmdk_descriptor_parse(ctx, b.data, b.len, "mem", 0, &d), H2K_ERR_FORMAT);
    hk_buf_free(&b);
    h2k_ctx_free(ctx);
}

/* qemu 7.2 reads an extent line once more for each blank line right before it
 * (its sscanf skips newlines): such descriptors are refused, naming the lines. */
static void
test_descriptor_blank_line_before_extent(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    hk_vmdk_descriptor d;
    static const struct {
        const char *text;
        unsigned extent_line, blank_line;
    } bad[] = {
        {"version=1\ncreateType=\"monolithicFlat\"\n\nRW 2048 FLAT \"d-flat.vmdk\" 0\n", 4, 3},
        {"version=1\n# Extent description\n \t\nRW 2048 FLAT \"d-flat.vmdk\" 0\n", 4, 3},
        {"version=1\r\n\r\nRW 2048 FLAT \"d-flat.vmdk\" 0\r\n", 3, 2},
        {"version=1\n\n\n\nRDONLY 8 SPARSE \"s.vmdk\"\n", 5, 2},
        {"RW 8 FLAT \"a\" 0\n\n  RW 8 FLAT \"b\" 0\n", 3, 2},
        {"\nRW 8 FLAT \"a\" 0\n", 2, 1},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(bad); i++) {
        size_t len = strlen(bad[i].text);
        ts_assert_rc(ctx, hk_vmdk_descriptor_parse(ctx, bad[i].text, len, "/x/d.vmdk", 0, &d),
                     H2K_ERR_FORMAT);
        const h2k_error *e = h2k_ctx_last_error(ctx);
        assert_string_equal(e->source_path, "/x/d.vmdk");
        assert_string_equal(e->field, "extent");
        char want[64];
        snprintf(want, sizeof(want), "line %u: the extent line follows blank line %u",
                 bad[i].extent_line, bad[i].blank_line);
        if (!strstr(e->message, want))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e->message, want);
        assert_non_null(strstr(e->message, "remove the blank line"));
        /* the offset is the extent line's */
        const char *at = bad[i].text + e->offset;
        assert_true(strncmp(at, "RW", 2) == 0 || strncmp(at, "RDONLY", 6) == 0 ||
                    strncmp(at, "  RW", 4) == 0);
        assert_int_equal(d.n_extents, 0);
    }
    /* blank lines elsewhere (before comments, keys, the DDB, at the end) are fine */
    static const char good[] = "# Disk DescriptorFile\n\nversion=1\n\nCID=fffffffe\n"
                               "createType=\"monolithicFlat\"\n\n# Extent description\n"
                               "RW 2048 FLAT \"d-flat.vmdk\" 0\n# a comment\n"
                               "RW 2048 FLAT \"e-flat.vmdk\" 0\n\n# The Disk Data Base\n"
                               "#DDB\n\nddb.virtualHWVersion = \"4\"\n\n\n";
    assert_int_equal(hk_vmdk_descriptor_parse(ctx, good, sizeof(good) - 1, "mem", 0, &d), 0);
    assert_int_equal(d.n_extents, 2);
    assert_int_equal(d.total_sectors, 4096);
    hk_vmdk_descriptor_clear(&d);
    h2k_ctx_free(ctx);
}

/* qemu reads only RW extents: any other access word is refused, naming the line */
static void
test_descriptor_extent_not_rw(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    hk_vmdk_descriptor d;
    static const struct {
        const char *text, *access;
        unsigned line;
    } bad[] = {
        {"version=1\nRDONLY 2048 FLAT \"d-flat.vmdk\" 0\n", "RDONLY", 2},
        {"version=1\nNOACCESS 2048 FLAT \"d-flat.vmdk\" 0\n", "NOACCESS", 2},
        {"RW 8 FLAT \"a\" 0\nRDONLY 8 FLAT \"b\" 0\n", "RDONLY", 2},
        {"RW 8 FLAT \"a\" 0\n# x\n\tNOACCESS 8 SPARSE \"b\"\nRW 8 ZERO\n", "NOACCESS", 3},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(bad); i++) {
        size_t len = strlen(bad[i].text);
        ts_assert_rc(ctx, hk_vmdk_descriptor_parse(ctx, bad[i].text, len, "/x/d.vmdk", 0, &d),
                     H2K_ERR_FORMAT);
        const h2k_error *e = h2k_ctx_last_error(ctx);
        assert_string_equal(e->source_path, "/x/d.vmdk");
        assert_string_equal(e->field, "extent");
        char want[64];
        snprintf(want, sizeof(want), "line %u: %s extent", bad[i].line, bad[i].access);
        if (!strstr(e->message, want))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e->message, want);
        assert_non_null(strstr(e->message, "reads only RW extents"));
        const char *at = bad[i].text + e->offset;
        while (*at == '\t')
            at++;
        assert_true(strncmp(at, bad[i].access, strlen(bad[i].access)) == 0);
        assert_int_equal(d.n_extents, 0);
    }
    /* the access word alone at a line start, not a key that begins with it */
    static const char good[] = "RWX=1\nRW 8 FLAT \"a\" 0\n";
    assert_int_equal(hk_vmdk_descriptor_parse(ctx, good, sizeof(good) - 1, "mem", 0, &d), 0);
    assert_int_equal(d.n_extents, 1);
    hk_vmdk_descriptor_clear(&d);
    h2k_ctx_free(ctx);
}

/* ------------------------------------------------------- sparse headers */

static void
put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A valid hosted sparse header: @cap sectors, grain 128, descriptor at 1
 * (2 sectors), GD at 3, overhead 8. */
static void
make_header(uint8_t h[512], uint64_t cap)
{
    memset(h, 0, 512);
    memcpy(h, "KDMV", 4);
    put32(h + 4, 1);
    put32(h + 8, HK_VMDK_FLAG_NL_DETECT);
    put64(h + 12, cap);
    put64(h + 20, 128);
    put64(h + 28, 1);
    put64(h + 36, 2);
    put32(h + 44, 512);
    put64(h + 48, 0);
    put64(h + 56, 3);
    put64(h + 64, 8);
    h[73] = '\n';
    h[74] = ' ';
    h[75] = '\r';
    h[76] = '\n';
}

static int
check_buf(h2k_ctx *ctx, const uint8_t h[512], uint64_t size, bool gd_at_end)
{
    hk_vmdk_sparse_header hd;
    hk_vmdk_sparse_header_decode(h, &hd);
    return hk_vmdk_sparse_header_check(ctx, &hd, size, "crafted.vmdk", 1000, gd_at_end);
}

/* Applies @mutate to a fresh header and expects FORMAT on @field at @offset. */
static void
expect_bad(h2k_ctx *ctx, size_t at, uint64_t value, int width, uint64_t size, const char *field,
           int64_t offset)
{
    uint8_t h[512];
    make_header(h, 2048);
    if (width == 8)
        put64(h + at, value);
    else if (width == 4)
        put32(h + at, (uint32_t)value);
    else if (width == 2) {
        h[at] = (uint8_t)value;
        h[at + 1] = (uint8_t)(value >> 8);
    } else
        h[at] = (uint8_t)value;
    int rc = check_buf(ctx, h, size, false);
    if (rc != H2K_ERR_FORMAT)
        fail_msg("field %s value %llu: rc %d (%s)", field, (unsigned long long)value, rc,
                 h2k_ctx_last_error(ctx)->message);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_string_equal(e->field, field);
    assert_string_equal(e->source_path, "crafted.vmdk");
    assert_int_equal(e->offset, offset);
}

static void
test_sparse_header(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    uint8_t h[512];
    make_header(h, 2048);
    hk_vmdk_sparse_header hd;
    hk_vmdk_sparse_header_decode(h, &hd);
    assert_int_equal(hd.capacity, 2048);
    assert_int_equal(hd.grain_size, 128);
    assert_int_equal(hd.num_gtes_per_gt, 512);
    assert_int_equal(hk_vmdk_sparse_gd_entries(&hd), 1);
    assert_int_equal(check_buf(ctx, h, 4096, false), 0);

    expect_bad(ctx, 0, 0x4b444d57, 4, 4096, "magic", 1000);
    expect_bad(ctx, 4, 0, 4, 4096, "version", 1004);
    expect_bad(ctx, 4, 4, 4, 4096, "version", 1004);
    expect_bad(ctx, 12, 0, 8, 4096, "capacity", 1012);
    expect_bad(ctx, 12, (UINT64_C(64) << 40) / 512 + 1, 8, 4096, "capacity", 1012);
    expect_bad(ctx, 12, UINT64_MAX, 8, 4096, "capacity", 1012);
    expect_bad(ctx, 20, 0, 8, 4096, "grainSize", 1020);
    expect_bad(ctx, 20, 4, 8, 4096, "grainSize", 1020);
    expect_bad(ctx, 20, 96, 8, 4096, "grainSize", 1020);
    expect_bad(ctx, 20, UINT64_C(1) << 40, 8, 4096, "grainSize", 1020);
    expect_bad(ctx, 28, 100, 8, 4096, "descriptorOffset", 1028);
    expect_bad(ctx, 28, UINT64_MAX, 8, 4096, "descriptorOffset", 1028);
    expect_bad(ctx, 36, 0, 8, 4096, "descriptorSize", 1036);
    expect_bad(ctx, 36, UINT64_MAX / 256, 8, 4096, "descriptorSize", 1036);
    expect_bad(ctx, 44, 0, 4, 4096, "numGTEsPerGT", 1044);
    expect_bad(ctx, 44, 1024, 4, 4096, "numGTEsPerGT", 1044);
    expect_bad(ctx, 44, 500, 4, 4096, "numGTEsPerGT", 1044);
    expect_bad(ctx, 56, 0, 8, 4096, "gdOffset", 1056);
    expect_bad(ctx, 56, 8, 8, 4096, "gdOffset", 1056);
    expect_bad(ctx, 56, UINT64_MAX - 1, 8, 4096, "gdOffset", 1056);
    expect_bad(ctx, 56, HK_VMDK_GD_AT_END, 8, 4096, "gdOffset", 1056);
    expect_bad(ctx, 64, 9, 8, 4096, "overHead", 1064);
    expect_bad(ctx, 64, UINT64_MAX, 8, 4096, "overHead", 1064);
    expect_bad(ctx, 75, '\n', 1, 4096, "singleEndLineChar", 1073);
    expect_bad(ctx, 77, 2, 2, 4096, "compressAlgorithm", 1077);
    /* a file too short for the grain directory */
    expect_bad(ctx, 0, 'K', 1, 1536, "gdOffset", 1056);
    /* redundant grain directory announced but outside the file */
    make_header(h, 2048);
    put32(h + 8, HK_VMDK_FLAG_NL_DETECT | HK_VMDK_FLAG_RGD);
    put64(h + 48, 4000);
    assert_int_equal(check_buf(ctx, h, 4096, false), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "rgdOffset");
    /* grain directory at the end is fine in a header when a footer may follow */
    make_header(h, 2048);
    put64(h + 56, HK_VMDK_GD_AT_END);
    assert_int_equal(check_buf(ctx, h, 4096, true), 0);
    /* without the newline-detection flag the bytes are not checked */
    make_header(h, 2048);
    put32(h + 8, 0);
    h[73] = 0;
    assert_int_equal(check_buf(ctx, h, 4096, false), 0);
    /* a grain directory of many entries must fit: 64 TiB in 4 KiB grains */
    make_header(h, (UINT64_C(64) << 40) / 512);
    put64(h + 20, 8);
    assert_int_equal(check_buf(ctx, h, 1 << 20, false), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "gdOffset");
    h2k_ctx_free(ctx);
}

static void
make_cowd(uint8_t b[2048], uint32_t cap, uint32_t grain, uint32_t gd, uint32_t gde)
{
    memset(b, 0, 2048);
    memcpy(b, "COWD", 4);
    put32(b + 4, 1);
    put32(b + 8, 3);
    put32(b + 12, cap);
    put32(b + 16, grain);
    put32(b + 20, gd);
    put32(b + 24, gde);
    put32(b + 28, 8);
}

static void
test_cowd_and_sesparse_headers(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    uint8_t b[2048];
    hk_vmdk_cowd_header c;
    make_cowd(b, 8192, 1, 4, 2);
    hk_vmdk_cowd_header_decode(b, &c);
    assert_int_equal(c.capacity, 8192);
    assert_int_equal(hk_vmdk_cowd_header_check(ctx, &c, 4096, "c.vmdk", 0), 0);
    c.magic = 0;
    assert_int_equal(hk_vmdk_cowd_header_check(ctx, &c, 4096, "c.vmdk", 0), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "magic");
    make_cowd(b, 8192, 3, 4, 2);
    hk_vmdk_cowd_header_decode(b, &c);
    assert_int_equal(hk_vmdk_cowd_header_check(ctx, &c, 4096, "c.vmdk", 0), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "grainSize");
    make_cowd(b, 8192, 1, 4, 1);
    hk_vmdk_cowd_header_decode(b, &c);
    assert_int_equal(hk_vmdk_cowd_header_check(ctx, &c, 4096, "c.vmdk", 0), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "numGDEntries");
    make_cowd(b, 8192, 1, 8, 2);
    hk_vmdk_cowd_header_decode(b, &c);
    assert_int_equal(hk_vmdk_cowd_header_check(ctx, &c, 4096, "c.vmdk", 0), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "gdOffset");
    make_cowd(b, 0, 1, 4, 2);
    hk_vmdk_cowd_header_decode(b, &c);
    assert_int_equal(hk_vmdk_cowd_header_check(ctx, &c, 4096, "c.vmdk", 0), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "numSectors");

    uint8_t s[48] = {0};
    hk_vmdk_sesparse_header se;
    put64(s, HK_VMDK_SESPARSE_MAGIC);
    put64(s + 8, HK_VMDK_SESPARSE_VERSION);
    put64(s + 16, 4096);
    put64(s + 24, 8);
    put64(s + 32, 64);
    hk_vmdk_sesparse_header_decode(s, &se);
    assert_int_equal(hk_vmdk_sesparse_header_check(ctx, &se, "s.vmdk", 0), 0);
    se.version = 1;
    assert_int_equal(hk_vmdk_sesparse_header_check(ctx, &se, "s.vmdk", 0), H2K_ERR_UNSUPPORTED);
    se.version = HK_VMDK_SESPARSE_VERSION;
    se.grain_size = 0;
    assert_int_equal(hk_vmdk_sesparse_header_check(ctx, &se, "s.vmdk", 0), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "grainSize");
    se.grain_size = 8;
    se.magic = 0xcafecafe;
    assert_int_equal(hk_vmdk_sesparse_header_check(ctx, &se, "s.vmdk", 0), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "magic");
    se.magic = HK_VMDK_SESPARSE_MAGIC;
    se.capacity = UINT64_MAX;
    assert_int_equal(hk_vmdk_sesparse_header_check(ctx, &se, "s.vmdk", 0), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "capacity");
    h2k_ctx_free(ctx);
}

/* ------------------------------------------------- prober on crafted files */

/* Builds a small sparse image: header, descriptor (sectors 1-2), GD (3), one
 * GT (4-7); with @stream the header defers the GD to a footer (sectors 8-10). */
static size_t
make_sparse_file(uint8_t *buf, size_t cap_buf, uint64_t cap, const char *desc, bool stream)
{
    size_t size = stream ? 11 * 512 : 8 * 512;
    assert_true(cap_buf >= size);
    memset(buf, 0, size);
    make_header(buf, cap);
    if (desc)
        memcpy(buf + 512, desc, strlen(desc));
    else {
        put64(buf + 28, 0);
        put64(buf + 36, 0);
    }
    put32(buf + 3 * 512, 4); /* GD entry 0 -> GT at sector 4 */
    if (stream) {
        put32(buf + 4, 3);
        put32(buf + 8, HK_VMDK_FLAG_NL_DETECT | HK_VMDK_FLAG_COMPRESSED | HK_VMDK_FLAG_MARKERS);
        buf[77] = 1;
        memcpy(buf + 9 * 512, buf, 512); /* footer = header with the real GD */
        put64(buf + 56, HK_VMDK_GD_AT_END);
        put64(buf + 8 * 512, 1); /* footer marker: 1 sector, size 0, type 3 */
        put32(buf + 8 * 512 + 12, 3);
    }
    return size;
}

static h2k_disk_info *
probe_ok(h2k_ctx *ctx, const char *path, const h2k_probe_options *o)
{
    h2k_disk_info *info = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, path, o, &info), 0);
    assert_non_null(info);
    return info;
}

static void
probe_fails(h2k_ctx *ctx, const char *path, const h2k_probe_options *o, int code, const char *src,
            const char *field)
{
    h2k_disk_info *info = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, path, o, &info), code);
    assert_null(info);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_non_null(e->source_path);
    assert_string_equal(e->source_path, src);
    assert_non_null(e->field);
    assert_string_equal(e->field, field);
}

static void
test_probe_crafted(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char *dir = ts_mkdtemp();
    uint8_t buf[16384];
    static const char desc[] = "# Disk DescriptorFile\nversion=1\nCID=0badc0de\n"
                               "parentCID=ffffffff\ncreateType=\"streamOptimized\"\n"
                               "RW 2048 SPARSE \"so.vmdk\"\n";

    /* stream-optimized with the grain directory in the footer */
    char *so = ts_join(dir, "so.vmdk");
    size_t n = make_sparse_file(buf, sizeof(buf), 2048, desc, true);
    ts_write_file(so, buf, n);
    h2k_disk_info *info = probe_ok(ctx, so, NULL);
    assert_string_equal(info->subformat, "streamOptimized");
    assert_int_equal(info->virtual_size, 2048 * 512);
    assert_int_equal(info->layers[0].cluster_size, 65536);
    assert_int_equal(info->layers[0].compressed, 1);
    assert_string_equal(info->layers[0].id, "0badc0de");
    assert_null(info->layers[0].parent_id);
    assert_int_equal(info->layers[0].n_extents, 1);
    assert_string_equal(info->layers[0].extents[0].path, so);
    h2k_disk_info_free(info);

    /* the same image inside a container at offset 4096 (an OVA member) */
    char *ova = ts_join(dir, "container.bin");
    uint8_t big[4096 + 11 * 512 + 1024];
    memset(big, 0xee, sizeof(big));
    memcpy(big + 4096, buf, n);
    ts_write_file(ova, big, sizeof(big));
    h2k_probe_options o = H2K_PROBE_OPTIONS_INIT;
    o.offset = 4096;
    o.size = n;
    o.format = H2K_FORMAT_VMDK;
    info = probe_ok(ctx, ova, &o);
    assert_string_equal(info->subformat, "streamOptimized");
    assert_int_equal(info->offset, 4096);
    assert_int_equal(info->layers[0].extents[0].offset, 4096);
    h2k_disk_info_free(info);
    /* a broken footer inside the container is reported at its file offset */
    big[4096 + 10 * 512 + 12] = 7; /* end-of-stream marker type */
    ts_write_file(ova, big, sizeof(big));
    probe_fails(ctx, ova, &o, H2K_ERR_FORMAT, ova, "footer");
    assert_int_equal(h2k_ctx_last_error(ctx)->offset, 4096 + 10 * 512);

    /* footer marker missing (truncated stream) */
    buf[8 * 512 + 12] = 0;
    ts_write_file(so, buf, n);
    probe_fails(ctx, so, NULL, H2K_ERR_FORMAT, so, "footer");
    /* footer that lies about the capacity */
    make_sparse_file(buf, sizeof(buf), 2048, desc, true);
    put64(buf + 9 * 512 + 12, 4096);
    ts_write_file(so, buf, n);
    probe_fails(ctx, so, NULL, H2K_ERR_FORMAT, so, "capacity");
    /* footer whose GD lies past the end */
    make_sparse_file(buf, sizeof(buf), 2048, desc, true);
    put64(buf + 9 * 512 + 56, 99);
    ts_write_file(so, buf, n);
    probe_fails(ctx, so, NULL, H2K_ERR_FORMAT, so, "gdOffset");
    assert_int_equal(h2k_ctx_last_error(ctx)->offset, 9 * 512 + 56);
    /* grain directory entry beyond the end of file */
    make_sparse_file(buf, sizeof(buf), 2048, desc, false);
    put32(buf + 3 * 512, 100);
    ts_write_file(so, buf, 8 * 512);
    probe_fails(ctx, so, NULL, H2K_ERR_FORMAT, so, "gdOffset");
    assert_int_equal(h2k_ctx_last_error(ctx)->offset, 3 * 512);
    /* embedded descriptor disagreeing with the header capacity */
    make_sparse_file(buf, sizeof(buf), 4096, desc, false);
    ts_write_file(so, buf, 8 * 512);
    probe_fails(ctx, so, NULL, H2K_ERR_FORMAT, so, "capacity");
    /* no embedded descriptor: an extent file of a split disk probed alone */
    make_sparse_file(buf, sizeof(buf), 2048, NULL, false);
    ts_write_file(so, buf, 8 * 512);
    info = probe_ok(ctx, so, NULL);
    assert_string_equal(info->subformat, "monolithicSparse");
    assert_null(info->layers[0].id);
    h2k_disk_info_free(info);

    /* a descriptor with SPARSE, VMFSSPARSE (COWD), SESPARSE, FLAT and ZERO extents */
    char *s1 = ts_join(dir, "s1.vmdk");
    ts_write_file(s1, buf, 8 * 512); /* the sparse file without descriptor, 2048 sectors */
    uint8_t cowd[4096] = {0};
    make_cowd(cowd, 4096, 1, 4, 1);
    char *c1 = ts_join(dir, "c1.vmdk");
    ts_write_file(c1, cowd, sizeof(cowd));
    uint8_t ses[1024] = {0};
    put64(ses, HK_VMDK_SESPARSE_MAGIC);
    put64(ses + 8, HK_VMDK_SESPARSE_VERSION);
    put64(ses + 16, 1024);
    put64(ses + 24, 8);
    char *e1 = ts_join(dir, "e1.vmdk");
    ts_write_file(e1, ses, sizeof(ses));
    char *f1 = ts_join(dir, "f1.img");
    ts_write_file(f1, big, sizeof(big)); /* 10752 bytes = 21 sectors */
    static const char custom[] = "version=1\nCID=00000042\nparentCID=ffffffff\n"
                                 "createType=\"custom\"\n"
                                 "RW 2048 SPARSE \"s1.vmdk\"\n"
                                 "RW 4096 VMFSSPARSE \"c1.vmdk\"\n"
                                 "RW 1024 SESPARSE \"e1.vmdk\"\n"
                                 "RW 10 FLAT \"f1.img\" 11\n"
                                 "RW 100 ZERO\n"
                                 "RW 10 FLAT \"./f1.img\" 0\n";
    char *cd = ts_join(dir, "custom.vmdk");
    ts_write_file(cd, custom, strlen(custom));
    info = probe_ok(ctx, cd, NULL);
    assert_string_equal(info->subformat, "custom");
    assert_int_equal(info->virtual_size, (2048 + 4096 + 1024 + 10 + 100 + 10) * 512ull);
    assert_int_equal(info->layers[0].n_extents, 6);
    assert_int_equal(info->layers[0].cluster_size, 65536);
    assert_string_equal(info->layers[0].extents[1].type, "VMFSSPARSE");
    assert_string_equal(info->layers[0].extents[2].access, "RW");
    assert_int_equal(info->layers[0].extents[3].offset, 11 * 512);
    assert_int_equal(info->layers[0].extents[3].file_size, sizeof(big));
    assert_null(info->layers[0].extents[4].path);
    assert_string_equal(info->layers[0].extents[5].path, f1);
    assert_string_equal(info->layers[0].id, "00000042");
    h2k_disk_info_free(info);
    /* FLAT extent running past the end of its file */
    static const char tooshort[] = "createType=\"monolithicFlat\"\nRW 12 FLAT \"f1.img\" 10\n";
    ts_write_file(cd, tooshort, strlen(tooshort));
    probe_fails(ctx, cd, NULL, H2K_ERR_FORMAT, cd, "extent");
    o = (h2k_probe_options)H2K_PROBE_OPTIONS_INIT;
    o.check_extents = 0;
    info = probe_ok(ctx, cd, &o);
    h2k_disk_info_free(info);
    /* SPARSE extent whose capacity disagrees with the descriptor */
    static const char capmis[] =
        "createType=\"twoGbMaxExtentSparse\"\nRW 4096 SPARSE \"s1.vmdk\"\n";
    ts_write_file(cd, capmis, strlen(capmis));
    probe_fails(ctx, cd, NULL, H2K_ERR_FORMAT, cd, "extent");
    /* SESPARSE extent with a bad magic: the error names the extent file */
    put64(ses, 0x1234);
    ts_write_file(e1, ses, sizeof(ses));
    static const char sesd[] = "createType=\"seSparse\"\nRW 1024 SESPARSE \"e1.vmdk\"\n";
    ts_write_file(cd, sesd, strlen(sesd));
    probe_fails(ctx, cd, NULL, H2K_ERR_FORMAT, e1, "magic");
    /* an extent that is a folder */
    static const char dird[] = "createType=\"monolithicFlat\"\nRW 1 FLAT \".\" 0\n";
    ts_write_file(cd, dird, strlen(dird));
    probe_fails(ctx, cd, NULL, H2K_ERR_FORMAT, cd, "extent");
    /* raw device mapping: reported as unsupported */
    static const char rdm[] = "createType=\"vmfsRDM\"\nRW 1 VMFSRDM \"f1.img\"\n";
    ts_write_file(cd, rdm, strlen(rdm));
    probe_fails(ctx, cd, NULL, H2K_ERR_UNSUPPORTED, cd, "createType");

    /* a descriptor inside a container may not refer to other files */
    static const char flat[] = "createType=\"monolithicFlat\"\nRW 1 FLAT \"f1.img\" 0\n";
    uint8_t cont[1024];
    memset(cont, 0, sizeof(cont));
    memcpy(cont + 512, flat, strlen(flat));
    ts_write_file(ova, cont, sizeof(cont));
    o = (h2k_probe_options)H2K_PROBE_OPTIONS_INIT;
    o.offset = 512;
    o.size = strlen(flat);
    info = NULL;
    probe_fails(ctx, ova, &o, H2K_ERR_UNSUPPORTED, ova, "extent");
    assert_int_equal(h2k_ctx_last_error(ctx)->offset, 512 + 28);

    /* a standalone COWD file */
    info = probe_ok(ctx, c1, NULL);
    assert_string_equal(info->subformat, "vmfsSparse");
    assert_int_equal(info->virtual_size, 4096 * 512);
    assert_int_equal(info->layers[0].cluster_size, 512);
    h2k_disk_info_free(info);

    /* tiny and empty files forced to VMDK */
    char *tiny = ts_join(dir, "tiny.vmdk");
    ts_write_file(tiny, "KD", 2);
    o = (h2k_probe_options)H2K_PROBE_OPTIONS_INIT;
    o.format = H2K_FORMAT_VMDK;
    probe_fails(ctx, tiny, &o, H2K_ERR_FORMAT, tiny, "header");
    ts_write_file(tiny, "KDMV\1\0\0\0", 8);
    probe_fails(ctx, tiny, &o, H2K_ERR_FORMAT, tiny, "header");

    free(tiny);
    free(cd);
    free(f1);
    free(e1);
    free(c1);
    free(s1);
    free(ova);
    free(so);
    ts_rmtree(dir);
    free(dir);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor_golden),
        cmocka_unit_test(test_descriptor_nul_and_limits),
        cmocka_unit_test(test_descriptor_blank_line_before_extent),
        cmocka_unit_test(test_descriptor_extent_not_rw),
        cmocka_unit_test(test_sparse_header),
        cmocka_unit_test(test_cowd_and_sesparse_headers),
        cmocka_unit_test(test_probe_crafted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
