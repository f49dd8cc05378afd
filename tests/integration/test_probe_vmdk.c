/*
 * Integration tests of the native VMDK prober against images made by
 * qemu-img (every VMDK subformat it writes, snapshot chains), hand-written
 * descriptors (vmfs, vmfsSparse delta, ZERO extents), corrupted copies, and
 * the CLI (`hyper2kvm probe`).  Sources must never change: each case compares
 * sha256 sums before and after probing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "testsupport.h"

typedef ts_fixture fixture;

static int
setup(void **state)
{
    ts_require_program("qemu-img");
    ts_require_program("qemu-io");
    return ts_fixture_setup(state);
}

/* ------------------------------------------------------------ helpers */

static char *
mkpath(const fixture *f, const char *name)
{
    return ts_join(f->dir, name);
}

static void
qemu_create(const char *path, const char *subformat, const char *size, const char *backing)
{
    char opt[128];
    snprintf(opt, sizeof(opt), "subformat=%s", subformat ? subformat : "monolithicSparse");
    if (backing)
        ts_qemu_img_create("vmdk", NULL, backing, "vmdk", path, NULL);
    else
        ts_qemu_img_create("vmdk", opt, NULL, NULL, path, size);
}

static void
qemu_write(const char *path, const char *fmt, const char *cmd)
{
    const char *argv[] = {"qemu-io", "-f", fmt, "-c", cmd, path, NULL};
    ts_run_ok(argv);
}

static void
patch(const char *path, off_t off, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("open %s: %s", path, strerror(errno));
    assert_int_equal(pwrite(fd, data, n, off), (ssize_t)n);
    close(fd);
}

static void
patch_le64(const char *path, off_t off, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    patch(path, off, b, 8);
}

/* Replaces the first occurrence of @from by @to (same length) in the first 64 KiB. */
static void
patch_text(const char *path, const char *from, const char *to)
{
    assert_int_equal(strlen(from), strlen(to));
    size_t len;
    char *data = ts_read_file(path, &len);
    char *p = memmem(data, len < 65536 ? len : 65536, from, strlen(from));
    if (!p)
        fail_msg("\"%s\" not found in %s", from, path);
    patch(path, p - data, to, strlen(to));
    free(data);
}

/* The CID token as written in a descriptor or a sparse file's embedded
 * descriptor (qemu does not zero-pad it) into @raw, and as "%08x" into @norm. */
static void
read_cid2(const char *path, const char *key, char raw[9], char norm[9])
{
    size_t len;
    char *data = ts_read_file(path, &len);
    char pat[32];
    snprintf(pat, sizeof(pat), "\n%s=", key);
    char *p = memmem(data, len < 65536 ? len : 65536, pat, strlen(pat));
    if (!p)
        fail_msg("no %s in %s", key, path);
    p += strlen(pat);
    size_t n = 0;
    while (n < 8 && p + n < data + len && strchr("0123456789abcdefABCDEF", p[n]) && p[n])
        n++;
    assert_true(n > 0);
    memcpy(raw, p, n);
    raw[n] = '\0';
    snprintf(norm, 9, "%08lx", strtoul(raw, NULL, 16));
    free(data);
}

static void
read_cid(const char *path, const char *key, char norm[9])
{
    char raw[9];
    read_cid2(path, key, raw, norm);
}

/* Rewrites "KEY=<raw>" to a different CID of the same length; the new CID
 * ("%08x") goes to @bad_norm. */
static void
corrupt_cid(const char *path, const char *key, char bad_norm[9])
{
    char raw[9], norm[9], bad[9], from[32], to[32];
    read_cid2(path, key, raw, norm);
    strcpy(bad, raw);
    size_t n = strlen(bad);
    bad[n - 1] = bad[n - 1] == '0' ? '1' : '0';
    snprintf(bad_norm, 9, "%08lx", strtoul(bad, NULL, 16));
    snprintf(from, sizeof(from), "%s=%s", key, raw);
    snprintf(to, sizeof(to), "%s=%s", key, bad);
    patch_text(path, from, to);
}

static uint64_t
blocks_bytes(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_blocks * 512;
}

/* sha256 sums of up to 8 files, to prove probing changed nothing. */
typedef struct sums {
    size_t n;
    char *paths[8];
    char sum[8][65];
} sums;

static void
sums_take(sums *s, const char *const *paths)
{
    memset(s, 0, sizeof(*s));
    for (; *paths && s->n < 8; paths++, s->n++) {
        s->paths[s->n] = strdup(*paths);
        ts_sha256_file(*paths, s->sum[s->n]);
    }
}

static void
sums_check(sums *s)
{
    for (size_t i = 0; i < s->n; i++) {
        char now[65];
        ts_sha256_file(s->paths[i], now);
        if (strcmp(now, s->sum[i]) != 0)
            fail_msg("probing modified %s", s->paths[i]);
        free(s->paths[i]);
    }
    s->n = 0;
}

static h2k_disk_info *
probe_ok(fixture *f, const char *path)
{
    h2k_disk_info *info = NULL;
    ts_assert_rc(f->ctx, h2k_disk_probe(f->ctx, path, NULL, &info), 0);
    assert_non_null(info);
    assert_int_equal(info->format, H2K_FORMAT_VMDK);
    return info;
}

/* Probing @path must fail with FORMAT naming @src and @field, and the message
 * must contain @needle (if not NULL). */
static void
probe_bad(fixture *f, const char *path, const char *src, const char *field, const char *needle)
{
    h2k_disk_info *info = NULL;
    ts_assert_rc(f->ctx, h2k_disk_probe(f->ctx, path, NULL, &info), H2K_ERR_FORMAT);
    assert_null(info);
    const h2k_error *e = h2k_ctx_last_error(f->ctx);
    if (!e->source_path || strcmp(e->source_path, src) != 0 || !e->field ||
        strcmp(e->field, field) != 0 || (needle && !strstr(e->message, needle)))
        fail_msg("want file %s field %s (\"%s\"), got: %s", src, field, needle ? needle : "",
                 e->message);
}

/* ------------------------------------------------------------ tests */

typedef struct subformat_case {
    const char *name;
    const char *size;
    uint64_t bytes;
    size_t n_extents;
    const char *extent_type;
    uint32_t cluster;
    int compressed;
    bool descriptor_file;
} subformat_case;

static void
test_qemu_subformats(void **state)
{
    fixture *f = *state;
    static const subformat_case cases[] = {
        {"monolithicSparse", "64M", 64ull << 20, 1, "SPARSE", 65536, 0, false},
        {"monolithicFlat", "64M", 64ull << 20, 1, "FLAT", 0, 0, true},
        {"twoGbMaxExtentSparse", "3G", 3ull << 30, 2, "SPARSE", 65536, 0, true},
        {"twoGbMaxExtentFlat", "3G", 3ull << 30, 2, "FLAT", 0, 0, true},
        {"streamOptimized", "64M", 64ull << 20, 1, "SPARSE", 65536, 1, false},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(cases); i++) {
        const subformat_case *c = &cases[i];
        char name[64];
        snprintf(name, sizeof(name), "%s.vmdk", c->name);
        char *path = mkpath(f, name);
        qemu_create(path, c->name, c->size, NULL);
        if (!c->descriptor_file || strcmp(c->name, "monolithicFlat") == 0)
            qemu_write(path, "vmdk", "write -P 0x5a 0 1M");
        char cid[9];
        read_cid(path, "CID", cid);

        sums s;
        sums_take(&s, (const char *const[]){path, NULL});
        h2k_disk_info *info = probe_ok(f, path);
        sums_check(&s);
        const h2k_disk_layer *l = &info->layers[0];
        assert_string_equal(info->subformat, c->name);
        assert_string_equal(info->path, path);
        assert_int_equal(info->virtual_size, c->bytes);
        assert_int_equal(info->n_layers, 1);
        assert_int_equal(l->n_extents, c->n_extents);
        assert_int_equal(l->cluster_size, c->cluster);
        assert_int_equal(l->compressed, c->compressed);
        assert_string_equal(l->id, cid);
        assert_null(l->parent_id);
        assert_null(l->parent_hint);
        uint64_t sectors = 0, alloc = c->descriptor_file ? blocks_bytes(path) : 0;
        for (size_t k = 0; k < l->n_extents; k++) {
            const h2k_disk_extent *e = &l->extents[k];
            assert_string_equal(e->type, c->extent_type);
            assert_string_equal(e->access, "RW");
            assert_non_null(e->path);
            assert_true(e->path[0] == '/');
            assert_int_equal(e->offset, 0);
            struct stat st;
            assert_int_equal(stat(e->path, &st), 0);
            assert_int_equal(e->file_size, (uint64_t)st.st_size);
            if (c->descriptor_file)
                alloc += (uint64_t)st.st_blocks * 512;
            sectors += e->sectors;
        }
        if (!c->descriptor_file) {
            assert_string_equal(l->extents[0].path, path);
            alloc = blocks_bytes(path);
        }
        assert_int_equal(sectors * 512, c->bytes);
        assert_int_equal(info->allocated_size, alloc);
        assert_int_equal(l->allocated_size, alloc);
        h2k_disk_info_free(info);
        free(path);
    }
}

static void
write_text(const char *path, const char *text)
{
    ts_write_file(path, text, strlen(text));
}

/* A small COWD (vmfsSparse) file: @cap sectors, grain 1, GD at sector 4. */
static void
write_cowd(const char *path, uint32_t cap)
{
    uint8_t b[4096] = {0};
    uint32_t v[8] = {0x44574f43u, 1, 3, cap, 1, 4, (cap + 4095) / 4096, 8};
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++)
            b[4 * i + k] = (uint8_t)(v[i] >> (8 * k));
    ts_write_file(path, b, sizeof(b));
}

static void
test_handwritten_descriptors(void **state)
{
    fixture *f = *state;
    char *flat = mkpath(f, "vm-flat.vmdk");
    const char *mk[] = {"qemu-img", "create", "-q", "-f", "raw", flat, "8M", NULL};
    ts_run_ok(mk);
    char *base = mkpath(f, "vm.vmdk");
    write_text(base, "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=3a4b5c6d\n"
                     "parentCID=ffffffff\nisNativeSnapshot=\"no\"\ncreateType=\"vmfs\"\n\n"
                     "# Extent description\nRW 16384 VMFS \"vm-flat.vmdk\"\n\n"
                     "# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\n"
                     "ddb.thinProvisioned = \"1\"\n");
    char *delta = mkpath(f, "vm-000001-delta.vmdk");
    write_cowd(delta, 16384);
    char *snap = mkpath(f, "vm-000001.vmdk");
    write_text(snap, "# Disk DescriptorFile\r\nversion=1\r\nCID=0e0e0e0e\r\n"
                     "parentCID=3a4b5c6d\r\ncreateType=\"vmfsSparse\"\r\n"
                     "parentFileNameHint=\"vm.vmdk\"\r\n"
                     "RW 16384 VMFSSPARSE \"vm-000001-delta.vmdk\"\r\n");

    sums s;
    sums_take(&s, (const char *const[]){flat, base, delta, snap, NULL});
    h2k_disk_info *info = probe_ok(f, snap);
    sums_check(&s);
    assert_int_equal(info->n_layers, 2);
    assert_string_equal(info->subformat, "vmfsSparse");
    assert_int_equal(info->virtual_size, 16384 * 512);
    const h2k_disk_layer *top = &info->layers[0], *bot = &info->layers[1];
    assert_string_equal(top->id, "0e0e0e0e");
    assert_string_equal(top->parent_id, "3a4b5c6d");
    assert_string_equal(top->parent_hint, "vm.vmdk");
    assert_string_equal(top->parent_path, base);
    assert_string_equal(top->extents[0].type, "VMFSSPARSE");
    assert_string_equal(top->extents[0].path, delta);
    assert_int_equal(top->cluster_size, 512);
    assert_string_equal(bot->subformat, "vmfs");
    assert_string_equal(bot->id, "3a4b5c6d");
    assert_null(bot->parent_id);
    assert_string_equal(bot->extents[0].type, "VMFS");
    assert_string_equal(bot->extents[0].path, flat);
    assert_int_equal(bot->extents[0].file_size, 8u << 20);
    assert_int_equal(bot->allocated_size, blocks_bytes(base) + blocks_bytes(flat));
    assert_int_equal(info->allocated_size, top->allocated_size + bot->allocated_size);
    h2k_disk_info_free(info);

    /* ZERO extents between two slices of one flat file */
    char *zd = mkpath(f, "holes.vmdk");
    write_text(zd, "version=1\nCID=00000001\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
                   "RW 4096 FLAT \"vm-flat.vmdk\" 0\nRW 1000000 ZERO\n"
                   "RW 4096 FLAT \"vm-flat.vmdk\" 12288\n");
    info = probe_ok(f, zd);
    const h2k_disk_layer *l = &info->layers[0];
    assert_int_equal(info->virtual_size, (4096 + 1000000 + 4096) * 512ull);
    assert_int_equal(l->n_extents, 3);
    assert_null(l->extents[1].path);
    assert_string_equal(l->extents[1].type, "ZERO");
    assert_int_equal(l->extents[2].offset, 12288 * 512);
    /* the flat file is counted once */
    assert_int_equal(l->allocated_size, blocks_bytes(zd) + blocks_bytes(flat));
    h2k_disk_info_free(info);

    /* the VMFS extent ends past its file */
    write_text(zd, "createType=\"vmfs\"\nRW 16385 VMFS \"vm-flat.vmdk\"\n");
    probe_bad(f, zd, zd, "extent", "vm-flat.vmdk");
    /* the delta's parentCID no longer matches the base */
    patch_text(base, "CID=3a4b5c6d", "CID=3a4b5c6e");
    sums_take(&s, (const char *const[]){base, delta, snap, NULL});
    probe_bad(f, snap, snap, "parentCID", "3a4b5c6d");
    sums_check(&s);

    free(zd);
    free(snap);
    free(delta);
    free(base);
    free(flat);
}

static void
test_chain_of_three(void **state)
{
    fixture *f = *state;
    char *base = mkpath(f, "base.vmdk");
    char *s1 = mkpath(f, "snap1.vmdk");
    char *s2 = mkpath(f, "snap2.vmdk");
    qemu_create(base, "monolithicSparse", "64M", NULL);
    qemu_write(base, "vmdk", "write -P 0x5a 0 1M");
    qemu_create(s1, NULL, NULL, "base.vmdk");
    qemu_write(s1, "vmdk", "write -P 0x11 1M 64k");
    qemu_create(s2, NULL, NULL, "snap1.vmdk");
    char cid0[9], cid1[9], cid2[9], p1[9], p2[9];
    read_cid(base, "CID", cid0);
    read_cid(s1, "CID", cid1);
    read_cid(s2, "CID", cid2);
    read_cid(s1, "parentCID", p1);
    read_cid(s2, "parentCID", p2);
    assert_string_equal(p1, cid0);
    assert_string_equal(p2, cid1);

    sums s;
    sums_take(&s, (const char *const[]){base, s1, s2, NULL});
    h2k_disk_info *info = probe_ok(f, s2);
    sums_check(&s);
    assert_int_equal(info->n_layers, 3);
    const char *paths[] = {s2, s1, base};
    const char *ids[] = {cid2, cid1, cid0};
    const char *hints[] = {"snap1.vmdk", "base.vmdk", NULL};
    uint64_t total = 0;
    for (size_t i = 0; i < 3; i++) {
        const h2k_disk_layer *l = &info->layers[i];
        assert_string_equal(l->path, paths[i]);
        assert_string_equal(l->subformat, "monolithicSparse");
        assert_string_equal(l->id, ids[i]);
        assert_int_equal(l->virtual_size, 64u << 20);
        assert_int_equal(l->allocated_size, blocks_bytes(paths[i]));
        total += l->allocated_size;
        if (hints[i]) {
            assert_string_equal(l->parent_id, ids[i + 1]);
            assert_string_equal(l->parent_hint, hints[i]);
            assert_string_equal(l->parent_path, paths[i + 1]);
        } else {
            assert_null(l->parent_id);
            assert_null(l->parent_hint);
        }
    }
    assert_int_equal(info->allocated_size, total);
    h2k_disk_info_free(info);

    /* wrong parentCID in the middle of the chain */
    char bad[9];
    size_t saved_len;
    char *saved = ts_read_file(s1, &saved_len);
    corrupt_cid(s1, "parentCID", bad);
    sums_take(&s, (const char *const[]){base, s1, s2, NULL});
    probe_bad(f, s2, s1, "parentCID", bad);
    sums_check(&s);
    ts_write_file(s1, saved, saved_len); /* repaired, the chain probes again */
    free(saved);
    info = probe_ok(f, s2);
    h2k_disk_info_free(info);

    /* deleted parent */
    assert_int_equal(unlink(base), 0);
    sums_take(&s, (const char *const[]){s1, s2, NULL});
    probe_bad(f, s2, s1, "parentCID", "base.vmdk");
    sums_check(&s);

    free(s2);
    free(s1);
    free(base);
}

/* A fresh monolithicSparse image with 1 MiB of data in its own folder. */
static char *
fresh_sparse(fixture *f, const char *name)
{
    char *p = mkpath(f, name);
    qemu_create(p, "monolithicSparse", "64M", NULL);
    qemu_write(p, "vmdk", "write -P 0x5a 0 1M");
    return p;
}

static void
test_corrupted_sparse(void **state)
{
    fixture *f = *state;
    sums s;

    char *p = fresh_sparse(f, "trunc.vmdk");
    assert_int_equal(truncate(p, 32768), 0);
    sums_take(&s, (const char *const[]){p, NULL});
    probe_bad(f, p, p, "overHead", "truncated");
    sums_check(&s);
    assert_int_equal(truncate(p, 2048), 0);
    probe_bad(f, p, p, "descriptorOffset", NULL);
    assert_int_equal(h2k_ctx_last_error(f->ctx)->offset, 28);
    assert_int_equal(truncate(p, 300), 0);
    probe_bad(f, p, p, "header", "truncated");
    free(p);

    /* damaged magic: not VMDK any more; forced as VMDK it is a clear error */
    p = fresh_sparse(f, "magic.vmdk");
    patch(p, 0, "XDMV", 4);
    h2k_probe_options o = H2K_PROBE_OPTIONS_INIT;
    o.format = H2K_FORMAT_VMDK;
    h2k_disk_info *info = NULL;
    sums_take(&s, (const char *const[]){p, NULL});
    ts_assert_rc(f->ctx, h2k_disk_probe(f->ctx, p, &o, &info), H2K_ERR_FORMAT);
    sums_check(&s);
    assert_string_equal(h2k_ctx_last_error(f->ctx)->field, "magic");
    assert_string_equal(h2k_ctx_last_error(f->ctx)->source_path, p);
    free(p);

    p = fresh_sparse(f, "version.vmdk");
    patch(p, 4, "\x09", 1);
    probe_bad(f, p, p, "version", "version 9");
    free(p);

    p = fresh_sparse(f, "grain.vmdk");
    patch_le64(p, 20, 100);
    sums_take(&s, (const char *const[]){p, NULL});
    probe_bad(f, p, p, "grainSize", "power of two");
    sums_check(&s);
    assert_int_equal(h2k_ctx_last_error(f->ctx)->offset, 20);
    patch_le64(p, 20, 0);
    probe_bad(f, p, p, "grainSize", NULL);
    free(p);

    p = fresh_sparse(f, "capacity.vmdk");
    patch_le64(p, 12, UINT64_C(1) << 62);
    probe_bad(f, p, p, "capacity", "limit");
    patch_le64(p, 12, 262144); /* 128 MiB: disagrees with the descriptor */
    probe_bad(f, p, p, "capacity", "131072");
    free(p);

    p = fresh_sparse(f, "gd.vmdk");
    patch_le64(p, 56, 0x7fffffff);
    probe_bad(f, p, p, "gdOffset", "beyond the end");
    patch_le64(p, 56, UINT64_MAX); /* "grain directory in the footer", but there is none */
    probe_bad(f, p, p, "footer", "footer marker");
    free(p);

    p = fresh_sparse(f, "nl.vmdk");
    patch(p, 73, "\r\n", 2);
    probe_bad(f, p, p, "singleEndLineChar", "text mode");
    free(p);

    p = fresh_sparse(f, "desc.vmdk");
    patch_text(p, "createType=\"monolithicSparse\"", "createType=\"monolithicSparsX\"");
    h2k_disk_info *i2 = NULL;
    ts_assert_rc(f->ctx, h2k_disk_probe(f->ctx, p, NULL, &i2), H2K_ERR_UNSUPPORTED);
    assert_string_equal(h2k_ctx_last_error(f->ctx)->field, "createType");
    patch_text(p, "createType=\"monolithicSparsX\"", "createType=\"monolithicSparse\"");
    patch_text(p, "\nCID=", "\nCID:");
    probe_bad(f, p, p, "descriptor", "CID:");
    free(p);
}

static void
test_deleted_and_bad_extents(void **state)
{
    fixture *f = *state;
    char *d = mkpath(f, "split.vmdk");
    qemu_create(d, "twoGbMaxExtentSparse", "3G", NULL);
    char *e2 = mkpath(f, "split-s002.vmdk");
    char *e1 = mkpath(f, "split-s001.vmdk");
    assert_true(ts_exists(e2));
    sums s;

    /* an extent whose header lies about its capacity */
    patch_le64(e1, 12, 1024);
    sums_take(&s, (const char *const[]){d, e1, e2, NULL});
    probe_bad(f, d, d, "extent", "split-s001.vmdk");
    sums_check(&s);
    patch_le64(e1, 12, 4194304);
    /* an extent whose grain size is damaged: the error names the extent */
    patch_le64(e2, 20, 7);
    probe_bad(f, d, e2, "grainSize", "split.vmdk");
    patch_le64(e2, 20, 128);
    h2k_disk_info *info = probe_ok(f, d);
    h2k_disk_info_free(info);

    assert_int_equal(unlink(e2), 0);
    sums_take(&s, (const char *const[]){d, e1, NULL});
    probe_bad(f, d, d, "extent", "split-s002.vmdk");
    sums_check(&s);
    assert_non_null(strstr(h2k_ctx_last_error(f->ctx)->message, "missing"));
    /* not checking extents: the probe succeeds with what is there */
    h2k_probe_options o = H2K_PROBE_OPTIONS_INIT;
    o.check_extents = 0;
    info = NULL;
    ts_assert_rc(f->ctx, h2k_disk_probe(f->ctx, d, &o, &info), 0);
    assert_int_equal(info->layers[0].n_extents, 2);
    assert_int_equal(info->layers[0].extents[1].file_size, 0);
    h2k_disk_info_free(info);

    /* flat split: deleting the second slice */
    char *fd = mkpath(f, "fsplit.vmdk");
    qemu_create(fd, "twoGbMaxExtentFlat", "3G", NULL);
    char *f2 = mkpath(f, "fsplit-f002.vmdk");
    assert_int_equal(truncate(f2, 4096), 0);
    probe_bad(f, fd, fd, "extent", "fsplit-f002.vmdk");
    assert_int_equal(unlink(f2), 0);
    probe_bad(f, fd, fd, "extent", "fsplit-f002.vmdk");
    free(f2);
    free(fd);
    free(e1);
    free(e2);
    free(d);
}

/* A streamOptimized image inside a container at a non-zero offset (as in an OVA). */
static void
test_stream_optimized_in_container(void **state)
{
    fixture *f = *state;
    char *so = mkpath(f, "so.vmdk");
    qemu_create(so, "streamOptimized", "64M", NULL);
    qemu_write(so, "vmdk", "write -P 0x5a 0 1M");
    size_t len;
    char *data = ts_read_file(so, &len);
    char *ova = mkpath(f, "box.ova");
    size_t total = 1536 + len + 512;
    char *buf = calloc(1, total);
    assert_non_null(buf);
    memcpy(buf + 1536, data, len);
    ts_write_file(ova, buf, total);
    h2k_probe_options o = H2K_PROBE_OPTIONS_INIT;
    o.offset = 1536;
    o.size = len;
    h2k_disk_info *info = NULL;
    ts_assert_rc(f->ctx, h2k_disk_probe(f->ctx, ova, &o, &info), 0);
    assert_string_equal(info->subformat, "streamOptimized");
    assert_int_equal(info->virtual_size, 64u << 20);
    assert_int_equal(info->offset, 1536);
    assert_int_equal(info->size, len);
    assert_int_equal(info->layers[0].compressed, 1);
    h2k_disk_info_free(info);
    /* the window cut short: the grain directory is outside it */
    o.size = 4096;
    info = NULL;
    ts_assert_rc(f->ctx, h2k_disk_probe(f->ctx, ova, &o, &info), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(f->ctx)->source_path, ova);
    free(buf);
    free(data);
    free(ova);
    free(so);
}

/* Runs the CLI; returns the exit status, stdout and stderr (caller frees). */
static int
run_cli(const char *const *argv, char **out, char **err)
{
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    hk_run_result res;
    if (hk_run(ctx, argv, NULL, &res) < 0)
        fail_msg("cannot run %s: %s", argv[0], h2k_ctx_last_error(ctx)->message);
    *out = res.stdout_tail ? strdup(res.stdout_tail) : strdup("");
    *err = res.stderr_tail ? strdup(res.stderr_tail) : strdup("");
    int st = res.exit_status;
    hk_run_result_clear(&res);
    h2k_ctx_free(ctx);
    return st;
}

static void
test_cli(void **state)
{
    fixture *f = *state;
    const char *cli = ts_env("H2K_CLI");
    char *base = mkpath(f, "cbase.vmdk");
    char *top = mkpath(f, "ctop.vmdk");
    qemu_create(base, "monolithicSparse", "64M", NULL);
    qemu_create(top, NULL, NULL, "cbase.vmdk");
    char *out, *err;
    const char *argv[] = {cli, "probe", "--json", top, NULL};
    int st = run_cli(argv, &out, &err);
    if (st != 0)
        fail_msg("exit %d: %s", st, err);
    json_object *j = json_tokener_parse(out);
    if (!j)
        fail_msg("not JSON: %s", out);
    json_object *v;
    assert_true(json_object_object_get_ex(j, "format", &v));
    assert_string_equal(json_object_get_string(v), "vmdk");
    assert_true(json_object_object_get_ex(j, "subformat", &v));
    assert_string_equal(json_object_get_string(v), "monolithicSparse");
    assert_true(json_object_object_get_ex(j, "virtual_size", &v));
    assert_int_equal(json_object_get_int64(v), 64 << 20);
    assert_true(json_object_object_get_ex(j, "allocated_size", &v));
    assert_int_equal(json_object_get_int64(v), (int64_t)(blocks_bytes(base) + blocks_bytes(top)));
    assert_true(json_object_object_get_ex(j, "chain", &v));
    assert_int_equal(json_object_array_length(v), 2);
    json_object *l1 = json_object_array_get_idx(v, 1), *id;
    assert_true(json_object_object_get_ex(l1, "id", &id));
    char cid[9];
    read_cid(base, "CID", cid);
    assert_string_equal(json_object_get_string(id), cid);
    assert_true(json_object_object_get_ex(j, "extents", &v));
    assert_int_equal(json_object_array_length(v), 1);
    json_object_put(j);
    free(out);
    free(err);

    /* a broken chain: exit 10 + |H2K_ERR_FORMAT|, message on stderr */
    char bad[9];
    corrupt_cid(top, "parentCID", bad);
    const char *argv2[] = {cli, "probe", top, NULL};
    st = run_cli(argv2, &out, &err);
    assert_int_equal(st, 10 - H2K_ERR_FORMAT);
    assert_int_equal(st, 24);
    if (!strstr(err, "parentCID") || !strstr(err, top))
        fail_msg("stderr lacks the detail: %s", err);
    free(out);
    free(err);
    free(top);
    free(base);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, ts_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_qemu_subformats),
        T(test_handwritten_descriptors),
        T(test_chain_of_three),
        T(test_corrupted_sparse),
        T(test_deleted_and_bad_extents),
        T(test_stream_optimized_in_container),
        T(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
