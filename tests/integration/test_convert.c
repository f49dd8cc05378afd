/*
 * h2k_disk_convert / h2k_disk_flatten / the disk processor against real
 * qemu-img: every source format, snapshot chains, compression, refusals,
 * broken sources, cancellation, timeouts and images inside a container.
 * Images are made with qemu-img / qemu-io in a temporary folder.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "testsupport.h"

#define MiB (UINT64_C(1) << 20)

typedef ts_fixture fixture;

static int
setup(void **state)
{
    ts_require_program("qemu-img");
    ts_require_program("qemu-io");
    return ts_fixture_setup(state);
}

/* Runs a program given as a NULL-terminated list; the test fails unless it exits 0. */
static void
run_ok(const char *first, ...)
{
    const char *argv[40];
    size_t n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < HK_ARRAY_LEN(argv) - 1; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    ts_run_ok(argv);
}

static char *
path_in(const fixture *f, const char *name)
{
    return ts_join(f->dir, name);
}

/* Number of "*.part-*" files in @dir. */
static int
count_parts(const char *dir)
{
    return ts_count_dir_matching(dir, ".part-");
}

/* `qemu-img info --output=json` of @path, parsed (caller puts). */
static json_object *
qemu_info(const char *path)
{
    const char *argv[] = {"qemu-img", "info", "--output=json", path, NULL};
    char *out = NULL;
    assert_int_equal(ts_run(argv, &out), 0);
    json_object *o = json_tokener_parse(out);
    if (!o)
        fail_msg("qemu-img info output is not JSON: %s", out);
    free(out);
    return o;
}

static const char *
jstr(json_object *o, const char *k1, const char *k2, const char *k3)
{
    const char *keys[] = {k1, k2, k3};
    for (size_t i = 0; i < 3 && keys[i]; i++)
        if (!json_object_object_get_ex(o, keys[i], &o))
            return NULL;
    return json_object_get_string(o);
}

/* The output has format @fmt and no backing file. */
static void
assert_standalone(const char *path, const char *fmt)
{
    json_object *o = qemu_info(path);
    assert_string_equal(jstr(o, "format", NULL, NULL), fmt);
    assert_null(jstr(o, "backing-filename", NULL, NULL));
    assert_null(jstr(o, "full-backing-filename", NULL, NULL));
    json_object_put(o);
}

/* A raw image of @size bytes with patterned data at a few places. */
static void
make_raw(const char *path, uint64_t size)
{
    char sz[32];
    snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
    run_ok("qemu-img", "create", "-q", "-f", "raw", path, sz, NULL);
    run_ok("qemu-io", "-f", "raw", "-c", "write -q -P 0x11 0 1M", "-c", "write -q -P 0x5a 3M 512k",
           "-c", "write -q -P 0xc3 7M 64k", path, NULL);
}

/* Converts @src into @dst, asserting success; returns the result (caller frees). */
static h2k_convert_result *
convert_ok(fixture *f, const char *src, const char *dst, const h2k_convert_options *o)
{
    h2k_convert_result *res = NULL;
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, src, dst, o, &res), 0);
    assert_non_null(res);
    return res;
}

/* ------------------------------------------------------------- basic */

static void
test_raw_to_qcow2(void **state)
{
    fixture *f = *state;
    char *src = path_in(f, "disk.img"), *dst = path_in(f, "disk.qcow2");
    make_raw(src, 16 * MiB);
    char before[65], after[65];
    ts_sha256_file(src, before);

    h2k_convert_result *res = convert_ok(f, src, dst, NULL);
    assert_string_equal(res->source_path, src);
    assert_string_equal(res->output_path, dst);
    assert_int_equal(res->source_format, H2K_FORMAT_RAW);
    assert_int_equal(res->output_format, H2K_FORMAT_QCOW2);
    assert_int_equal(res->virtual_size, 16 * MiB);
    assert_int_equal(res->chain_length, 1);
    struct stat st;
    assert_int_equal(stat(dst, &st), 0);
    assert_int_equal(res->output_size, (uint64_t)st.st_blocks * 512);
    assert_true(res->output_size > 1 * MiB && res->output_size < 8 * MiB);
    assert_true(res->duration_seconds > 0 && res->duration_seconds < 60);
    h2k_convert_result_free(res);

    ts_sha256_file(src, after);
    assert_string_equal(before, after);
    ts_qemu_img_compare(src, "raw", dst, "qcow2");
    json_object *o = qemu_info(dst);
    assert_string_equal(jstr(o, "format", NULL, NULL), "qcow2");
    assert_string_equal(jstr(o, "format-specific", "data", "compat"), "1.1");
    assert_string_equal(jstr(o, "format-specific", "data", "compression-type"), "zlib");
    json_object_put(o);
    assert_int_equal(ts_count_dir(f->dir), 2);
    assert_int_equal(count_parts(f->dir), 0);
    free(src);
    free(dst);
}

static void
test_qcow2_to_raw(void **state)
{
    fixture *f = *state;
    char *raw = path_in(f, "seed.img"), *src = path_in(f, "disk.qcow2"),
         *dst = path_in(f, "out.img");
    make_raw(raw, 16 * MiB);
    run_ok("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, src, NULL);
    char before[65], after[65];
    ts_sha256_file(src, before);
    h2k_convert_options o = H2K_CONVERT_OPTIONS_INIT;
    o.output_format = H2K_FORMAT_RAW;
    h2k_convert_result *res = convert_ok(f, src, dst, &o);
    assert_int_equal(res->source_format, H2K_FORMAT_QCOW2);
    assert_int_equal(res->output_format, H2K_FORMAT_RAW);
    assert_int_equal(res->virtual_size, 16 * MiB);
    h2k_convert_result_free(res);
    ts_sha256_file(src, after);
    assert_string_equal(before, after);
    ts_qemu_img_compare(src, "qcow2", dst, "raw");
    ts_qemu_img_compare(raw, "raw", dst, "raw");
    assert_standalone(dst, "raw");
    struct stat st;
    assert_int_equal(stat(dst, &st), 0);
    assert_int_equal(st.st_size, 16 * MiB);
    free(raw);
    free(src);
    free(dst);
}

/* ------------------------------------------------------------- VMDK */

static void
vmdk_case(fixture *f, const char *subformat, const char *size)
{
    char *raw = path_in(f, "seed.img"), *src = path_in(f, "disk.vmdk"),
         *dst = path_in(f, "disk.qcow2");
    char opt[64];
    snprintf(opt, sizeof(opt), "subformat=%s", subformat);
    run_ok("qemu-img", "create", "-q", "-f", "raw", raw, size, NULL);
    run_ok("qemu-io", "-f", "raw", "-c", "write -q -P 0x11 0 1M", "-c", "write -q -P 0x5a 3M 512k",
           "-c", "write -q -P 0x77 2047M 2M", raw, NULL);
    run_ok("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", opt, raw, src, NULL);
    unlink(raw);
    int files_before = ts_count_dir(f->dir);
    char before[65], after[65];
    ts_sha256_file(src, before);

    h2k_convert_result *res = convert_ok(f, src, dst, NULL);
    assert_int_equal(res->source_format, H2K_FORMAT_VMDK);
    assert_int_equal(res->chain_length, 1);
    h2k_convert_result_free(res);

    ts_sha256_file(src, after);
    assert_string_equal(before, after);
    ts_qemu_img_compare(src, "vmdk", dst, "qcow2");
    assert_standalone(dst, "qcow2");
    assert_int_equal(ts_count_dir(f->dir), files_before + 1);
    free(raw);
    free(src);
    free(dst);
}

static void
test_vmdk_monolithic_sparse(void **state)
{
    vmdk_case(*state, "monolithicSparse", "2100M");
}

static void
test_vmdk_stream_optimized(void **state)
{
    vmdk_case(*state, "streamOptimized", "2100M");
}

static void
test_vmdk_two_gb_flat(void **state)
{
    fixture *f = *state;
    vmdk_case(f, "twoGbMaxExtentFlat", "2100M");
    /* two extents: flatten accepts a multi-extent VMDK */
    char *src = path_in(f, "disk.vmdk"), *dst = path_in(f, "flat.qcow2");
    h2k_convert_result *res = NULL;
    ts_assert_rc(f->ctx, h2k_disk_flatten(f->ctx, src, dst, NULL, &res), 0);
    assert_int_equal(res->chain_length, 1);
    assert_int_equal(res->virtual_size, 2100 * MiB);
    h2k_convert_result_free(res);
    ts_qemu_img_compare(src, "vmdk", dst, "qcow2");
    free(src);
    free(dst);
}

/* ------------------------------------------------------------ chains */

/* base <- mid <- top, each layer writing an overlapping pattern. */
static void
make_chain(fixture *f, const char *fmt, const char *ext, char **top_out, char **base_out)
{
    char b[32], m[32], t[32];
    snprintf(b, sizeof(b), "base.%s", ext);
    snprintf(m, sizeof(m), "mid.%s", ext);
    snprintf(t, sizeof(t), "top.%s", ext);
    char *base = path_in(f, b), *mid = path_in(f, m), *top = path_in(f, t);
    ts_qemu_img_create(fmt, NULL, NULL, NULL, base, "64M");
    run_ok("qemu-io", "-f", fmt, "-c", "write -q -P 0x01 0 4M", "-c", "write -q -P 0x0b 40M 1M",
           base, NULL);
    /* backing paths relative to the layer, as VMware and qemu record them */
    ts_qemu_img_create(fmt, NULL, b, fmt, mid, NULL);
    run_ok("qemu-io", "-f", fmt, "-c", "write -q -P 0x02 2M 4M", mid, NULL);
    ts_qemu_img_create(fmt, NULL, m, fmt, top, NULL);
    run_ok("qemu-io", "-f", fmt, "-c", "write -q -P 0x03 5M 1M", "-c", "write -q -z 40M 512k", top,
           NULL);
    free(mid);
    *top_out = top;
    *base_out = base;
}

static void
chain_case(fixture *f, const char *fmt, h2k_disk_format hfmt)
{
    char *top = NULL, *base = NULL, *dst = path_in(f, "flat.qcow2");
    make_chain(f, fmt, fmt, &top, &base);
    char before[65], after[65];
    ts_sha256_file(top, before);
    h2k_convert_result *res = NULL;
    ts_assert_rc(f->ctx, h2k_disk_flatten(f->ctx, top, dst, NULL, &res), 0);
    assert_int_equal(res->chain_length, 3);
    assert_int_equal(res->source_format, hfmt);
    assert_int_equal(res->virtual_size, 64 * MiB);
    h2k_convert_result_free(res);
    ts_sha256_file(top, after);
    assert_string_equal(before, after);
    assert_standalone(dst, "qcow2");
    ts_qemu_img_compare(top, fmt, dst, "qcow2");

    /* the output may not be any layer of the chain */
    h2k_convert_options o = H2K_CONVERT_OPTIONS_INIT;
    o.overwrite = 1;
    char base_sum[65], base_sum2[65];
    ts_sha256_file(base, base_sum);
    ts_assert_rc(f->ctx, h2k_disk_flatten(f->ctx, top, base, &o, NULL), H2K_ERR_VALIDATION);
    ts_sha256_file(base, base_sum2);
    assert_string_equal(base_sum, base_sum2);
    assert_int_equal(count_parts(f->dir), 0);

    /* the base alone has nothing to flatten */
    char *dst2 = path_in(f, "base-flat.qcow2");
    ts_assert_rc(f->ctx, h2k_disk_flatten(f->ctx, base, dst2, NULL, NULL), H2K_ERR_VALIDATION);
    assert_non_null(strstr(h2k_ctx_last_error(f->ctx)->message, "nothing to flatten"));
    assert_false(ts_exists(dst2));
    free(dst2);
    free(top);
    free(base);
    free(dst);
}

static void
test_qcow2_chain_flatten(void **state)
{
    chain_case(*state, "qcow2", H2K_FORMAT_QCOW2);
}

static void
test_vmdk_chain_flatten(void **state)
{
    chain_case(*state, "vmdk", H2K_FORMAT_VMDK);
}

/* ------------------------------------------------------------- VHD */

static void
test_vhd_dynamic(void **state)
{
    fixture *f = *state;
    char *raw = path_in(f, "seed.img"), *src = path_in(f, "disk.vhd"),
         *dst = path_in(f, "disk.qcow2");
    make_raw(raw, 32 * MiB);
    run_ok("qemu-img", "convert", "-q", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic", raw,
           src, NULL);
    char before[65], after[65];
    ts_sha256_file(src, before);
    h2k_convert_result *res = convert_ok(f, src, dst, NULL);
    assert_int_equal(res->source_format, H2K_FORMAT_VHD);
    h2k_convert_result_free(res);
    ts_sha256_file(src, after);
    assert_string_equal(before, after);
    ts_qemu_img_compare(src, "vpc", dst, "qcow2");
    assert_standalone(dst, "qcow2");
    free(raw);
    free(src);
    free(dst);
}

/* ------------------------------------------------------- compression */

static void
test_compressed_zstd(void **state)
{
    fixture *f = *state;
    char *src = path_in(f, "disk.img"), *dst = path_in(f, "disk.qcow2"),
         *plain = path_in(f, "plain.qcow2");
    make_raw(src, 16 * MiB);
    h2k_convert_options o = H2K_CONVERT_OPTIONS_INIT;
    h2k_convert_result *pr = convert_ok(f, src, plain, &o);
    o.compress = 1;
    h2k_convert_result *res = convert_ok(f, src, dst, &o);
    /* patterned data compresses far below the plain output */
    assert_true(res->output_size < pr->output_size / 4);
    h2k_convert_result_free(res);
    h2k_convert_result_free(pr);
    json_object *j = qemu_info(dst);
    assert_string_equal(jstr(j, "format-specific", "data", "compression-type"), "zstd");
    json_object_put(j);
    ts_qemu_img_compare(src, "raw", dst, "qcow2");

    /* zlib on request */
    char *zl = path_in(f, "zlib.qcow2");
    o.compression_type = "zlib";
    h2k_convert_result_free(convert_ok(f, src, zl, &o));
    j = qemu_info(zl);
    assert_string_equal(jstr(j, "format-specific", "data", "compression-type"), "zlib");
    json_object_put(j);
    ts_qemu_img_compare(src, "raw", zl, "qcow2");
    free(zl);
    free(src);
    free(dst);
    free(plain);
}

/* ------------------------------------------------- output refusals */

static void
test_existing_output(void **state)
{
    fixture *f = *state;
    char *src = path_in(f, "disk.img"), *dst = path_in(f, "disk.qcow2");
    make_raw(src, 8 * MiB);
    ts_write_file(dst, "precious", 8);
    char before[65], after[65];
    ts_sha256_file(dst, before);
    h2k_convert_result *res = (h2k_convert_result *)&res;
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, src, dst, NULL, &res), H2K_ERR_EXISTS);
    assert_null(res);
    const h2k_error *e = h2k_ctx_last_error(f->ctx);
    assert_string_equal(e->output_path, dst);
    assert_string_equal(e->source_path, src);
    ts_sha256_file(dst, after);
    assert_string_equal(before, after);
    assert_int_equal(ts_count_dir(f->dir), 2);

    /* a dangling symlink counts as existing too */
    char *link = path_in(f, "link.qcow2");
    assert_int_equal(symlink("nowhere", link), 0);
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, src, link, NULL, NULL), H2K_ERR_EXISTS);
    assert_int_equal(ts_count_dir(f->dir), 3);

    h2k_convert_options o = H2K_CONVERT_OPTIONS_INIT;
    o.overwrite = 1;
    h2k_convert_result_free(convert_ok(f, src, dst, &o));
    ts_qemu_img_compare(src, "raw", dst, "qcow2");
    assert_int_equal(ts_count_dir(f->dir), 3);
    assert_int_equal(count_parts(f->dir), 0);
    free(link);
    free(src);
    free(dst);
}

static void
test_output_is_source(void **state)
{
    fixture *f = *state;
    char *src = path_in(f, "disk.img");
    make_raw(src, 8 * MiB);
    char before[65], after[65];
    ts_sha256_file(src, before);
    h2k_convert_options o = H2K_CONVERT_OPTIONS_INIT;
    o.overwrite = 1;
    o.output_format = H2K_FORMAT_RAW;
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, src, src, &o, NULL), H2K_ERR_VALIDATION);
    /* through another spelling, a symlink and a hard link */
    char *other = hk_asprintf("%s/./sub/../disk.img", f->dir);
    char *sub = path_in(f, "sub");
    assert_int_equal(mkdir(sub, 0755), 0);
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, src, other, &o, NULL), H2K_ERR_VALIDATION);
    char *sl = path_in(f, "sym.img"), *hl = path_in(f, "hard.img");
    assert_int_equal(symlink(src, sl), 0);
    assert_int_equal(link(src, hl), 0);
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, src, sl, &o, NULL), H2K_ERR_VALIDATION);
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, sl, hl, &o, NULL), H2K_ERR_VALIDATION);
    assert_string_equal(h2k_ctx_last_error(f->ctx)->output_path, hl);
    ts_sha256_file(src, after);
    assert_string_equal(before, after);
    assert_int_equal(ts_count_dir(f->dir), 4);
    /* a directory is refused */
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, src, sub, &o, NULL), H2K_ERR_VALIDATION);
    free(other);
    free(sub);
    free(sl);
    free(hl);
    free(src);
}

/* --------------------------------------------------- broken sources */

static void
test_broken_sources(void **state)
{
    fixture *f = *state;
    /* a truncated monolithicSparse VMDK */
    char *raw = path_in(f, "seed.img"), *vmdk = path_in(f, "cut.vmdk");
    make_raw(raw, 16 * MiB);
    run_ok("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", raw, vmdk, NULL);
    struct stat st;
    assert_int_equal(stat(vmdk, &st), 0);
    assert_true(st.st_size > 20000);
    assert_int_equal(truncate(vmdk, 10000), 0); /* cuts the descriptor and grain tables */
    /* a qcow2 whose backing file is gone */
    char *base = path_in(f, "base.qcow2"), *top = path_in(f, "top.qcow2");
    ts_qemu_img_create("qcow2", NULL, NULL, NULL, base, "16M");
    ts_qemu_img_create("qcow2", NULL, "base.qcow2", "qcow2", top, NULL);
    unlink(base);
    /* a VMDK descriptor whose extent is missing */
    char *desc = path_in(f, "noextent.vmdk");
    const char *text = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                       "createType=\"monolithicFlat\"\nRW 32768 FLAT \"noextent-flat.vmdk\" 0\n"
                       "\nddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"32\"\n"
                       "ddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\n"
                       "ddb.adapterType = \"ide\"\n";
    ts_write_file(desc, text, strlen(text));

    const char *srcs[] = {vmdk, top, desc};
    for (size_t i = 0; i < HK_ARRAY_LEN(srcs); i++) {
        int before = ts_count_dir(f->dir);
        char *dst = path_in(f, "out.qcow2");
        int rc = h2k_disk_convert(f->ctx, srcs[i], dst, NULL, NULL);
        if (rc != H2K_ERR_FORMAT)
            fail_msg("%s: rc %d (%s), want FORMAT: %s", srcs[i], rc, h2k_code_name(rc),
                     h2k_ctx_last_error(f->ctx)->message);
        const h2k_error *e = h2k_ctx_last_error(f->ctx);
        assert_non_null(e->source_path);
        assert_int_equal(ts_count_dir(f->dir), before);
        assert_false(ts_exists(dst));
        free(dst);
    }
    free(raw);
    free(vmdk);
    free(base);
    free(top);
    free(desc);
}

/* ------------------------------------------ cancel, timeout, failure */

typedef struct cancel_state {
    h2k_ctx *ctx;
    int events;
    uint64_t first_done;
} cancel_state;

static void
cancel_on_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    cancel_state *cs = ud;
    assert_string_equal(stage, "convert");
    assert_int_equal(total, 1000);
    if (cs->events++ == 0) {
        cs->first_done = done;
        h2k_ctx_cancel(cs->ctx);
    }
}

static void
test_cancel_mid_convert(void **state)
{
    fixture *f = *state;
    char *src = path_in(f, "big.img"), *dst = path_in(f, "big.qcow2");
    /* 512 MiB of random-looking data (a 1 MiB random pattern repeated) */
    ts_make_random_raw(src, "512M");
    int before = ts_count_dir(f->dir);

    cancel_state cs = {f->ctx, 0, 0};
    h2k_ctx_set_progress(f->ctx, cancel_on_progress, &cs);
    h2k_convert_result *res = NULL;
    double t0 = hk_now();
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, src, dst, NULL, &res), H2K_ERR_CANCELLED);
    double dt = hk_now() - t0;
    assert_null(res);
    assert_int_equal(cs.events, 1);
    assert_true(cs.first_done < 1000);
    assert_true(dt < 20);
    const h2k_error *e = h2k_ctx_last_error(f->ctx);
    assert_string_equal(e->source_path, src);
    assert_string_equal(e->output_path, dst);
    assert_false(ts_exists(dst));
    assert_int_equal(count_parts(f->dir), 0);
    assert_int_equal(ts_count_dir(f->dir), before);
    assert_int_equal(ts_count_children("qemu-img"), 0);

    /* the context works again once the cancel is reset */
    h2k_ctx_set_progress(f->ctx, NULL, NULL);
    h2k_ctx_reset_cancel(f->ctx);
    free(src);
    free(dst);
}

/* A stand-in for qemu-img (a shell script) to test failures and timeouts. */
static char *
fake_qemu_img(fixture *f, const char *name, const char *body)
{
    char *p = path_in(f, name);
    char *text = hk_asprintf("#!/bin/sh\n%s\n", body);
    ts_write_file(p, text, strlen(text));
    free(text);
    assert_int_equal(chmod(p, 0755), 0);
    return p;
}

static void
test_qemu_img_failure_and_timeout(void **state)
{
    fixture *f = *state;
    char *src = path_in(f, "disk.img"), *dst = path_in(f, "out.qcow2");
    make_raw(src, 8 * MiB);
    /* writes a partial output and fails with a message on stderr */
    char *fail = fake_qemu_img(f, "fail.sh",
                               "for a; do last=$a; done\necho junk > \"$last\"\n"
                               "printf '    (10.00/100%%)\\r'\n"
                               "echo 'qemu-img: error while writing at byte 42: "
                               "No space left on device' >&2\nexit 1");
    char *slow = fake_qemu_img(f, "slow.sh", "printf '    (0.00/100%%)\\r'\nexec sleep 30");
    int before = ts_count_dir(f->dir);

    h2k_convert_options o = H2K_CONVERT_OPTIONS_INIT;
    o.qemu_img = fail;
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, src, dst, &o, NULL), H2K_ERR_CONVERSION);
    const h2k_error *e = h2k_ctx_last_error(f->ctx);
    assert_non_null(strstr(e->message, "No space left on device"));
    assert_non_null(strstr(e->message, "exit status 1"));
    assert_string_equal(e->source_path, src);
    assert_string_equal(e->output_path, dst);
    assert_int_equal(ts_count_dir(f->dir), before);

    o.qemu_img = slow;
    o.timeout_seconds = 1;
    double t0 = hk_now();
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, src, dst, &o, NULL), H2K_ERR_TIMEOUT);
    assert_true(hk_now() - t0 < 10);
    e = h2k_ctx_last_error(f->ctx);
    assert_string_equal(e->output_path, dst);
    assert_int_equal(ts_count_dir(f->dir), before);
    assert_int_equal(ts_count_children("sleep"), 0);
    assert_int_equal(ts_count_children("slow.sh"), 0);

    o.qemu_img = "h2k-no-such-qemu-img";
    o.timeout_seconds = 0;
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, src, dst, &o, NULL), H2K_ERR_NOT_FOUND);
    assert_int_equal(ts_count_dir(f->dir), before);
    free(fail);
    free(slow);
    free(src);
    free(dst);
}

/* ---------------------------------------------- image in a container */

static void
window_case(fixture *f, const char *fmt, const char *qemu_fmt)
{
    char *img = path_in(f, "inner.img"), *seed = path_in(f, "seed.img"),
         *box = path_in(f, "box.bin"), *dst = path_in(f, "out.qcow2");
    make_raw(seed, 16 * MiB);
    run_ok("qemu-img", "convert", "-q", "-f", "raw", "-O", qemu_fmt, seed, img, NULL);
    size_t ilen = 0;
    char *data = ts_read_file(img, &ilen);
    const uint64_t off = 3 * 512 + 1024; /* like a tar member after a few headers */
    size_t total = (size_t)off + ilen + 10240;
    unsigned char *buf = malloc(total);
    assert_non_null(buf);
    for (size_t i = 0; i < total; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    memcpy(buf + off, data, ilen);
    ts_write_file(box, buf, total);
    free(buf);
    free(data);
    char before[65], after[65];
    ts_sha256_file(box, before);

    h2k_convert_options o = H2K_CONVERT_OPTIONS_INIT;
    o.source_offset = off;
    o.source_size = ilen;
    h2k_convert_result *res = convert_ok(f, box, dst, &o);
    assert_int_equal(res->virtual_size, 16 * MiB);
    assert_string_equal(h2k_disk_format_name(res->source_format), fmt);
    h2k_convert_result_free(res);
    ts_sha256_file(box, after);
    assert_string_equal(before, after);
    ts_qemu_img_compare(seed, "raw", dst, "qcow2");
    ts_qemu_img_compare(img, qemu_fmt, dst, "qcow2");
    unlink(dst);

    /* a window beyond the end of the file is refused before anything is created */
    int n = ts_count_dir(f->dir);
    o.source_offset = total;
    o.source_size = 4096;
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, box, dst, &o, NULL), H2K_ERR_FORMAT);
    assert_int_equal(ts_count_dir(f->dir), n);
    free(img);
    free(seed);
    free(box);
    free(dst);
}

static void
test_raw_window(void **state)
{
    fixture *f = *state;
    window_case(f, "raw", "raw");
}

static void
test_vmdk_in_container(void **state)
{
    fixture *f = *state;
    /* a streamOptimized VMDK as it sits inside an OVA */
    char *seed = path_in(f, "seed.img"), *img = path_in(f, "inner.vmdk"),
         *box = path_in(f, "vm.ova"), *dst = path_in(f, "out.qcow2");
    make_raw(seed, 16 * MiB);
    run_ok("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o",
           "subformat=streamOptimized", seed, img, NULL);
    size_t ilen = 0;
    char *data = ts_read_file(img, &ilen);
    const uint64_t off = 2560;
    size_t total = (size_t)off + ilen + 1024;
    unsigned char *buf = calloc(1, total);
    assert_non_null(buf);
    memset(buf, 0xee, (size_t)off);
    memcpy(buf + off, data, ilen);
    ts_write_file(box, buf, total);
    free(buf);
    free(data);
    char before[65], after[65];
    ts_sha256_file(box, before);
    h2k_convert_options o = H2K_CONVERT_OPTIONS_INIT;
    o.source_offset = off;
    o.source_size = ilen;
    h2k_convert_result *res = convert_ok(f, box, dst, &o);
    assert_int_equal(res->source_format, H2K_FORMAT_VMDK);
    assert_int_equal(res->virtual_size, 16 * MiB);
    h2k_convert_result_free(res);
    ts_sha256_file(box, after);
    assert_string_equal(before, after);
    ts_qemu_img_compare(seed, "raw", dst, "qcow2");
    free(seed);
    free(img);
    free(box);
    free(dst);
}

/* --------------------------------------------------------- processor */

static void
test_processor(void **state)
{
    fixture *f = *state;
    char *top = NULL, *base = NULL;
    make_chain(f, "qcow2", "qcow2", &top, &base);
    char *out = path_in(f, "proc.qcow2"), *out2 = path_in(f, "proc.img");
    h2k_disk_processor *p = NULL;
    ts_assert_rc(f->ctx, h2k_disk_processor_new(f->ctx, &p), 0);
    h2k_process_options po = H2K_PROCESS_OPTIONS_INIT;
    po.flatten = 1;
    po.compress = 1;
    h2k_convert_result *res = NULL;
    ts_assert_rc(f->ctx, h2k_disk_processor_process(p, top, out, &po, &res), 0);
    assert_int_equal(res->chain_length, 3);
    assert_int_equal(res->output_format, H2K_FORMAT_QCOW2);
    h2k_convert_result_free(res);
    json_object *j = qemu_info(out);
    assert_string_equal(jstr(j, "format-specific", "data", "compression-type"), "zstd");
    json_object_put(j);
    assert_standalone(out, "qcow2");
    ts_qemu_img_compare(top, "qcow2", out, "qcow2");
    /* exists without overwrite; then overwrite to raw */
    ts_assert_rc(f->ctx, h2k_disk_processor_process(p, top, out, &po, NULL), H2K_ERR_EXISTS);
    po.overwrite = 1;
    po.compress = 0;
    po.output_format = H2K_FORMAT_RAW;
    ts_assert_rc(f->ctx, h2k_disk_processor_process(p, top, out2, &po, &res), 0);
    assert_int_equal(res->output_format, H2K_FORMAT_RAW);
    h2k_convert_result_free(res);
    ts_qemu_img_compare(top, "qcow2", out2, "raw");
    /* as the seed's process_disk(flatten=True): a lone image is simply converted */
    ts_assert_rc(f->ctx, h2k_disk_processor_process(p, base, out2, &po, &res), 0);
    assert_int_equal(res->chain_length, 1);
    h2k_convert_result_free(res);
    ts_qemu_img_compare(base, "qcow2", out2, "raw");
    /* only h2k_disk_flatten() (the seed's Flatten) insists on a chain */
    h2k_convert_options co = H2K_CONVERT_OPTIONS_INIT;
    co.overwrite = 1;
    ts_assert_rc(f->ctx, h2k_disk_flatten(f->ctx, base, out2, &co, NULL), H2K_ERR_VALIDATION);
    /* the seed's guest_identity: taken as given, no detection (none is ever run) */
    char debian[] = "debian";
    h2k_guest_identity gi = {.type = H2K_GUEST_LINUX, .os_id = debian};
    po.guest_identity = &gi;
    ts_assert_rc(f->ctx, h2k_disk_processor_process(p, top, out2, &po, &res), 0);
    assert_int_equal(res->chain_length, 3);
    h2k_convert_result_free(res);
    /* a version-1 struct (without guest_identity), as an older program passes it */
    h2k_process_options *v1 = malloc(offsetof(h2k_process_options, guest_identity));
    assert_non_null(v1);
    ts_assert_rc(f->ctx, h2k_process_options_init(v1, 1), 0);
    v1->overwrite = 1;
    ts_assert_rc(f->ctx, h2k_disk_processor_process(p, top, out2, v1, NULL), 0);
    free(v1);
    h2k_disk_processor_free(p);
    free(top);
    free(base);
    free(out);
    free(out2);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, ts_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_raw_to_qcow2),
        T(test_qcow2_to_raw),
        T(test_vmdk_monolithic_sparse),
        T(test_vmdk_stream_optimized),
        T(test_vmdk_two_gb_flat),
        T(test_qcow2_chain_flatten),
        T(test_vmdk_chain_flatten),
        T(test_vhd_dynamic),
        T(test_compressed_zstd),
        T(test_existing_output),
        T(test_output_is_source),
        T(test_broken_sources),
        T(test_cancel_mid_convert),
        T(test_qemu_img_failure_and_timeout),
        T(test_raw_window),
        T(test_vmdk_in_container),
        T(test_processor),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
