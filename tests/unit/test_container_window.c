/*
 * A window of a container (an OVA member read in place) named as the backing
 * file of an overlay we wrote: the json: name is written and parsed in one
 * exact form only, the probe follows it only in a file the context trusts and
 * checks the image at the window, and the conversion pins the window.  No
 * external program.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "disk/convert_internal.h"

#define CB 12u
#define CS (1u << CB)

/* A 4-cluster qcow2 of 1 MiB, optionally with a backing name and format. */
static uint8_t *
qcow2_build(const char *backing, const char *backing_fmt, size_t *len)
{
    *len = 4 * CS;
    uint8_t *b = calloc(1, *len);
    assert_non_null(b);
    memcpy(b, "QFI\xfb", 4);
    ts_put_be32(b + 4, 3);
    ts_put_be32(b + 20, CB);
    ts_put_be64(b + 24, 1u << 20);
    ts_put_be32(b + 36, 1);
    ts_put_be64(b + 40, 3 * CS);
    ts_put_be64(b + 48, CS);
    ts_put_be32(b + 56, 1);
    ts_put_be32(b + 96, 4);
    ts_put_be32(b + 100, 112);
    uint32_t off = 112;
    if (backing_fmt) {
        uint32_t l = (uint32_t)strlen(backing_fmt);
        ts_put_be32(b + off, 0xE2792ACAu);
        ts_put_be32(b + off + 4, l);
        memcpy(b + off + 8, backing_fmt, l);
    }
    if (backing) {
        ts_put_be64(b + 8, 2048);
        ts_put_be32(b + 16, (uint32_t)strlen(backing));
        memcpy(b + 2048, backing, strlen(backing));
    }
    ts_put_be64(b + CS, 2 * CS);
    for (int i = 0; i < 4; i++)
        b[2 * CS + 2 * i + 1] = 1;
    return b;
}

static void
test_json_form(void **state)
{
    (void)state;
    char *j = hk_window_json("vmdk", "/srv/x.ova", 1536, 4096);
    assert_string_equal(j, "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"raw\",\"offset\":1536,"
                           "\"size\":4096,\"file\":{\"driver\":\"file\",\"filename\":"
                           "\"/srv/x.ova\"}}}");
    char *fmt = NULL, *file = NULL;
    uint64_t off = 0, size = 0;
    assert_int_equal(hk_window_json_parse(j, &fmt, &file, &off, &size), 0);
    assert_string_equal(fmt, "vmdk");
    assert_string_equal(file, "/srv/x.ova");
    assert_int_equal(off, 1536);
    assert_int_equal(size, 4096);
    free(fmt);
    free(file);
    free(j);

    /* names that cannot be written without escapes, or are not ours */
    assert_null(hk_window_json("vmdk", "rel/x.ova", 0, 1));
    assert_null(hk_window_json("vmdk", "/a\"b.ova", 0, 1));
    assert_null(hk_window_json("vmdk", "/a\\b.ova", 0, 1));
    assert_null(hk_window_json("vmdk", "/a\nb.ova", 0, 1));
    assert_null(hk_window_json("VMDK", "/a.ova", 0, 1));
    assert_null(hk_window_json("vmdk", "/a.ova", 0, 0));

    /* anything but the exact form is refused */
    static const char *const bad[] = {
        "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"raw\",\"offset\":1,\"size\":2,"
        "\"file\":{\"driver\":\"file\",\"filename\":\"/a\"}}} ",
        "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"raw\",\"offset\":1,\"size\":2,"
        "\"file\":{\"driver\":\"file\",\"filename\":\"/a\"},\"x\":1}}",
        "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"raw\",\"offset\":01,\"size\":2,"
        "\"file\":{\"driver\":\"file\",\"filename\":\"/a\"}}}",
        "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"raw\",\"offset\":-1,\"size\":2,"
        "\"file\":{\"driver\":\"file\",\"filename\":\"/a\"}}}",
        "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"raw\",\"offset\":99999999999999999999,"
        "\"size\":2,\"file\":{\"driver\":\"file\",\"filename\":\"/a\"}}}",
        "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"raw\",\"offset\":1,\"size\":2,"
        "\"file\":{\"driver\":\"nbd\",\"filename\":\"/a\"}}}",
        "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"raw\",\"offset\":1,\"size\":2,"
        "\"file\":{\"driver\":\"file\",\"filename\":\"a\"}}}",
        "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"raw\",\"offset\":1,\"size\":0,"
        "\"file\":{\"driver\":\"file\",\"filename\":\"/a\"}}}",
        "json:{\"file.filename\":\"/etc/shadow\"}",
        "/srv/x.ova",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fmt = file = NULL;
        if (hk_window_json_parse(bad[i], &fmt, &file, &off, &size) == 0)
            print_error("accepted: %s\n", bad[i]);
        assert_int_equal(hk_window_json_parse(bad[i], &fmt, &file, &off, &size), -1);
        assert_null(fmt);
        assert_null(file);
    }
}

/* container.ova: 512 bytes of padding, then a base qcow2 (the "member") */
static char *
make_container(size_t *member_len)
{
    size_t bl = 0;
    uint8_t *base = qcow2_build(NULL, NULL, &bl);
    uint8_t *c = calloc(1, 512 + bl + 512);
    memcpy(c + 512, base, bl);
    char *p = ts_tmp_write("container.ova", c, 512 + bl + 512);
    free(base);
    free(c);
    *member_len = bl;
    return p;
}

static void
test_probe_follows_own_window(void **state)
{
    (void)state;
    size_t ml = 0;
    char *cont = make_container(&ml);
    char *real = realpath(cont, NULL);
    char *j = hk_window_json("qcow2", real, 512, ml);
    size_t ol = 0;
    uint8_t *ov = qcow2_build(j, "qcow2", &ol);
    char *overlay = ts_tmp_write("disk1.qcow2", ov, ol);
    free(ov);

    /* not written by this context: refused like any json: name */
    h2k_ctx *ctx = ts_ctx();
    h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
    h2k_disk_info *info = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, overlay, &po, &info), H2K_ERR_UNSUPPORTED);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "JSON"));

    /* ours: followed, the member checked at its offset */
    assert_int_equal(hk_ctx_trust_file(ctx, overlay), 0);
    ts_assert_rc(ctx, h2k_disk_probe(ctx, overlay, &po, &info), 0);
    assert_int_equal(info->n_layers, 2);
    assert_string_equal(info->layers[0].parent_hint, j);
    assert_string_equal(info->layers[1].path, real);
    assert_int_equal(info->layers[1].format, H2K_FORMAT_QCOW2);
    assert_int_equal(info->layers[1].virtual_size, 1u << 20);

    /* and the conversion pins the window */
    uint64_t offs[2] = {0, 512}, sizes[2] = {0, ml};
    hk_convert_plan plan = {.qemu_img = "qemu-img",
                            .output_format = H2K_FORMAT_QCOW2,
                            .coroutines = 8,
                            .out_of_order = 0,
                            .layer_offset = offs,
                            .layer_size = sizes};
    char **argv = hk_convert_build_argv(info, &plan, "/out.qcow2");
    assert_non_null(argv);
    bool seen = false;
    for (size_t i = 0; argv[i]; i++)
        if (strstr(argv[i], "backing.driver=qcow2,backing.file.driver=raw,"
                            "backing.file.offset=512,backing.file.size="))
            seen = true;
    assert_true(seen);
    hk_argv_free(argv);
    h2k_disk_info_free(info);

    /* a window over the end of the container: a clear error */
    char *j2 = hk_window_json("qcow2", real, 4096, 1u << 20);
    ov = qcow2_build(j2, "qcow2", &ol);
    char *overlay2 = ts_tmp_write("disk2.qcow2", ov, ol);
    free(ov);
    assert_int_equal(hk_ctx_trust_file(ctx, overlay2), 0);
    assert_true(h2k_disk_probe(ctx, overlay2, &po, &info) < 0);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "window"));

    /* the window's format must be the backing format the overlay records */
    ov = qcow2_build(j, "raw", &ol);
    char *overlay3 = ts_tmp_write("disk3.qcow2", ov, ol);
    free(ov);
    assert_int_equal(hk_ctx_trust_file(ctx, overlay3), 0);
    ts_assert_rc(ctx, h2k_disk_probe(ctx, overlay3, &po, &info), H2K_ERR_FORMAT);

    h2k_ctx_free(ctx);
    free(overlay3);
    free(overlay2);
    free(j2);
    free(overlay);
    free(j);
    free(real);
    free(cont);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_form),
        cmocka_unit_test_setup_teardown(test_probe_follows_own_window, ts_setup_tmpdir,
                                        ts_teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
