/*
 * Files an input names (VMDK extents and parents, qcow2 backing files, VHD
 * parent locators, VMX/OVF disks) must lie in the folder of the file that
 * names it, or under a root the caller allowed: hk_resolve_reference() and the
 * probe that uses it.  Also: names that claim a format the content lacks, and
 * the permission bits of outputs.  No external program.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

#include "disk/format_claim.h"

static void
test_protocol_and_prefix(void **state)
{
    (void)state;
    assert_true(hk_reference_has_protocol("file:/etc/hostname"));
    assert_true(hk_reference_has_protocol("json:{\"file.filename\":\"/etc/shadow\"}"));
    assert_true(hk_reference_has_protocol("nbd://127.0.0.1/x"));
    assert_true(hk_reference_has_protocol("a:b"));
    assert_false(hk_reference_has_protocol("./a:b.vmdk"));
    assert_false(hk_reference_has_protocol("/srv/vm:1/disk.vmdk"));
    assert_false(hk_reference_has_protocol("disk-flat.vmdk"));
    assert_false(hk_reference_has_protocol(NULL));

    assert_true(hk_path_is_under("/a/b", "/a/b"));
    assert_true(hk_path_is_under("/a/b/c", "/a/b"));
    assert_true(hk_path_is_under("/a/b/c", "/a/b/"));
    assert_false(hk_path_is_under("/a/bc", "/a/b"));
    assert_false(hk_path_is_under("/a", "/a/b"));
    assert_true(hk_path_is_under("/x", "/"));
    assert_false(hk_path_is_under("a/b", "/a"));
}

/* A folder with vm/ (the referring file vm/disk.vmdk and an extent) and other/. */
typedef struct tree {
    char *root, *vm, *other, *desc, *inside, *outside;
} tree;

static void
tree_make(tree *t)
{
    t->root = ts_mkdtemp();
    t->vm = ts_join(t->root, "vm");
    t->other = ts_join(t->root, "other");
    assert_int_equal(mkdir(t->vm, 0700), 0);
    assert_int_equal(mkdir(t->other, 0700), 0);
    t->desc = ts_join(t->vm, "disk.vmdk");
    t->inside = ts_join(t->vm, "disk-flat.vmdk");
    t->outside = ts_join(t->other, "secret");
    ts_write_file(t->desc, "x", 1);
    ts_write_file(t->inside, "inside", 6);
    ts_write_file(t->outside, "secret", 6);
}

static void
tree_free(tree *t)
{
    ts_rmtree(t->root);
    free(t->root);
    free(t->vm);
    free(t->other);
    free(t->desc);
    free(t->inside);
    free(t->outside);
}

/* Resolves @ref from t->desc, expects @code and, on an error, a message naming
 * the reference, the referring file and (for escapes) how to allow it. */
static char *
expect_ref(h2k_ctx *ctx, const tree *t, const char *ref, int code, const char *needle)
{
    char *res = NULL;
    int rc = hk_resolve_reference(ctx, t->desc, ref, "extent", &res);
    if (rc != code)
        print_error("%s: rc %d, want %d: %s\n", ref, rc, code, h2k_ctx_last_error(ctx)->message);
    assert_int_equal(rc, code);
    if (code < 0 && code != H2K_ERR_NOT_FOUND) {
        const h2k_error *e = h2k_ctx_last_error(ctx);
        assert_null(res);
        assert_non_null(strstr(e->message, t->desc));
        assert_non_null(strstr(e->message, ref));
        assert_string_equal(e->field, "extent");
        if (needle && !strstr(e->message, needle))
            fail_msg("\"%s\" not in: %s", needle, e->message);
    }
    return res;
}

static void
test_resolve(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    h2k_ctx *ctx = ts_ctx();

    /* inside: relative, "./", absolute within the folder */
    char *r = expect_ref(ctx, &t, "disk-flat.vmdk", 0, NULL);
    assert_string_equal(r, t.inside);
    free(r);
    r = expect_ref(ctx, &t, "./sub/../disk-flat.vmdk", 0, NULL);
    assert_string_equal(r, t.inside);
    free(r);
    r = expect_ref(ctx, &t, t.inside, 0, NULL);
    assert_string_equal(r, t.inside);
    free(r);

    /* escapes */
    free(expect_ref(ctx, &t, "/etc/hostname", H2K_ERR_VALIDATION, "--allow-path DIR"));
    free(expect_ref(ctx, &t, "../other/secret", H2K_ERR_VALIDATION, "h2k_ctx_allow_path"));
    free(expect_ref(ctx, &t, t.outside, H2K_ERR_VALIDATION, t.other));
    char *link = ts_join(t.vm, "link-flat.vmdk");
    assert_int_equal(symlink(t.outside, link), 0);
    free(expect_ref(ctx, &t, "link-flat.vmdk", H2K_ERR_VALIDATION, "symbolic link"));
    char *dlink = ts_join(t.vm, "d");
    assert_int_equal(symlink(t.other, dlink), 0);
    free(expect_ref(ctx, &t, "d/secret", H2K_ERR_VALIDATION, "symbolic link"));
    /* a missing file behind an escape is refused as an escape, not "missing" */
    free(expect_ref(ctx, &t, "../other/none", H2K_ERR_VALIDATION, "outside"));
    free(expect_ref(ctx, &t, "/nonexistent-dir/x", H2K_ERR_VALIDATION, "outside"));

    /* protocols and JSON */
    free(expect_ref(ctx, &t, "file:/etc/hostname", H2K_ERR_VALIDATION, "protocol"));
    free(expect_ref(ctx, &t, "json:{\"driver\":\"raw\"}", H2K_ERR_VALIDATION, "protocol"));
    free(expect_ref(ctx, &t, "", H2K_ERR_VALIDATION, NULL));

    /* devices, FIFOs and folders, even inside (a FIFO must not block) */
    char *fifo = ts_join(t.vm, "fifo-flat.vmdk");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    free(expect_ref(ctx, &t, "fifo-flat.vmdk", H2K_ERR_FORMAT, "a FIFO"));
    char *zero = ts_join(t.vm, "zero-flat.vmdk");
    assert_int_equal(symlink("/dev/zero", zero), 0);
    free(expect_ref(ctx, &t, "zero-flat.vmdk", H2K_ERR_VALIDATION, "/dev/zero"));
    free(expect_ref(ctx, &t, "/dev/zero", H2K_ERR_VALIDATION, "outside"));
    free(expect_ref(ctx, &t, ".", H2K_ERR_FORMAT, "a folder"));

    /* missing but inside: NOT_FOUND with the path, for the caller's message */
    r = expect_ref(ctx, &t, "gone-flat.vmdk", H2K_ERR_NOT_FOUND, NULL);
    char *gone = ts_join(t.vm, "gone-flat.vmdk");
    assert_string_equal(r, gone);
    free(r);
    free(gone);

    /* an allowed root admits what lies under it, on component boundaries */
    h2k_ctx *allowed = ts_ctx();
    assert_int_equal(h2k_ctx_allow_path(allowed, t.other), 0);
    r = expect_ref(allowed, &t, "../other/secret", 0, NULL);
    assert_string_equal(r, t.outside);
    free(r);
    r = expect_ref(allowed, &t, "link-flat.vmdk", 0, NULL);
    assert_string_equal(r, t.outside);
    free(r);
    free(expect_ref(allowed, &t, "/etc/hostname", H2K_ERR_VALIDATION, NULL));
    char *sib = ts_join(t.root, "other2");
    assert_int_equal(mkdir(sib, 0700), 0);
    char *sibf = ts_join(sib, "f");
    ts_write_file(sibf, "f", 1);
    free(expect_ref(allowed, &t, "../other2/f", H2K_ERR_VALIDATION, NULL));
    /* a character device stays refused even under an allowed root */
    assert_int_equal(h2k_ctx_allow_path(allowed, "/dev"), 0);
    free(expect_ref(allowed, &t, "/dev/zero", H2K_ERR_FORMAT, "character device"));
    /* copied to a worker's context */
    h2k_ctx *worker = ts_ctx();
    assert_int_equal(hk_ctx_copy_allowed_roots(allowed, worker), 0);
    r = expect_ref(worker, &t, "../other/secret", 0, NULL);
    free(r);

    h2k_ctx_free(worker);
    h2k_ctx_free(allowed);
    h2k_ctx_free(ctx);
    free(sib);
    free(sibf);
    free(fifo);
    free(zero);
    free(link);
    free(dlink);
    tree_free(&t);
}

/* ---------------------------------------------------- through the probe */

static void
write_desc(const char *path, const char *extent_line, const char *parent)
{
    char *text = hk_asprintf("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=%s\n"
                             "createType=\"%s\"\n%s%s%s%s\n",
                             parent ? "12345678" : "ffffffff", parent ? "vmfs" : "monolithicFlat",
                             parent ? "parentFileNameHint=\"" : "", parent ? parent : "",
                             parent ? "\"\n" : "", extent_line);
    ts_write_file(path, text, strlen(text));
    free(text);
}

static void
expect_probe(h2k_ctx *ctx, const char *path, int code, const char *needle)
{
    h2k_disk_info *info = NULL;
    int rc = h2k_disk_probe(ctx, path, NULL, &info);
    if (rc != code)
        print_error("%s: rc %d, want %d: %s\n", path, rc, code, h2k_ctx_last_error(ctx)->message);
    assert_int_equal(rc, code);
    assert_null(info);
    const char *msg = h2k_ctx_last_error(ctx)->message;
    assert_non_null(strstr(msg, path));
    if (needle && !strstr(msg, needle))
        fail_msg("\"%s\" not in: %s", needle, msg);
}

static void
test_probe_vmdk_escapes(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    h2k_ctx *ctx = ts_ctx();
    char *raw = ts_join(t.vm, "data.bin");
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    ts_write_file(raw, buf, 1 << 20);
    ts_write_file(t.outside, buf, 1 << 20);

    /* the case of the report: an extent naming the host's shadow file */
    write_desc(t.desc, "RW 1 FLAT \"/etc/shadow\" 0", NULL);
    expect_probe(ctx, t.desc, H2K_ERR_VALIDATION, "\"/etc/shadow\"");
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "--allow-path"));
    write_desc(t.desc, "RW 2048 FLAT \"../other/secret\" 0", NULL);
    expect_probe(ctx, t.desc, H2K_ERR_VALIDATION, "../other/secret");
    write_desc(t.desc, "RW 2048 FLAT \"/dev/zero\" 0", NULL);
    expect_probe(ctx, t.desc, H2K_ERR_VALIDATION, "/dev/zero");
    char *fifo = ts_join(t.vm, "pipe");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    write_desc(t.desc, "RW 2048 FLAT \"pipe\" 0", NULL);
    expect_probe(ctx, t.desc, H2K_ERR_FORMAT, "FIFO");
    char *link = ts_join(t.vm, "link.bin");
    assert_int_equal(symlink(t.outside, link), 0);
    write_desc(t.desc, "RW 2048 FLAT \"link.bin\" 0", NULL);
    expect_probe(ctx, t.desc, H2K_ERR_VALIDATION, "symbolic link");

    /* a parent outside the folder */
    write_desc(t.desc, "RW 2048 FLAT \"data.bin\" 0", "../other/secret");
    expect_probe(ctx, t.desc, H2K_ERR_VALIDATION, "parentFileNameHint");

    /* the same extent accepted once its folder is allowed */
    write_desc(t.desc, "RW 2048 FLAT \"link.bin\" 0", NULL);
    h2k_ctx *allowed = ts_ctx();
    assert_int_equal(h2k_ctx_allow_path(allowed, t.other), 0);
    h2k_disk_info *info = NULL;
    ts_assert_rc(allowed, h2k_disk_probe(allowed, t.desc, NULL, &info), 0);
    assert_string_equal(info->layers[0].extents[0].path, t.outside);
    h2k_disk_info_free(info);
    write_desc(t.desc, "RW 2048 FLAT \"data.bin\" 0", NULL);
    ts_assert_rc(ctx, h2k_disk_probe(ctx, t.desc, NULL, &info), 0);
    h2k_disk_info_free(info);

    h2k_ctx_free(allowed);
    h2k_ctx_free(ctx);
    free(fifo);
    free(link);
    free(raw);
    free(buf);
    tree_free(&t);
}

/* ------------------------------------------------------- format claims */

static void
test_format_claims(void **state)
{
    (void)state;
    assert_int_equal(hk_format_claimed_by_name("/x/disk.VMDK"), H2K_FORMAT_VMDK);
    assert_int_equal(hk_format_claimed_by_name("a.vhd"), H2K_FORMAT_VHD);
    assert_int_equal(hk_format_claimed_by_name("a.avhdx"), H2K_FORMAT_VHDX);
    assert_int_equal(hk_format_claimed_by_name("a.qcow2"), H2K_FORMAT_QCOW2);
    assert_int_equal(hk_format_claimed_by_name("a.img"), H2K_FORMAT_UNKNOWN);
    assert_int_equal(hk_format_claimed_by_name("a.raw"), H2K_FORMAT_UNKNOWN);
    assert_int_equal(hk_format_claimed_by_name(NULL), H2K_FORMAT_UNKNOWN);

    char *dir = ts_mkdtemp();
    h2k_ctx *ctx = ts_ctx();
    uint8_t garbage[4096];
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (uint8_t)(i * 13 + 7);
    garbage[0] = 0x01; /* not text: no descriptor */
    static const char *names[] = {"disk.vmdk", "disk.vhd", "disk.vhdx", "disk.qcow2"};
    static const char *fmts[] = {"vmdk", "vhd", "vhdx", "qcow2"};
    for (size_t i = 0; i < HK_ARRAY_LEN(names); i++) {
        char *p = ts_join(dir, names[i]);
        ts_write_file(p, garbage, sizeof(garbage));
        h2k_disk_info *info = NULL;
        ts_assert_rc(ctx, h2k_disk_probe(ctx, p, NULL, &info), H2K_ERR_FORMAT);
        const h2k_error *e = h2k_ctx_last_error(ctx);
        assert_string_equal(e->field, "signature");
        assert_non_null(strstr(e->message, p));
        assert_non_null(strstr(e->message, fmts[i]));
        assert_non_null(strstr(e->message, "first bytes 01"));
        assert_non_null(strstr(e->message, "--input-format raw"));
        /* raw when the caller says so */
        h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
        po.format = H2K_FORMAT_RAW;
        ts_assert_rc(ctx, h2k_disk_probe(ctx, p, &po, &info), 0);
        assert_int_equal(info->format, H2K_FORMAT_RAW);
        h2k_disk_info_free(info);
        free(p);
    }
    /* a sparse VMDK whose magic is damaged */
    uint8_t sparse[4096] = {0};
    memcpy(sparse, "KDMW", 4);
    char *p = ts_join(dir, "broken.vmdk");
    ts_write_file(p, sparse, sizeof(sparse));
    h2k_disk_info *info = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, p, NULL, &info), H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "4b 44 4d 57"));
    free(p);
    /* zeros say so; a name without a claim stays raw */
    memset(sparse, 0, sizeof(sparse));
    p = ts_join(dir, "zero.vhd");
    ts_write_file(p, sparse, sizeof(sparse));
    ts_assert_rc(ctx, h2k_disk_probe(ctx, p, NULL, &info), H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "only zero bytes"));
    free(p);
    p = ts_join(dir, "disk.img");
    ts_write_file(p, garbage, sizeof(garbage));
    ts_assert_rc(ctx, h2k_disk_probe(ctx, p, NULL, &info), 0);
    assert_int_equal(info->format, H2K_FORMAT_RAW);
    h2k_disk_info_free(info);
    free(p);
    /* the check itself */
    assert_int_equal(hk_format_claim_check(ctx, "x", H2K_FORMAT_VMDK, "the OVF", H2K_FORMAT_VMDK,
                                           NULL, 0),
                     0);
    assert_int_equal(hk_format_claim_check(ctx, "x", H2K_FORMAT_UNKNOWN, "its name", H2K_FORMAT_RAW,
                                           NULL, 0),
                     0);
    assert_int_equal(hk_format_claim_check(ctx, "x", H2K_FORMAT_VMDK, "the OVF's disk format",
                                           H2K_FORMAT_RAW, NULL, 0),
                     H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "the OVF's disk format says vmdk"));
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(dir);
}

/* -------------------------------------------------------- output modes */

static void
test_output_mode(void **state)
{
    (void)state;
    struct stat st;
    memset(&st, 0, sizeof(st));
    assert_int_equal(hk_output_mode(0, NULL), 0600);
    assert_int_equal(hk_output_mode(0640, NULL), 0640);
    assert_int_equal(hk_output_mode(0755, NULL), 0644); /* never executable */
    assert_int_equal(hk_output_mode(0400, NULL), 0600); /* we write it */
    st.st_mode = S_IFREG | 0644;
    assert_int_equal(hk_output_mode(0, &st), 0600);
    assert_int_equal(hk_output_mode(0664, &st), 0644);
    st.st_mode = S_IFREG | 0600;
    assert_int_equal(hk_output_mode(0644, &st), 0600); /* never wider than the source */
    st.st_mode = S_IFREG | 0440;
    assert_int_equal(hk_output_mode(0666, &st), 0640);

    /* the umask plays no part */
    char *dir = ts_mkdtemp();
    char *src = ts_join(dir, "src");
    char *out = ts_join(dir, "out");
    ts_write_file(src, "s", 1);
    assert_int_equal(chmod(src, 0640), 0);
    ts_write_file(out, "o", 1);
    mode_t old = umask(0);
    assert_int_equal(chmod(out, 0666), 0);
    h2k_ctx *ctx = ts_ctx();
    ts_assert_rc(ctx, hk_output_mode_path(ctx, out, 0644, src), 0);
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    ts_assert_rc(ctx, hk_output_mode_path(ctx, out, 0, NULL), 0);
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    umask(old);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(src);
    free(out);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol_and_prefix), cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_probe_vmdk_escapes),  cmocka_unit_test(test_format_claims),
        cmocka_unit_test(test_output_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
