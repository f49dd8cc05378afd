/* Unit tests of the pure parts of the qemu-img conversion: the "-p" progress
 * parser, option escaping and the argv builder, plus argument checks that
 * fail before any program runs. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "disk/convert_internal.h"
#include "testsupport.h"

static unsigned
pm_of(const char *line)
{
    unsigned pm = 12345;
    if (!hk_qemu_parse_progress(line, &pm))
        fail_msg("progress line not parsed: \"%s\"", line);
    return pm;
}

static void
test_progress_valid(void **state)
{
    (void)state;
    assert_int_equal(pm_of("    (0.00/100%)"), 0);
    assert_int_equal(pm_of("    (12.34/100%)"), 123);
    assert_int_equal(pm_of("(12.39/100%)"), 123);
    assert_int_equal(pm_of("    (3.12/100%)"), 31);
    assert_int_equal(pm_of("    (99.99/100%)"), 999);
    assert_int_equal(pm_of("    (100.00/100%)"), 1000);
    assert_int_equal(pm_of("    (50/100%)"), 500);
    assert_int_equal(pm_of("    (50.5/100%)"), 505);
    assert_int_equal(pm_of("\t(7.123456/100%)"), 71);
    assert_int_equal(pm_of("    (1.00/100%)   "), 10);
    assert_int_equal(pm_of("    (1.00/100%)\n"), 10);
    assert_int_equal(pm_of("(0.09/100%)"), 0);
    assert_int_equal(pm_of("(0.10/100%)"), 1);
}

static void
test_progress_clamped(void **state)
{
    (void)state;
    assert_int_equal(pm_of("    (100.01/100%)"), 1000);
    assert_int_equal(pm_of("    (250.00/100%)"), 1000);
    assert_int_equal(pm_of("(99999999999999999999999999.5/100%)"), 1000);
}

static void
test_progress_garbage(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "(",
        "()",
        "(/100%)",
        "(.5/100%)",
        "(12./100%)",
        "(-1.00/100%)",
        "(+1.00/100%)",
        "(1,50/100%)",
        "(12.34/100)",
        "(12.34/100%",
        "(12.34/200%)",
        "(12.34 /100%)",
        "12.34/100%)",
        "    (12.34/100%) trailing",
        "x(12.34/100%)",
        "qemu-img: Could not open 'x': No such file or directory",
        "(0x10/100%)",
        "(1e2/100%)",
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(bad); i++) {
        unsigned pm = 777;
        if (hk_qemu_parse_progress(bad[i], &pm))
            fail_msg("garbage accepted: \"%s\" -> %u", bad[i], pm);
        assert_int_equal(pm, 777); /* untouched */
    }
    unsigned pm = 0;
    assert_false(hk_qemu_parse_progress(NULL, &pm));
    assert_false(hk_qemu_parse_progress("(1.00/100%)", NULL));
}

static void
test_progress_long_line(void **state)
{
    (void)state;
    /* a very long digit run must neither overflow nor be slow */
    size_t n = 100000;
    char *s = malloc(n + 16);
    assert_non_null(s);
    s[0] = '(';
    memset(s + 1, '9', n);
    strcpy(s + 1 + n, ".99/100%)");
    unsigned pm = 0;
    assert_true(hk_qemu_parse_progress(s, &pm));
    assert_int_equal(pm, 1000);
    free(s);
}

static void
test_opt_escape(void **state)
{
    (void)state;
    char *s = hk_qemu_opt_escape("/a,b/c,,d=e");
    assert_string_equal(s, "/a,,b/c,,,,d=e");
    free(s);
    s = hk_qemu_opt_escape("");
    assert_string_equal(s, "");
    free(s);
}

/* A fake probe result with @n layers. */
static h2k_disk_info *
fake_info(size_t n, const char *const *paths, const h2k_disk_format *fmts)
{
    h2k_disk_info *info = calloc(1, sizeof(*info));
    assert_non_null(info);
    info->layers = calloc(n, sizeof(h2k_disk_layer));
    assert_non_null(info->layers);
    info->n_layers = n;
    for (size_t i = 0; i < n; i++) {
        info->layers[i].path = strdup(paths[i]);
        info->layers[i].format = fmts[i];
    }
    info->path = strdup(paths[0]);
    info->format = fmts[0];
    return info;
}

static char *
join_argv(char **argv)
{
    hk_buf b = {0};
    for (size_t i = 0; argv[i]; i++)
        hk_buf_printf(&b, "%s%s", i ? " " : "", argv[i]);
    return hk_buf_steal(&b);
}

static hk_convert_plan
default_plan(void)
{
    hk_convert_plan p = {.qemu_img = "qemu-img",
                         .output_format = H2K_FORMAT_QCOW2,
                         .compression_type = "zstd",
                         .coroutines = 8,
                         .out_of_order = true};
    return p;
}

static void
check_argv(const h2k_disk_info *info, const hk_convert_plan *plan, const char *expected)
{
    char **argv = hk_convert_build_argv(info, plan, "/out/d.qcow2.part-AbC123");
    assert_non_null(argv);
    char *s = join_argv(argv);
    assert_string_equal(s, expected);
    free(s);
    hk_argv_free(argv);
}

static void
test_argv_single(void **state)
{
    (void)state;
    const char *paths[] = {"/src/disk.vmdk"};
    h2k_disk_format fmts[] = {H2K_FORMAT_VMDK};
    h2k_disk_info *info = fake_info(1, paths, fmts);
    hk_convert_plan p = default_plan();
    check_argv(info, &p,
               "qemu-img convert -p -f vmdk -O qcow2 -o compat=1.1 -m 8 -W /src/disk.vmdk "
               "/out/d.qcow2.part-AbC123");
    p.compress = true;
    check_argv(info, &p,
               "qemu-img convert -p -f vmdk -O qcow2 -c -o compat=1.1,compression_type=zstd "
               "-m 8 -W /src/disk.vmdk /out/d.qcow2.part-AbC123");
    p.compression_type = "zlib";
    p.out_of_order = false;
    p.coroutines = 3;
    check_argv(info, &p,
               "qemu-img convert -p -f vmdk -O qcow2 -c -o compat=1.1,compression_type=zlib "
               "-m 3 /src/disk.vmdk /out/d.qcow2.part-AbC123");
    p = default_plan();
    p.output_format = H2K_FORMAT_RAW;
    check_argv(info, &p,
               "qemu-img convert -p -f vmdk -O raw -m 8 -W /src/disk.vmdk "
               "/out/d.qcow2.part-AbC123");
    h2k_disk_info_free(info);

    const char *vpaths[] = {"/src/x.vhd"};
    h2k_disk_format vfmts[] = {H2K_FORMAT_VHD};
    info = fake_info(1, vpaths, vfmts);
    p = default_plan();
    check_argv(info, &p,
               "qemu-img convert -p -f vpc -O qcow2 -o compat=1.1 -m 8 -W /src/x.vhd "
               "/out/d.qcow2.part-AbC123");
    h2k_disk_info_free(info);
}

/* Auto -W: on, except when compressing a source with compressed grains. */
static void
test_argv_out_of_order_auto(void **state)
{
    (void)state;
    const char *paths[] = {"/src/top.vmdk", "/src/base.vmdk"};
    h2k_disk_format fmts[] = {H2K_FORMAT_VMDK, H2K_FORMAT_VMDK};
    h2k_disk_info *info = fake_info(1, paths, fmts);
    info->layers[0].compressed = 1; /* streamOptimized, as the probe sets it */
    hk_convert_plan p = default_plan();
    p.out_of_order = -1;
    assert_true(hk_convert_out_of_order(info, &p)); /* not compressing */
    p.compress = true;
    assert_false(hk_convert_out_of_order(info, &p));
    check_argv(info, &p,
               "qemu-img convert -p -f vmdk -O qcow2 -c -o compat=1.1,compression_type=zstd "
               "-m 8 /src/top.vmdk /out/d.qcow2.part-AbC123");
    p.out_of_order = 1; /* an explicit choice wins */
    assert_true(hk_convert_out_of_order(info, &p));
    p.out_of_order = -1;
    info->layers[0].compressed = 0; /* monolithicSparse */
    assert_true(hk_convert_out_of_order(info, &p));
    p.out_of_order = 0;
    assert_false(hk_convert_out_of_order(info, &p));
    h2k_disk_info_free(info);

    /* a chain whose base is streamOptimized counts too */
    info = fake_info(2, paths, fmts);
    info->layers[1].compressed = 1;
    p = default_plan();
    p.out_of_order = -1;
    p.compress = true;
    assert_false(hk_convert_out_of_order(info, &p));
    p.compress = false;
    assert_true(hk_convert_out_of_order(info, &p));
    h2k_disk_info_free(info);
}

static void
test_argv_chain_pinned(void **state)
{
    (void)state;
    const char *paths[] = {"/s/top.qcow2", "/s/mid,1.vmdk", "/s/base.img"};
    h2k_disk_format fmts[] = {H2K_FORMAT_QCOW2, H2K_FORMAT_VMDK, H2K_FORMAT_RAW};
    h2k_disk_info *info = fake_info(3, paths, fmts);
    hk_convert_plan p = default_plan();
    check_argv(info, &p,
               "qemu-img convert -p --image-opts -O qcow2 -o compat=1.1 -m 8 -W "
               "driver=qcow2,file.driver=file,file.filename=/s/top.qcow2,read-only=on,"
               "backing.driver=vmdk,backing.file.driver=file,backing.file.filename=/s/mid,,1.vmdk,"
               "backing.backing.driver=raw,backing.backing.file.driver=file,"
               "backing.backing.file.filename=/s/base.img /out/d.qcow2.part-AbC123");
    /* shared mode: the repair appliance still holds the top (flushed, idle) */
    p.force_share = true;
    check_argv(info, &p,
               "qemu-img convert -p -U --image-opts -O qcow2 -o compat=1.1 -m 8 -W "
               "driver=qcow2,file.driver=file,file.filename=/s/top.qcow2,read-only=on,"
               "backing.driver=vmdk,backing.file.driver=file,backing.file.filename=/s/mid,,1.vmdk,"
               "backing.backing.driver=raw,backing.backing.file.driver=file,"
               "backing.backing.file.filename=/s/base.img /out/d.qcow2.part-AbC123");
    h2k_disk_info_free(info);
}

static void
test_argv_container(void **state)
{
    (void)state;
    const char *paths[] = {"/s/vm.ova"};
    h2k_disk_format fmts[] = {H2K_FORMAT_VMDK};
    h2k_disk_info *info = fake_info(1, paths, fmts);
    hk_convert_plan p = default_plan();
    p.source_offset = 1536;
    p.source_size = 1048576;
    check_argv(info, &p,
               "qemu-img convert -p --image-opts -O qcow2 -o compat=1.1 -m 8 -W "
               "driver=vmdk,read-only=on,file.driver=raw,file.offset=1536,file.size=1048576,"
               "file.file.driver=file,file.file.filename=/s/vm.ova /out/d.qcow2.part-AbC123");
    h2k_disk_info_free(info);
}

static void
test_convert_bad_args(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_convert_result *res = (h2k_convert_result *)&res; /* must be reset to NULL */
    assert_int_equal(h2k_disk_convert(NULL, "a", "b", NULL, NULL), H2K_ERR_INVALID_ARG);
    ts_assert_rc(ctx, h2k_disk_convert(ctx, NULL, "b", NULL, &res), H2K_ERR_INVALID_ARG);
    assert_null(res);
    ts_assert_rc(ctx, h2k_disk_convert(ctx, "a", "", NULL, NULL), H2K_ERR_INVALID_ARG);

    h2k_convert_options o = H2K_CONVERT_OPTIONS_INIT;
    o.version = 99;
    ts_assert_rc(ctx, h2k_disk_convert(ctx, "a", "b", &o, NULL), H2K_ERR_INVALID_ARG);
    o = (h2k_convert_options)H2K_CONVERT_OPTIONS_INIT;
    o.output_format = H2K_FORMAT_VMDK;
    ts_assert_rc(ctx, h2k_disk_convert(ctx, "a", "b", &o, NULL), H2K_ERR_INVALID_ARG);
    o = (h2k_convert_options)H2K_CONVERT_OPTIONS_INIT;
    o.output_format = H2K_FORMAT_RAW;
    o.compress = 1;
    ts_assert_rc(ctx, h2k_disk_convert(ctx, "a", "b", &o, NULL), H2K_ERR_INVALID_ARG);
    o = (h2k_convert_options)H2K_CONVERT_OPTIONS_INIT;
    o.compress = 1;
    o.compression_type = "lz4";
    ts_assert_rc(ctx, h2k_disk_convert(ctx, "a", "b", &o, NULL), H2K_ERR_INVALID_ARG);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "lz4"));
    /* a missing source is NOT_FOUND from the probe */
    ts_assert_rc(ctx,
                 h2k_disk_convert(ctx, "/nonexistent/h2k/src.img", "/nonexistent/h2k/o", NULL,
                                  &res),
                 H2K_ERR_NOT_FOUND);
    assert_null(res);

    /* a version-1 struct (without no_sync) is accepted and read only as far as
     * it goes: exactly that many bytes, so the sanitizers see any overread */
    size_t v1_size = offsetof(h2k_convert_options, no_sync);
    unsigned char *v1 = malloc(v1_size);
    assert_non_null(v1);
    o = (h2k_convert_options)H2K_CONVERT_OPTIONS_INIT;
    o.version = 1;
    memcpy(v1, &o, v1_size);
    ts_assert_rc(ctx,
                 h2k_disk_convert(ctx, "/nonexistent/h2k/src.img", "/nonexistent/h2k/o",
                                  (const h2k_convert_options *)(void *)v1, NULL),
                 H2K_ERR_NOT_FOUND);
    free(v1);
    h2k_ctx_free(ctx);
}

static void
test_processor_lifecycle(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_disk_processor *p = NULL;
    assert_int_equal(h2k_disk_processor_new(NULL, &p), H2K_ERR_INVALID_ARG);
    assert_null(p);
    assert_int_equal(h2k_disk_processor_new(ctx, NULL), H2K_ERR_INVALID_ARG);
    assert_int_equal(h2k_disk_processor_new(ctx, &p), 0);
    assert_non_null(p);
    h2k_process_options po = H2K_PROCESS_OPTIONS_INIT;
    po.version = 0;
    h2k_convert_result *res = NULL;
    ts_assert_rc(ctx, h2k_disk_processor_process(p, "a", "b", &po, &res), H2K_ERR_INVALID_ARG);
    assert_int_equal(h2k_disk_processor_process(NULL, "a", "b", NULL, &res), H2K_ERR_INVALID_ARG);
    ts_assert_rc(ctx, h2k_disk_processor_process(p, "/nonexistent/h2k/a", "b", NULL, &res),
                 H2K_ERR_NOT_FOUND);
    assert_null(res);
    h2k_disk_processor_free(p);
    h2k_disk_processor_free(NULL);
    h2k_convert_result_free(NULL);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_valid),
        cmocka_unit_test(test_progress_clamped),
        cmocka_unit_test(test_progress_garbage),
        cmocka_unit_test(test_progress_long_line),
        cmocka_unit_test(test_opt_escape),
        cmocka_unit_test(test_argv_single),
        cmocka_unit_test(test_argv_chain_pinned),
        cmocka_unit_test(test_argv_container),
        cmocka_unit_test(test_argv_out_of_order_auto),
        cmocka_unit_test(test_convert_bad_args),
        cmocka_unit_test(test_processor_lifecycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
