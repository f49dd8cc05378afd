/* Conformance of the .ovf parser with virt-v2v's view of the shared .ovf
 * inputs (shared/testdata: each input and its .expected text).  Built and run
 * only when the shared folder is beside the repository (tests/CMakeLists.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"
#include "v2v_expected.h"

static const ve_reader reader = {h2k_ovf_parse_file, "ovf"};

static void
test_golden(void **state)
{
    (void)state;
    static const char *const bases[] = {"test-i-ova-formats",   "test-i-ova-gz",
                                        "test-i-ova-snapshots", "test-i-ova-subfolders",
                                        "test-i-ova-tar",       "test-i-ova-two-disks"};
    h2k_ctx *ctx = ts_ctx();
    for (size_t i = 0; i < HK_ARRAY_LEN(bases); i++) {
        h2k_vm_spec *s = ve_golden(&reader, ctx, bases[i], 0);
        /* the same facts for every file of this family */
        assert_string_equal(s->os_type, "windows7Server64Guest");
        assert_string_equal(s->disks[0].file_ref, strcmp(bases[i], "test-i-ova-gz") == 0
                                                      ? "disk1.vmdk.gz"
                                                      : "disk1.vmdk");
        assert_string_equal(s->disks[0].format_hint, "vmdk-streamOptimized");
        assert_int_equal(s->disks[0].capacity, UINT64_C(50) << 30);
        assert_string_equal(s->disks[0].controller_model, "lsisas1068");
        assert_int_equal(s->disks[0].controller_index, 0);
        assert_int_equal(s->disks[0].unit, 0);
        assert_null(s->disks[0].container_path);
        assert_null(s->nics[0].mac);
        h2k_vm_spec_free(s);
    }
    h2k_ctx_free(ctx);
}

static void
test_shared_details(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = ve_parse_shared(&reader, ctx, "test-i-ova-gz.ovf");
    assert_string_equal(s->disks[0].compression, "gzip");
    assert_int_equal(s->disks[0].populated_size, UINT64_C(18975752192));
    assert_true(hk_endswith_nocase(s->disks[0].path, "/v2v-inputs/disk1.vmdk.gz"));
    h2k_vm_spec_free(s);

    s = ve_parse_shared(&reader, ctx, "test-i-ova-two-disks.ovf");
    assert_int_equal(s->n_disks, 2);
    assert_null(s->disks[0].compression);
    assert_string_equal(s->disks[1].file_ref, "disk2.vmdk");
    assert_int_equal(s->disks[1].capacity, UINT64_C(450) << 30);
    assert_int_equal(s->disks[1].populated_size, UINT64_C(275146276864));
    assert_int_equal(s->disks[1].unit, 1);
    h2k_vm_spec_free(s);

    /* files without .expected: the facts visible in them */
    s = ve_parse_shared(&reader, ctx, "test-i-ova.ovf");
    assert_string_equal(s->name, "TestOva");
    assert_string_equal(s->os_type, "windows7_64Guest");
    assert_int_equal(s->memory_bytes, UINT64_C(2048) << 20);
    assert_int_equal(s->vcpus, 1);
    assert_int_equal(s->firmware, H2K_FIRMWARE_BIOS);
    assert_int_equal(s->secure_boot, 0);
    assert_int_equal(s->n_disks, 1);
    assert_int_equal(s->disks[0].bus, H2K_BUS_SCSI);
    assert_string_equal(s->disks[0].file_ref, "test-ova.vmdk");
    assert_int_equal(s->disks[0].capacity, UINT64_C(32) << 30);
    assert_int_equal(s->disks[0].populated_size, UINT64_C(1008926720));
    assert_int_equal(s->n_removables, 2);
    assert_string_equal(s->removables[0].kind, "cdrom");
    assert_int_equal(s->removables[0].bus, H2K_BUS_IDE);
    assert_int_equal(s->removables[0].slot, 0);
    assert_string_equal(s->removables[1].kind, "floppy");
    assert_int_equal(s->removables[1].bus, H2K_BUS_FLOPPY);
    assert_int_equal(s->removables[1].slot, 0);
    assert_int_equal(s->n_nics, 1);
    assert_string_equal(s->nics[0].network, "VM Network");
    assert_int_equal(s->nics[0].is_bridge, 1);
    assert_string_equal(s->nics[0].model, "e1000");
    h2k_vm_spec_free(s);

    static const char *const roots[] = {"test-i-ova-as-root.ovf", "test-i-ova-checksums.ovf"};
    for (size_t i = 0; i < HK_ARRAY_LEN(roots); i++) {
        s = ve_parse_shared(&reader, ctx, roots[i]);
        assert_string_equal(s->name, "ova-test");
        assert_string_equal(s->os_type, "69"); /* no vmw:osType: the CIM id */
        assert_int_equal(s->memory_bytes, UINT64_C(4096) << 20);
        assert_int_equal(s->vcpus, 2);
        assert_int_equal(s->firmware, H2K_FIRMWARE_UNKNOWN); /* no firmware key */
        assert_int_equal(s->n_disks, 1);
        assert_string_equal(s->disks[0].file_ref, "disk.vmdk");
        assert_int_equal(s->disks[0].capacity, UINT64_C(512) << 20);
        assert_null(s->disks[0].format_hint);
        assert_int_equal(s->disks[0].bus, H2K_BUS_SCSI);
        assert_string_equal(s->disks[0].controller_model, "lsilogic");
        assert_int_equal(s->n_removables, 1);
        assert_int_equal(s->removables[0].bus, H2K_BUS_IDE);
        assert_int_equal(s->removables[0].slot, 1);
        assert_int_equal(s->n_nics, 0);
        h2k_vm_spec_free(s);
    }
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_shared_details),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
