/*
 * Integration tests of the OVA reader: archives made at run time with GNU tar,
 * python3's tarfile (tests/data/ova/mktar.py, for what tar will not write),
 * gzip and qemu-img.  Every test checks that the OVA is left unchanged.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "testsupport.h"
#include "ova_helpers.h"

typedef struct fx {
    char *dir; /* temporary folder */
    char *src; /* dir/src: files put into archives */
} fx;

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = ts_mkdtemp();
    f->src = ts_join(f->dir, "src");
    mkdir(f->src, 0755);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    ts_rmtree(f->dir);
    free(f->dir);
    free(f->src);
    free(f);
    return 0;
}

/* Writes src/REL (folders created); returns the path (caller frees). */
static char *
put(fx *f, const char *rel, const void *data, size_t len)
{
    char *p = ts_join(f->src, rel);
    for (char *s = strchr(p + strlen(f->src) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
    ts_write_file(p, data, len);
    return p;
}

static void
put_text(fx *f, const char *rel, const char *text)
{
    free(put(f, rel, text, strlen(text)));
}

/* Copies a shared OVF into src/REL. */
static void
put_shared(fx *f, const char *shared_rel, const char *rel)
{
    char *sp = ts_shared_path(shared_rel);
    size_t len = 0;
    char *data = ts_read_file(sp, &len);
    free(put(f, rel, data, len));
    free(data);
    free(sp);
}

/* Pattern data of @len bytes seeded by @seed. */
static uint8_t *
pattern(size_t len, unsigned seed)
{
    uint8_t *b = malloc(len);
    assert_non_null(b);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    return b;
}

/* GNU tar: tar --format=FMT -C src -cf dir/OUT NAMES...; returns the OVA path. */
static char *
gnu_tar(fx *f, const char *fmt, const char *out, const char *const *names)
{
    char *ova = ts_join(f->dir, out);
    char *fopt = hk_asprintf("--format=%s", fmt);
    const char *argv[32] = {"tar", fopt, "-C", f->src, "-cf", ova};
    size_t n = 6;
    for (size_t i = 0; names[i]; i++)
        argv[n++] = names[i];
    argv[n] = NULL;
    ts_run_ok(argv);
    free(fopt);
    return ova;
}

/* python3 mktar.py FMT dir/OUT ENTRIES...; returns the OVA path. */
static char *
py_tar(fx *f, const char *fmt, const char *out, const char *const *entries)
{
    char *ova = ts_join(f->dir, out);
    char *script = ts_data_path("ova/mktar.py");
    const char *argv[32] = {"python3", script, fmt, ova};
    size_t n = 4;
    for (size_t i = 0; entries[i]; i++)
        argv[n++] = entries[i];
    argv[n] = NULL;
    ts_run_ok(argv);
    free(script);
    return ova;
}

/* Reads @len bytes at @off of @path. */
static uint8_t *
read_at(const char *path, uint64_t off, size_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, len, (off_t)off), (ssize_t)len);
    close(fd);
    return b;
}

/* The member's bytes in the OVA equal @want. */
static void
assert_member(const char *ova_path, h2k_ova *ova, const char *name, const void *want, size_t len)
{
    const h2k_ova_member *m = h2k_ova_find(ova, name);
    if (!m)
        print_error("member %s not found\n", name);
    assert_non_null(m);
    assert_string_equal(m->name, name);
    assert_int_equal(m->size, len);
    uint8_t *b = read_at(ova_path, m->offset, len);
    assert_memory_equal(b, want, len);
    free(b);
}

static void
assert_file(const char *path, const void *want, size_t len)
{
    size_t got = 0;
    char *d = ts_read_file(path, &got);
    assert_int_equal(got, len);
    assert_memory_equal(d, want, len);
    free(d);
}

static char *
hex_digest(const char *algo, const void *data, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned ml = 0;
    assert_int_equal(EVP_Digest(data, len, md, &ml, EVP_get_digestbyname(algo), NULL), 1);
    char *hex = malloc(2 * ml + 1);
    for (unsigned i = 0; i < ml; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    return hex;
}

/* Asserts that an error message contains @needle. */
static void
assert_msg(h2k_ctx *ctx, const char *needle)
{
    const char *m = h2k_ctx_last_error(ctx)->message;
    if (!strstr(m, needle))
        print_error("message \"%s\" lacks \"%s\"\n", m, needle);
    assert_non_null(strstr(m, needle));
}

static void
assert_unchanged(const char *path, const char *before)
{
    char now[65];
    ts_sha256_file(path, now);
    assert_string_equal(now, before);
}

/* ------------------------------------------------------------ progress */

typedef struct prog {
    h2k_ctx *ctx;
    char stage[32];
    uint64_t done, total, calls;
    uint64_t cancel_after; /* cancel once done >= this (0 = never) */
} prog;

static void
on_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    prog *p = ud;
    snprintf(p->stage, sizeof(p->stage), "%s", stage);
    p->done = done;
    p->total = total;
    p->calls++;
    if (p->cancel_after && done >= p->cancel_after && strcmp(stage, "extract") == 0)
        h2k_ctx_cancel(p->ctx);
}

/* --------------------------------------------------------------- tests */

/* ustar with the shared two-disk OVF: in-place offsets and the spec. */
static void
test_ustar_two_disks(void **state)
{
    fx *f = *state;
    h2k_ctx *ctx = ts_ctx();
    put_shared(f, "testdata/v2v-inputs/test-i-ova-two-disks.ovf", "vm.ovf");
    uint8_t *d1 = pattern(70000, 1), *d2 = pattern(1536, 2);
    free(put(f, "disk1.vmdk", d1, 70000));
    free(put(f, "disk2.vmdk", d2, 1536));
    const char *names[] = {"vm.ovf", "disk1.vmdk", "disk2.vmdk", NULL};
    char *ova_path = gnu_tar(f, "ustar", "two.ova", names);
    char sum[65];
    ts_sha256_file(ova_path, sum);

    h2k_ova *ova = NULL;
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
    assert_int_equal(h2k_ova_member_count(ova), 3);
    assert_string_equal(h2k_ova_member_at(ova, 0)->name, "vm.ovf");
    assert_string_equal(h2k_ova_member_at(ova, 1)->name, "disk1.vmdk");
    assert_null(h2k_ova_member_at(ova, 3));
    assert_null(h2k_ova_find(ova, "nope"));
    /* GNU tar: the second member's header follows the first's padded data */
    const h2k_ova_member *m0 = h2k_ova_member_at(ova, 0);
    assert_int_equal(m0->offset, 512);
    assert_int_equal(h2k_ova_member_at(ova, 1)->offset, 512 + ((m0->size + 511) / 512) * 512 + 512);
    assert_member(ova_path, ova, "disk1.vmdk", d1, 70000);
    assert_member(ova_path, ova, "disk2.vmdk", d2, 1536);
    /* no manifest: fine */
    ts_assert_rc(ctx, h2k_ova_verify_manifest(ctx, ova), 0);

    h2k_vm_spec *spec = NULL;
    ts_assert_rc(ctx, h2k_ova_read_spec(ctx, ova, &spec), 0);
    assert_string_equal(spec->source_type, "ova");
    assert_string_equal(spec->source_path, ova_path);
    assert_int_equal(spec->n_disks, 2);
    for (size_t i = 0; i < 2; i++) {
        const h2k_ova_member *m = h2k_ova_find(ova, i ? "disk2.vmdk" : "disk1.vmdk");
        assert_string_equal(spec->disks[i].path, m->name);
        assert_string_equal(spec->disks[i].container_path, ova_path);
        assert_int_equal(spec->disks[i].container_offset, m->offset);
        assert_int_equal(spec->disks[i].container_size, m->size);
    }
    h2k_vm_spec_free(spec);
    h2k_ova_free(ova);
    assert_unchanged(ova_path, sum);
    free(d1);
    free(d2);
    free(ova_path);
    h2k_ctx_free(ctx);
}

/* pax (GNU tar and python) and GNU long names over 100 characters. */
static void
test_long_names(void **state)
{
    fx *f = *state;
    h2k_ctx *ctx = ts_ctx();
    char longname[200];
    snprintf(longname, sizeof(longname),
             "folder-with-a-rather-long-name/another-long-folder-name-0123456789/"
             "disk-with-a-very-long-file-name-%s%s.vmdk",
             "abcdefghijklmnopqrstuvwxyz0123456789", "-so-long-that-no-ustar-field-holds-it");
    assert_true(strlen(longname) > 155);
    uint8_t *d = pattern(5000, 3);
    free(put(f, longname, d, 5000));
    put_text(f, "vm.ovf", "<Envelope/>");
    const char *names[] = {"vm.ovf", longname, NULL};
    const char *fmts[] = {"pax", "gnu"};
    for (size_t i = 0; i < 2; i++) {
        char out[32];
        snprintf(out, sizeof(out), "long-%s.ova", fmts[i]);
        char *ova_path = gnu_tar(f, fmts[i], out, names);
        char sum[65];
        ts_sha256_file(ova_path, sum);
        h2k_ova *ova = NULL;
        ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
        assert_int_equal(h2k_ova_member_count(ova), 2);
        assert_member(ova_path, ova, longname, d, 5000);
        h2k_ova_free(ova);
        assert_unchanged(ova_path, sum);
        free(ova_path);
    }
    /* python's pax and GNU writers, names starting with "./" */
    char *src = ts_join(f->src, longname);
    char *e1 = hk_asprintf("file:./%s=%s", longname, src);
    const char *entries[] = {"text:./vm.ovf=<Envelope/>", "dir:./folder-with-a-rather-long-name/",
                             e1, NULL};
    for (size_t i = 0; i < 2; i++) {
        char out[32];
        snprintf(out, sizeof(out), "py-%s.ova", fmts[i]);
        char *ova_path = py_tar(f, fmts[i], out, entries);
        char sum[65];
        ts_sha256_file(ova_path, sum);
        h2k_ova *ova = NULL;
        ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
        assert_int_equal(h2k_ova_member_count(ova), 2);
        assert_member(ova_path, ova, "vm.ovf", "<Envelope/>", 11);
        assert_member(ova_path, ova, longname, d, 5000);
        h2k_ova_free(ova);
        assert_unchanged(ova_path, sum);
        free(ova_path);
    }
    free(e1);
    free(src);
    free(d);
    h2k_ctx_free(ctx);
}

/* The OVF and its disk in a subfolder. */
static void
test_subfolders(void **state)
{
    fx *f = *state;
    h2k_ctx *ctx = ts_ctx();
    put_shared(f, "testdata/v2v-inputs/test-i-ova-subfolders.ovf", "subfolder/vm.ovf");
    uint8_t *d = pattern(4096, 4);
    free(put(f, "subfolder/disk1.vmdk", d, 4096));
    const char *names[] = {"subfolder", NULL};
    char *ova_path = gnu_tar(f, "gnu", "sub.ova", names);
    char sum[65];
    ts_sha256_file(ova_path, sum);
    h2k_ova *ova = NULL;
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
    assert_int_equal(h2k_ova_member_count(ova), 2);
    assert_member(ova_path, ova, "subfolder/disk1.vmdk", d, 4096);
    h2k_vm_spec *spec = NULL;
    ts_assert_rc(ctx, h2k_ova_read_spec(ctx, ova, &spec), 0);
    assert_int_equal(spec->n_disks, 1);
    assert_string_equal(spec->disks[0].path, "subfolder/disk1.vmdk");
    assert_int_equal(spec->disks[0].container_offset,
                     h2k_ova_find(ova, "subfolder/disk1.vmdk")->offset);
    assert_int_equal(spec->disks[0].container_size, 4096);
    assert_string_equal(spec->name, "2K8R2EESP1_2_Medium");
    h2k_vm_spec_free(spec);
    h2k_ova_free(ova);
    assert_unchanged(ova_path, sum);
    free(ova_path);
    free(d);
    h2k_ctx_free(ctx);
}

/* A disk the OVF names but the OVA lacks. */
static void
test_missing_disk(void **state)
{
    fx *f = *state;
    h2k_ctx *ctx = ts_ctx();
    put_shared(f, "testdata/v2v-inputs/test-i-ova-two-disks.ovf", "vm.ovf");
    put_text(f, "disk1.vmdk", "one");
    const char *names[] = {"vm.ovf", "disk1.vmdk", NULL};
    char *ova_path = gnu_tar(f, "ustar", "miss.ova", names);
    h2k_ova *ova = NULL;
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
    h2k_vm_spec *spec = NULL;
    ts_assert_rc(ctx, h2k_ova_read_spec(ctx, ova, &spec), H2K_ERR_FORMAT);
    assert_null(spec);
    assert_msg(ctx, "disk2.vmdk");
    h2k_ova_free(ova);
    free(ova_path);
    h2k_ctx_free(ctx);
}

/* Builds a three-file OVA with a manifest of @algo1 for the OVF and @algo2 for the rest. */
static char *
manifest_ova(fx *f, const char *out, const char *algo1, const char *algo2, bool corrupt,
             const char *extra_line)
{
    const char *ovf = "<Envelope/>\n";
    uint8_t *d = pattern(3u << 20, 5); /* 3 MiB: several 1 MiB chunks */
    free(put(f, "d.vmdk", d, 3u << 20));
    put_text(f, "vm.ovf", ovf);
    put_text(f, "notes/readme.txt", "hello");
    char *h1 = hex_digest(algo1, ovf, strlen(ovf));
    char *h2 = hex_digest(algo2, d, 3u << 20);
    char *h3 = hex_digest(algo2, "hello", 5);
    if (corrupt)
        h2[7] = h2[7] == '0' ? '1' : '0';
    char a1[16], a2[16];
    snprintf(a1, sizeof(a1), "%s", algo1);
    snprintf(a2, sizeof(a2), "%s", algo2);
    for (char *p = a1; *p; p++)
        *p = (char)(*p == '-' ? 0 : *p >= 'a' ? *p - 32 : *p);
    for (char *p = a2; *p; p++)
        *p = (char)(*p == '-' ? 0 : *p >= 'a' ? *p - 32 : *p);
    char *mf = hk_asprintf("%s(vm.ovf)= %s\n%s(d.vmdk)= %s\r\n%s(notes/readme.txt)=%s\n%s", a1, h1,
                           a2, h2, a2, h3, extra_line ? extra_line : "");
    put_text(f, "vm.mf", mf);
    const char *names[] = {"vm.ovf", "d.vmdk", "notes", "vm.mf", "vm.cert", NULL};
    put_text(f, "vm.cert", "not really a certificate");
    char *ova = gnu_tar(f, "ustar", out, names);
    free(mf);
    free(h1);
    free(h2);
    free(h3);
    free(d);
    return ova;
}

static void
test_manifest_ok(void **state)
{
    fx *f = *state;
    const char *algos[][2] = {{"sha1", "sha1"}, {"sha256", "sha256"}, {"sha1", "sha512"}};
    for (size_t i = 0; i < 3; i++) {
        h2k_ctx *ctx = ts_ctx();
        prog p = {.ctx = ctx};
        h2k_ctx_set_progress(ctx, on_progress, &p);
        char out[32];
        snprintf(out, sizeof(out), "mf%zu.ova", i);
        char *ova_path = manifest_ova(f, out, algos[i][0], algos[i][1], false, NULL);
        char sum[65];
        ts_sha256_file(ova_path, sum);
        h2k_ova *ova = NULL;
        ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
        assert_int_equal(h2k_ova_member_count(ova), 5);
        ts_assert_rc(ctx, h2k_ova_verify_manifest(ctx, ova), 0);
        assert_string_equal(p.stage, "verify");
        assert_int_equal(p.total, (3u << 20) + 12 + 5);
        assert_int_equal(p.done, p.total);
        assert_true(p.calls >= 4);
        h2k_ova_free(ova);
        assert_unchanged(ova_path, sum);
        free(ova_path);
        h2k_ctx_free(ctx);
    }
}

static void
test_manifest_errors(void **state)
{
    fx *f = *state;
    h2k_ctx *ctx = ts_ctx();
    /* digest mismatch: VALIDATION naming the member and both digests */
    char *ova_path = manifest_ova(f, "bad.ova", "sha256", "sha256", true, NULL);
    char sum[65];
    ts_sha256_file(ova_path, sum);
    h2k_ova *ova = NULL;
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
    ts_assert_rc(ctx, h2k_ova_verify_manifest(ctx, ova), H2K_ERR_VALIDATION);
    assert_msg(ctx, "member d.vmdk does not match manifest vm.mf (line 2)");
    assert_msg(ctx, "expected");
    assert_msg(ctx, "actual");
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "SHA256");
    assert_int_equal(h2k_ctx_last_error(ctx)->offset, h2k_ova_find(ova, "d.vmdk")->offset);
    h2k_ova_free(ova);
    assert_unchanged(ova_path, sum);
    free(ova_path);

    /* a listed member that is absent */
    ova_path = manifest_ova(f, "absent.ova", "sha1", "sha1", false,
                            "SHA1(gone.vmdk)= a9993e364706816aba3e25717850c26c9cd0d89d\n");
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
    ts_assert_rc(ctx, h2k_ova_verify_manifest(ctx, ova), H2K_ERR_VALIDATION);
    assert_msg(ctx, "line 4 lists gone.vmdk, which is not in the OVA");
    h2k_ova_free(ova);
    free(ova_path);

    /* a malformed line */
    ova_path = manifest_ova(f, "malformed.ova", "sha1", "sha1", false, "MD5(x)= 00\n");
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
    ts_assert_rc(ctx, h2k_ova_verify_manifest(ctx, ova), H2K_ERR_FORMAT);
    assert_msg(ctx, "manifest vm.mf: line 4 is malformed");
    h2k_ova_free(ova);
    free(ova_path);
    h2k_ctx_free(ctx);
}

/* Extraction without an OVF: manifest override, EXISTS, symlinks in the output. */
static void
test_extract_plain(void **state)
{
    fx *f = *state;
    h2k_ctx *ctx = ts_ctx();
    prog p = {.ctx = ctx};
    h2k_ctx_set_progress(ctx, on_progress, &p);
    const char *ovf = "<Envelope/>\n";
    char *ova_path = manifest_ova(f, "x.ova", "sha256", "sha256", true, NULL);
    /* drop the OVF from this archive: rebuild without it */
    free(ova_path);
    const char *names[] = {"d.vmdk", "notes", "vm.mf", NULL};
    ova_path = gnu_tar(f, "ustar", "x.ova", names);
    (void)ovf;
    char sum[65];
    ts_sha256_file(ova_path, sum);
    h2k_ova *ova = NULL;
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
    char *out = ts_join(f->dir, "out/deeper");
    h2k_ova_extract_options o = H2K_OVA_EXTRACT_OPTIONS_INIT;
    /* the manifest lists vm.ovf, absent here, and d.vmdk is corrupt */
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out, &o, NULL), H2K_ERR_VALIDATION);
    char *outparent = ts_join(f->dir, "out");
    assert_false(ts_exists(outparent));
    o.ignore_manifest_mismatch = 1;
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out, &o, NULL), 0);
    assert_string_equal(p.stage, "extract");
    assert_int_equal(p.done, p.total);
    uint8_t *d = pattern(3u << 20, 5);
    char *x = ts_join(out, "d.vmdk");
    assert_file(x, d, 3u << 20);
    struct stat st;
    assert_int_equal(stat(x, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* extracted members are private */
    free(x);
    x = ts_join(out, "notes/readme.txt");
    assert_file(x, "hello", 5);
    free(x);
    assert_int_equal(ts_count_dir(out), 3);
    /* again: EXISTS, and the first output is left alone */
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out, &o, NULL), H2K_ERR_EXISTS);
    assert_msg(ctx, "already exists");
    assert_int_equal(ts_count_dir(out), 3);

    /* a symbolic link where a folder is needed is never followed */
    char *out2 = ts_join(f->dir, "out2");
    char *elsewhere = ts_join(f->dir, "elsewhere");
    mkdir(out2, 0755);
    mkdir(elsewhere, 0755);
    char *link = ts_join(out2, "notes");
    assert_int_equal(symlink(elsewhere, link), 0);
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out2, &o, NULL), H2K_ERR_EXISTS);
    assert_msg(ctx, "symbolic links are not followed");
    assert_int_equal(ts_count_dir(elsewhere), 0);
    assert_int_equal(ts_count_dir(out2), 1);

    /* cancelled in the middle of d.vmdk: nothing is left */
    o.verify_manifest = 0;
    char *out3 = ts_join(f->dir, "out3");
    p.cancel_after = 1u << 20;
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out3, &o, NULL), H2K_ERR_CANCELLED);
    assert_false(ts_exists(out3));
    h2k_ctx_reset_cancel(ctx);
    /* cancelled in the second file, in an existing folder: the first is removed */
    mkdir(out3, 0755);
    p.cancel_after = (3u << 20) + 1;
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out3, &o, NULL), H2K_ERR_CANCELLED);
    assert_true(ts_exists(out3));
    assert_int_equal(ts_count_dir(out3), 0);
    h2k_ctx_reset_cancel(ctx);
    p.cancel_after = 0;

    /* size limit */
    o.max_total_size = 1u << 20;
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out3, &o, NULL), H2K_ERR_VALIDATION);
    assert_msg(ctx, "max_total_size");
    assert_int_equal(ts_count_dir(out3), 0);
    /* options version */
    o.version = 99;
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out3, &o, NULL), H2K_ERR_INVALID_ARG);
    /* spec requested but no OVF */
    h2k_vm_spec *spec = NULL;
    o = (h2k_ova_extract_options)H2K_OVA_EXTRACT_OPTIONS_INIT;
    o.verify_manifest = 0;
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out3, &o, &spec), H2K_ERR_FORMAT);
    assert_msg(ctx, "no .ovf");
    assert_null(spec);
    assert_int_equal(ts_count_dir(out3), 0);

    h2k_ova_free(ova);
    assert_unchanged(ova_path, sum);
    free(out3);
    free(link);
    free(elsewhere);
    free(out2);
    free(d);
    free(outparent);
    free(out);
    free(ova_path);
    h2k_ctx_free(ctx);
}

/* Unsafe members are refused at open, and nothing is written. */
static void
test_unsafe_members(void **state)
{
    fx *f = *state;
    h2k_ctx *ctx = ts_ctx();
    struct {
        const char *entry;
        const char *needle;
    } cases[] = {
        {"text:../evil=pwned", "\"../evil\""},
        {"text:ok/../../evil=pwned", "\"..\" component"},
        {"text:/abs/evil=pwned", "absolute path"},
        {"symlink:disk.vmdk=/etc/passwd", "symbolic links are not allowed"},
        {"hardlink:disk2.vmdk=vm.ovf", "hard links are not allowed"},
        {"fifo:pipe", "fifos are not allowed"},
        {"text:bad\nname=x", "control character"},
        {"text:vm.ovf=again", "duplicate member name"},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(cases); i++) {
        const char *entries[] = {"text:vm.ovf=<Envelope/>", cases[i].entry, NULL};
        char out[32];
        snprintf(out, sizeof(out), "unsafe%zu.ova", i);
        char *ova_path = py_tar(f, i == 1 ? "pax" : "ustar", out, entries);
        char sum[65];
        ts_sha256_file(ova_path, sum);
        h2k_ova *ova = NULL;
        ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), H2K_ERR_FORMAT);
        assert_null(ova);
        assert_msg(ctx, cases[i].needle);
        assert_msg(ctx, "header at offset 1024");
        assert_int_equal(h2k_ctx_last_error(ctx)->offset, 1024);
        assert_string_equal(h2k_ctx_last_error(ctx)->source_path, ova_path);
        assert_unchanged(ova_path, sum);
        free(ova_path);
    }
    /* nothing escaped into the parent folders */
    char *evil = ts_join(f->dir, "evil");
    assert_false(ts_exists(evil));
    free(evil);
    h2k_ctx_free(ctx);
}

/* Truncated, corrupt and compressed archives. */
static void
test_corrupt_archives(void **state)
{
    fx *f = *state;
    h2k_ctx *ctx = ts_ctx();
    uint8_t *d = pattern(10000, 6);
    free(put(f, "disk.vmdk", d, 10000));
    put_text(f, "vm.ovf", "<Envelope/>");
    const char *names[] = {"vm.ovf", "disk.vmdk", NULL};
    char *ova_path = gnu_tar(f, "ustar", "good.ova", names);
    size_t len = 0;
    char *good = ts_read_file(ova_path, &len);
    char *bad_path = ts_join(f->dir, "bad.ova");
    h2k_ova *ova = NULL;

    /* truncated inside the disk's data */
    ts_write_file(bad_path, good, 1024 + 512 + 5000);
    ts_assert_rc(ctx, h2k_ova_open(ctx, bad_path, &ova), H2K_ERR_FORMAT);
    assert_msg(ctx, "\"disk.vmdk\" (header at offset 1024)");
    assert_msg(ctx, "truncated");
    /* truncated right after the last member: no end marker */
    ts_write_file(bad_path, good, 1024 + 512 + 10240);
    ts_assert_rc(ctx, h2k_ova_open(ctx, bad_path, &ova), H2K_ERR_FORMAT);
    assert_msg(ctx, "end-of-archive");
    /* bad header checksum */
    char *c = malloc(len);
    memcpy(c, good, len);
    c[1024 + 2] ^= 0x01;
    ts_write_file(bad_path, c, len);
    ts_assert_rc(ctx, h2k_ova_open(ctx, bad_path, &ova), H2K_ERR_FORMAT);
    assert_msg(ctx, "checksum");
    assert_int_equal(h2k_ctx_last_error(ctx)->offset, 1024);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "chksum");
    free(c);
    /* not a tar at all */
    ts_write_file(bad_path, "hello world, this is not a tar", 30);
    ts_assert_rc(ctx, h2k_ova_open(ctx, bad_path, &ova), H2K_ERR_FORMAT);
    /* gzip-compressed as a whole */
    ts_require_program("gzip");
    const char *gz[] = {"gzip", "-k", "-n", ova_path, NULL};
    ts_run_ok(gz);
    char *gzp = hk_asprintf("%s.gz", ova_path);
    ts_assert_rc(ctx, h2k_ova_open(ctx, gzp, &ova), H2K_ERR_UNSUPPORTED);
    assert_msg(ctx, "gzip-compressed");
    /* missing file */
    ts_assert_rc(ctx, h2k_ova_open(ctx, "/nonexistent/x.ova", &ova), H2K_ERR_NOT_FOUND);
    ts_assert_rc(ctx, h2k_ova_open(ctx, f->dir, &ova), H2K_ERR_FORMAT);
    assert_null(ova);
    free(gzp);
    free(bad_path);
    free(good);
    free(ova_path);
    free(d);
    h2k_ctx_free(ctx);
}

/* A gzip member (OVF compression="gzip"): gunzipped on extraction; gzip bombs refused. */
static void
test_gzip_member(void **state)
{
    fx *f = *state;
    h2k_ctx *ctx = ts_ctx();
    ts_require_program("gzip");
    put_shared(f, "testdata/v2v-inputs/test-i-ova-gz.ovf", "vm.ovf");
    size_t dl = 2u << 20;
    uint8_t *d = pattern(dl, 7);
    char *dp = put(f, "disk1.vmdk", d, dl);
    const char *gz[] = {"gzip", "-n", dp, NULL};
    ts_run_ok(gz);
    const char *names[] = {"vm.ovf", "disk1.vmdk.gz", NULL};
    char *ova_path = gnu_tar(f, "ustar", "gz.ova", names);
    char sum[65];
    ts_sha256_file(ova_path, sum);
    h2k_ova *ova = NULL;
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);

    h2k_vm_spec *spec = NULL;
    ts_assert_rc(ctx, h2k_ova_read_spec(ctx, ova, &spec), 0);
    assert_int_equal(spec->n_disks, 1);
    assert_string_equal(spec->disks[0].path, "disk1.vmdk.gz");
    assert_null(spec->disks[0].container_path); /* compressed: not readable in place */
    h2k_vm_spec_free(spec);

    char *out = ts_join(f->dir, "out");
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out, NULL, &spec), 0);
    char *x = ts_join(out, "disk1.vmdk");
    assert_file(x, d, dl);
    assert_int_equal(ts_count_dir(out), 2);
    assert_int_equal(spec->n_disks, 1);
    assert_string_equal(spec->disks[0].path, x);
    assert_null(spec->disks[0].container_path);
    h2k_vm_spec_free(spec);
    free(x);

    /* decompress_gzip off: the member as is */
    char *out2 = ts_join(f->dir, "out2");
    h2k_ova_extract_options o = H2K_OVA_EXTRACT_OPTIONS_INIT;
    o.decompress_gzip = 0;
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out2, &o, NULL), 0);
    x = ts_join(out2, "disk1.vmdk.gz");
    assert_true(ts_exists(x));
    free(x);
    h2k_ova_free(ova);
    assert_unchanged(ova_path, sum);
    free(ova_path);

    /* a gzip bomb: 64 MiB of zeros, limit 8 MiB */
    size_t zl = 64u << 20;
    uint8_t *z = calloc(1, zl);
    free(dp);
    dp = put(f, "disk1.vmdk", z, zl);
    free(z);
    const char *gzf[] = {"gzip", "-n", "-f", dp, NULL};
    ts_run_ok(gzf);
    ova_path = gnu_tar(f, "ustar", "bomb.ova", names);
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
    char *out3 = ts_join(f->dir, "out3");
    o = (h2k_ova_extract_options)H2K_OVA_EXTRACT_OPTIONS_INIT;
    o.max_total_size = 8u << 20;
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out3, &o, NULL), H2K_ERR_VALIDATION);
    assert_msg(ctx, "max_total_size");
    assert_false(ts_exists(out3));
    h2k_ova_free(ova);
    free(ova_path);

    /* corrupt gzip data: FORMAT, and vm.ovf (written first) is removed again */
    char *gzpath = hk_asprintf("%s.gz", dp);
    size_t gl = 0;
    char *g = ts_read_file(gzpath, &gl);
    for (size_t i = 100; i < gl - 100 && i < 2000; i++)
        g[i] = (char)(g[i] ^ 0x5a);
    ts_write_file(gzpath, g, gl);
    free(g);
    ova_path = gnu_tar(f, "ustar", "corrupt.ova", names);
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
    mkdir(out3, 0755);
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out3, NULL, NULL), H2K_ERR_FORMAT);
    assert_msg(ctx, "disk1.vmdk.gz");
    assert_int_equal(ts_count_dir(out3), 0);
    h2k_ova_free(ova);
    free(gzpath);
    free(out3);
    free(out2);
    free(out);
    free(ova_path);
    free(dp);
    free(d);
    h2k_ctx_free(ctx);
}

/* A streamOptimized VMDK made by qemu-img, read in place at its member offset. */
static void
test_vmdk_in_place(void **state)
{
    fx *f = *state;
    h2k_ctx *ctx = ts_ctx();
    ts_require_program("qemu-img");
    size_t rl = 8u << 20;
    uint8_t *raw = calloc(1, rl);
    uint8_t *pat = pattern(1u << 20, 8);
    memcpy(raw + (2u << 20), pat, 1u << 20);
    free(pat);
    char *rawp = ts_join(f->dir, "orig.raw");
    ts_write_file(rawp, raw, rl);
    free(raw);
    char *vmdk = ts_join(f->src, "disk.vmdk");
    const char *conv[] = {"qemu-img", "convert", "-f", "raw",
                          "-O",       "vmdk",    "-o", "subformat=streamOptimized",
                          rawp,       vmdk,      NULL};
    ts_run_ok(conv);
    put_shared(f, "testdata/v2v-inputs/test-i-ova-checksums.ovf", "vm.ovf");
    const char *names[] = {"vm.ovf", "disk.vmdk", NULL};
    char *ova_path = gnu_tar(f, "ustar", "vmdk.ova", names);
    char sum[65];
    ts_sha256_file(ova_path, sum);
    h2k_ova *ova = NULL;
    ts_assert_rc(ctx, h2k_ova_open(ctx, ova_path, &ova), 0);
    const h2k_ova_member *m = h2k_ova_find(ova, "disk.vmdk");
    assert_non_null(m);
    size_t vl = 0;
    char *vdata = ts_read_file(vmdk, &vl);
    assert_member(ova_path, ova, "disk.vmdk", vdata, vl);
    free(vdata);

    /* qemu reads the image where it lies and sees the original data */
    char *json = hk_asprintf("json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"raw\","
                             "\"offset\":%llu,\"size\":%llu,\"file\":{\"driver\":\"file\","
                             "\"filename\":\"%s\"}}}",
                             (unsigned long long)m->offset, (unsigned long long)m->size, ova_path);
    const char *cmp[] = {"qemu-img", "compare", "-f", "raw", rawp, json, NULL};
    ts_run_ok(cmp);
    free(json);

    /* our prober, at the member's offset */
    h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
    po.offset = m->offset;
    po.size = m->size;
    h2k_disk_info *info = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, ova_path, &po, &info), 0);
    assert_int_equal(info->format, H2K_FORMAT_VMDK);
    assert_string_equal(info->subformat, "streamOptimized");
    assert_int_equal(info->virtual_size, rl);
    assert_int_equal(info->offset, m->offset);
    assert_int_equal(info->size, m->size);
    h2k_disk_info_free(info);

    /* the spec points at it too */
    h2k_vm_spec *spec = NULL;
    ts_assert_rc(ctx, h2k_ova_read_spec(ctx, ova, &spec), 0);
    assert_int_equal(spec->n_disks, 1);
    assert_int_equal(spec->disks[0].container_offset, m->offset);
    assert_int_equal(spec->disks[0].container_size, m->size);
    h2k_vm_spec_free(spec);

    /* and the extracted copy is byte-identical */
    char *out = ts_join(f->dir, "out");
    ts_assert_rc(ctx, h2k_ova_extract(ctx, ova, out, NULL, &spec), 0);
    char *x = ts_join(out, "disk.vmdk");
    char a[65], b[65];
    ts_sha256_file(x, a);
    ts_sha256_file(vmdk, b);
    assert_string_equal(a, b);
    assert_string_equal(spec->disks[0].path, x);
    h2k_vm_spec_free(spec);
    free(x);
    free(out);
    h2k_ova_free(ova);
    assert_unchanged(ova_path, sum);
    free(ova_path);
    free(vmdk);
    free(rawp);
    h2k_ctx_free(ctx);
}

/* ------------------------------------------------ migrations of an OVA */

/* The work folder watched while a migration runs: its peak allocated size and
 * its largest file, sampled at every progress report (any thread). */
typedef struct watch {
    pthread_mutex_t lock;
    const char *tmp;
    uint64_t peak, largest;
    unsigned samples;
} watch;

static __thread uint64_t walk_sum, walk_max; /* nftw has no user pointer */

static int
walk_fn(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F) {
        uint64_t a = (uint64_t)sb->st_blocks * 512u;
        walk_sum += a;
        if (a > walk_max)
            walk_max = a;
    }
    return 0;
}

static void
on_watch(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    watch *w = ud;
    (void)stage;
    (void)done;
    (void)total;
    walk_sum = walk_max = 0;
    nftw(w->tmp, walk_fn, 16, FTW_PHYS);
    pthread_mutex_lock(&w->lock);
    if (walk_sum > w->peak)
        w->peak = walk_sum;
    if (walk_max > w->largest)
        w->largest = walk_max;
    w->samples++;
    pthread_mutex_unlock(&w->lock);
}

/* Runs `local` on @ova (no repairs) into DIR/out with the work folder in
 * DIR/tmp watched; returns the run's code. */
static int
migrate_watched(const char *dir, const char *ova, watch *w, h2k_migration_result **res)
{
    char *tmp = ts_join(dir, "tmp");
    mkdir(tmp, 0700);
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    w->tmp = tmp;
    h2k_ctx *ctx = ts_ctx();
    assert_int_equal(h2k_ctx_set_tmpdir(ctx, tmp), 0);
    h2k_ctx_set_progress(ctx, on_watch, w);
    char *out = ts_join(dir, "out");
    const char *inputs[] = {ova};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.fixes = 0;
    o.compress = 0;
    int rc = h2k_orchestrator_run(ctx, &o, res);
    if (rc < 0)
        print_message("run: %s\n", h2k_ctx_last_error(ctx)->message);
    pthread_mutex_destroy(&w->lock);
    h2k_ctx_free(ctx);
    w->tmp = NULL;
    free(tmp);
    free(out);
    return rc;
}

/* An uncompressed member is read where it lies: the work folder never holds a
 * copy of it (only the overlay), and the output equals the original. */
static void
test_migrate_in_place(void **state)
{
    fx *f = *state;
    ts_require_program("qemu-img");
    ts_require_program("tar");
    enum {
        MIB = 24
    };
    char *ova = oh_make_ova(f->dir, "inplace", MIB, 31, OH_MF_GOOD);
    char sum[65];
    ts_sha256_file(ova, sum);
    watch w;
    h2k_migration_result *res = NULL;
    assert_int_equal(migrate_watched(f->dir, ova, &w, &res), 0);
    print_message("in place: %u samples, work folder peak %llu KiB, largest file %llu KiB "
                  "(member about %u MiB)\n",
                  w.samples, (unsigned long long)(w.peak >> 10),
                  (unsigned long long)(w.largest >> 10), MIB);
    assert_true(w.samples > 0);
    /* the overlay holds metadata only: far below a copy of the member */
    assert_true(w.peak < (uint64_t)MIB * 1024 * 1024 / 8);
    char *out = hk_asprintf("%s/out/inplace-disk1.qcow2", f->dir);
    oh_compare(f->dir, "inplace", out, "qcow2");
    assert_non_null(res);
    assert_int_equal(res->n_outputs, 1);
    assert_string_equal(res->outputs[0].source_format, "vmdk");
    h2k_migration_result_free(res);
    assert_unchanged(ova, sum);
    free(out);
    free(ova);
}

/* An OVA whose disk was exported with compression (ovf:compression="gzip"):
 * the member is inflated in one pass into the work folder; the manifest's
 * digest is over the stored (compressed) member, as VMware writes it. */
static char *
make_gzip_ova(fx *f, const char *name, unsigned mib, bool bad_digest)
{
    char *raw = hk_asprintf("%s/%s.raw", f->dir, name);
    oh_write_random(raw, mib, 41);
    char *vmdk = ts_join(f->src, "disk.vmdk");
    unlink(vmdk);
    char *gzp = ts_join(f->src, "disk.vmdk.gz");
    unlink(gzp);
    const char *conv[] = {"qemu-img", "convert", "-q",
                          "-f",       "raw",     "-O",
                          "vmdk",     "-o",      "subformat=streamOptimized",
                          raw,        vmdk,      NULL};
    ts_run_ok(conv);
    const char *gz[] = {"gzip", "-n", vmdk, NULL};
    ts_run_ok(gz);
    char *ovf = hk_asprintf(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
        "CIM_ResourceAllocationSettingData\">\n"
        "  <References><File ovf:href=\"disk.vmdk.gz\" ovf:id=\"f1\" "
        "ovf:compression=\"gzip\"/></References>\n"
        "  <DiskSection><Info>disks</Info>\n"
        "    <Disk ovf:capacity=\"%u\" ovf:capacityAllocationUnits=\"byte * 2^20\" "
        "ovf:diskId=\"d1\" ovf:fileRef=\"f1\" ovf:format=\"http://www.vmware.com/interfaces/"
        "specifications/vmdk.html#streamOptimized\"/>\n"
        "  </DiskSection>\n"
        "  <VirtualSystem ovf:id=\"%s\"><Info>A VM</Info><Name>%s</Name>\n"
        "    <VirtualHardwareSection><Info>hw</Info>\n"
        "      <Item><rasd:HostResource>ovf:/disk/d1</rasd:HostResource>"
        "<rasd:InstanceID>9</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType>"
        "</Item>\n"
        "    </VirtualHardwareSection>\n"
        "  </VirtualSystem>\n"
        "</Envelope>\n",
        mib, name, name);
    put_text(f, "vm.ovf", ovf);
    char *ovf_path = ts_join(f->src, "vm.ovf");
    char *d_ovf = oh_file_digest("SHA256", ovf_path);
    char *d_gz = oh_file_digest("SHA256", gzp);
    if (bad_digest)
        d_gz[0] = d_gz[0] == '0' ? '1' : '0';
    char *mf = hk_asprintf("SHA256(vm.ovf)= %s\nSHA256(disk.vmdk.gz)= %s\n", d_ovf, d_gz);
    put_text(f, "vm.mf", mf);
    char *ova_name = hk_asprintf("%s.ova", name);
    const char *names[] = {"vm.ovf", "disk.vmdk.gz", "vm.mf", NULL};
    char *ova = gnu_tar(f, "ustar", ova_name, names);
    free(ova_name);
    free(mf);
    free(d_ovf);
    free(d_gz);
    free(ovf_path);
    free(ovf);
    free(gzp);
    free(vmdk);
    free(raw);
    return ova;
}

static void
test_migrate_gzip(void **state)
{
    fx *f = *state;
    ts_require_program("qemu-img");
    ts_require_program("gzip");
    ts_require_program("tar");
    char *ova = make_gzip_ova(f, "gzvm", 8, false);
    char sum[65];
    ts_sha256_file(ova, sum);
    watch w;
    h2k_migration_result *res = NULL;
    assert_int_equal(migrate_watched(f->dir, ova, &w, &res), 0);
    print_message("gzip: work folder peak %llu KiB\n", (unsigned long long)(w.peak >> 10));
    char *out = hk_asprintf("%s/out/gzvm-disk1.qcow2", f->dir);
    oh_compare(f->dir, "gzvm", out, "qcow2");
    assert_non_null(res);
    assert_string_equal(res->outputs[0].source_format, "vmdk");
    h2k_migration_result_free(res);
    assert_unchanged(ova, sum);
    free(ova);
    free(out);

    /* a manifest whose digest of the stored member is wrong: refused, no output */
    char *d2 = ts_join(f->dir, "second");
    mkdir(d2, 0755);
    ova = make_gzip_ova(f, "gzbad", 2, true);
    res = NULL;
    int rc = migrate_watched(d2, ova, &w, &res);
    assert_int_equal(rc, H2K_ERR_VALIDATION);
    h2k_migration_result_free(res);
    char *xml = hk_asprintf("%s/out/gzbad.xml", d2);
    assert_false(ts_exists(xml));
    free(xml);
    free(d2);
    free(ova);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ustar_two_disks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subfolders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extract_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_archives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vmdk_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_gzip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
