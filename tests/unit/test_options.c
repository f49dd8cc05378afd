/* Unit tests of the options structs: the _INIT macros, the h2k_*_options_init()
 * functions and the one version check (src/core/opts.c) every call uses. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "hyper2kvm/h2k_disk.h"
#include "hyper2kvm/h2k_fix.h"
#include "hyper2kvm/h2k_orchestrator.h"
#include "hyper2kvm/h2k_output.h"
#include "hyper2kvm/h2k_test.h"
#include "hyper2kvm/h2k_vmware.h"

/* Each init function gives exactly what the macro gives. */
#define SAME_AS_MACRO(type, fn, macro)                                                             \
    do {                                                                                           \
        static const type m = macro; /* static: padding zero, as in the library's */               \
        type f;                                                                                    \
        memset(&f, 0xa5, sizeof(f));                                                               \
        assert_int_equal(fn(&f, m.version), 0);                                                    \
        assert_int_equal(f.version, m.version);                                                    \
        assert_int_equal(memcmp(&f, &m, sizeof(f)), 0);                                            \
        assert_int_equal(fn(&f, 0), H2K_ERR_INVALID_ARG);                                          \
        assert_int_equal(fn(&f, m.version + 1), H2K_ERR_INVALID_ARG);                              \
        assert_int_equal(f.version, m.version + 1);                                                \
        assert_int_equal(fn(NULL, 1), H2K_ERR_INVALID_ARG);                                        \
    } while (0)

static void
test_init_functions_match_macros(void **state)
{
    (void)state;
    SAME_AS_MACRO(h2k_probe_options, h2k_probe_options_init, H2K_PROBE_OPTIONS_INIT);
    SAME_AS_MACRO(h2k_ova_extract_options, h2k_ova_extract_options_init,
                  H2K_OVA_EXTRACT_OPTIONS_INIT);
    SAME_AS_MACRO(h2k_convert_options, h2k_convert_options_init, H2K_CONVERT_OPTIONS_INIT);
    SAME_AS_MACRO(h2k_process_options, h2k_process_options_init, H2K_PROCESS_OPTIONS_INIT);
    SAME_AS_MACRO(h2k_fix_options, h2k_fix_options_init, H2K_FIX_OPTIONS_INIT);
    SAME_AS_MACRO(h2k_boot_test_options, h2k_boot_test_options_init, H2K_BOOT_TEST_OPTIONS_INIT);
    SAME_AS_MACRO(h2k_domain_options, h2k_domain_options_init, H2K_DOMAIN_OPTIONS_INIT);
    SAME_AS_MACRO(h2k_run_options, h2k_run_options_init, H2K_RUN_OPTIONS_INIT);
    SAME_AS_MACRO(h2k_vmware_options, h2k_vmware_options_init, H2K_VMWARE_OPTIONS_INIT);
}

static void
test_macro_defaults(void **state)
{
    (void)state;
    h2k_fix_options fo = H2K_FIX_OPTIONS_INIT;
    assert_int_equal(fo.version, 4); /* version 4 added virtio_win and virtio_scsi */
    assert_int_equal(fo.fixes, H2K_FIX_ALL);
    assert_int_equal(fo.keep_mac, 1);
    assert_int_equal(fo.command_timeout, 1800);
    assert_null(fo.guest_identity);
    h2k_run_options ro = H2K_RUN_OPTIONS_INIT;
    assert_int_equal(ro.fixes, H2K_FIX_ALL);
    assert_int_equal(ro.keep_mac, 1);
    assert_int_equal(ro.trim, 1);
    assert_null(ro.vmware);
    h2k_convert_options co = H2K_CONVERT_OPTIONS_INIT;
    assert_int_equal(co.output_format, H2K_FORMAT_QCOW2);
    assert_int_equal(co.parallel_coroutines, 8);
    assert_int_equal(co.out_of_order, -1);
    h2k_domain_options dop = H2K_DOMAIN_OPTIONS_INIT;
    assert_int_equal(dop.secure_boot, -1);
    assert_int_equal(dop.graphics, 1);
}

/* A caller built against an older header passes a smaller struct: init writes,
 * and the calls read, only that version's bytes (ASan catches one byte more). */
static void
test_older_versions_by_size(void **state)
{
    (void)state;
    size_t v1 = offsetof(h2k_fix_options, atomic);
    h2k_fix_options *old = malloc(v1);
    assert_non_null(old);
    assert_int_equal(h2k_fix_options_init(old, 1), 0);
    assert_int_equal(old->version, 1);
    assert_int_equal(old->fixes, H2K_FIX_ALL);
    assert_int_equal(old->command_timeout, 1800);

    HK_OPTS_LAYOUT(l, h2k_fix_options, offsetof(h2k_fix_options, atomic),
                   offsetof(h2k_fix_options, guest_identity), sizeof(h2k_fix_options));
    h2k_fix_options def = H2K_FIX_OPTIONS_INIT, eff;
    def.atomic = 1; /* shows that a version-1 struct leaves atomic at its default */
    old->dry_run = 1;
    h2k_ctx *ctx = ts_ctx();
    assert_int_equal(hk_opts_import(ctx, &l, old, &def, &eff), 0);
    assert_int_equal(eff.version, 3);
    assert_int_equal(eff.dry_run, 1);
    assert_int_equal(eff.atomic, 1);
    assert_null(eff.guest_identity);
    free(old);

    size_t c1 = offsetof(h2k_convert_options, no_sync);
    h2k_convert_options *cold = malloc(c1);
    assert_non_null(cold);
    assert_int_equal(h2k_convert_options_init(cold, 1), 0);
    assert_int_equal(cold->parallel_coroutines, 8);
    free(cold);
    h2k_ctx_free(ctx);
}

/* Every call refuses an unknown version in the same words. */
static void
test_unknown_version_message(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_fix_options fo = H2K_FIX_OPTIONS_INIT;
    fo.version = 7;
    const char *disks[] = {"/nonexistent.img"};
    h2k_offline_fixer *fx = NULL;
    assert_int_equal(h2k_offline_fixer_open(ctx, disks, NULL, 1, &fo, &fx), H2K_ERR_INVALID_ARG);
    assert_null(fx);
    assert_string_equal(h2k_ctx_last_error(ctx)->message,
                        "h2k_fix_options: version 7 is not known (1..4 are)");

    /* an init with an unknown version makes the call name it */
    h2k_domain_options dop;
    assert_int_equal(h2k_domain_options_init(&dop, 9), H2K_ERR_INVALID_ARG);
    h2k_vm_spec *spec = h2k_vm_spec_new();
    assert_non_null(spec);
    const char *paths[] = {"/tmp/x.qcow2"};
    char *xml = NULL;
    assert_int_equal(h2k_domain_xml(ctx, spec, NULL, paths, 1, &dop, &xml), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(ctx)->message,
                        "h2k_domain_options: version 9 is not known (only 1 is)");
    h2k_vm_spec_free(spec);

    h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
    po.version = 0;
    h2k_disk_info *info = NULL;
    assert_int_equal(h2k_disk_probe(ctx, "/nonexistent.img", &po, &info), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(ctx)->message,
                        "h2k_probe_options: version 0 is not known (only 1 is)");

    h2k_run_options ro = H2K_RUN_OPTIONS_INIT;
    ro.version = 6;
    assert_int_equal(h2k_orchestrator_run(ctx, &ro, NULL), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(ctx)->message,
                        "h2k_run_options: version 6 is not known (1..5 are)");

    h2k_disk_processor *proc = NULL;
    assert_int_equal(h2k_disk_processor_new(ctx, &proc), 0);
    h2k_process_options pro = H2K_PROCESS_OPTIONS_INIT;
    pro.version = 5;
    assert_int_equal(h2k_disk_processor_process(proc, "/a", "/b", &pro, NULL), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(ctx)->message,
                        "h2k_process_options: version 5 is not known (1..2 are)");
    h2k_disk_processor_free(proc);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_functions_match_macros),
        cmocka_unit_test(test_macro_defaults),
        cmocka_unit_test(test_older_versions_by_size),
        cmocka_unit_test(test_unknown_version_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
