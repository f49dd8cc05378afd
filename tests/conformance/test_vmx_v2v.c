/* Conformance of the .vmx parser with virt-v2v's view of the shared .vmx
 * inputs (shared/testdata: each input and its .expected text).  Built and run
 * only when the shared folder is beside the repository (tests/CMakeLists.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"
#include "v2v_expected.h"

static const ve_reader reader = {h2k_vmx_parse_file, "vmx"};

static void
test_golden(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    for (int i = 1; i <= 7; i++) {
        char base[64];
        snprintf(base, sizeof(base), "test-i-vmx-%d", i);
        h2k_vm_spec_free(ve_golden(&reader, ctx, base, 1));
    }
    h2k_ctx_free(ctx);
}

/* Facts of the shared inputs the .expected text does not show. */
static void
test_shared_details(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();

    h2k_vm_spec *s = ve_parse_shared(&reader, ctx, "test-i-vmx-1.vmx");
    assert_int_equal(s->n_disks, 21);
    assert_string_equal(s->disks[0].file_ref, "BZ1308535_21disks.vmdk");
    assert_non_null(s->disks[0].path);
    assert_true(s->disks[0].path[0] == '/');
    assert_true(hk_endswith_nocase(s->disks[0].path, "/v2v-inputs/BZ1308535_21disks.vmdk"));
    assert_string_equal(s->disks[0].controller_model, "pvscsi");
    assert_int_equal(s->disks[0].controller_index, 0);
    assert_int_equal(s->disks[0].unit, 0);
    /* scsi0:7 is absent: the 8th disk is scsi0:8 */
    assert_string_equal(s->disks[7].file_ref, "BZ1308535_21disks_7.vmdk");
    assert_int_equal(s->disks[7].unit, 8);
    assert_string_equal(s->disks[15].file_ref, "BZ1308535_21disks_15.vmdk");
    assert_int_equal(s->disks[15].controller_index, 1);
    assert_int_equal(s->disks[15].unit, 0);
    assert_string_equal(s->disks[20].file_ref, "BZ1308535_21disks_20.vmdk");
    assert_string_equal(s->uuid, "564d96af-e646-bd86-5c4d-654e7736ef31");
    assert_string_equal(s->os_type, "rhel6-64");
    assert_int_equal(s->n_removables, 1);
    assert_string_equal(s->removables[0].path,
                        "/vmfs/volumes/5458b680-34ec3500-9f36-001320f5f6ca/ISOs/"
                        "RHEL-7.1-20150219.1-Server-x86_64-boot.iso");
    assert_int_equal(s->disks[0].capacity, 0);
    h2k_vm_spec_free(s);

    /* SATA CD-ROMs: reported by us, not by virt-v2v */
    s = ve_parse_shared(&reader, ctx, "test-i-vmx-2.vmx");
    assert_int_equal(s->n_removables, 1);
    assert_string_equal(s->removables[0].kind, "cdrom");
    assert_int_equal(s->removables[0].bus, H2K_BUS_SATA);
    assert_int_equal(s->removables[0].slot, 0);
    assert_string_equal(s->disks[0].controller_model, "pvscsi");
    h2k_vm_spec_free(s);

    s = ve_parse_shared(&reader, ctx, "test-i-vmx-5.vmx");
    assert_int_equal(s->cores_per_socket, 1);
    assert_string_equal(s->disks[0].controller_model, "lsisas1068");
    assert_string_equal(s->os_type, "windows9-64");
    h2k_vm_spec_free(s);

    s = ve_parse_shared(&reader, ctx, "test-i-vmx-6.vmx");
    assert_int_equal(s->disks[0].bus, H2K_BUS_NVME);
    assert_string_equal(s->disks[0].file_ref, "nvme-disk.vmdk");
    assert_int_equal(s->n_removables, 1); /* sata0:0 cdrom-raw, no image */
    assert_int_equal(s->removables[0].bus, H2K_BUS_SATA);
    assert_null(s->removables[0].path);
    h2k_vm_spec_free(s);

    s = ve_parse_shared(&reader, ctx, "test-i-vmx-7.vmx");
    assert_int_equal(s->n_disks, 2);
    assert_string_equal(s->disks[1].file_ref, "win2019_1.vmdk");
    assert_int_equal(s->disks[1].bus, H2K_BUS_SATA);
    assert_int_equal(s->disks[1].unit, 3);
    assert_string_equal(s->disks[1].controller_model, "ahci");
    assert_int_equal(s->firmware, H2K_FIRMWARE_UEFI);
    assert_int_equal(s->secure_boot, 1);
    assert_int_equal(s->n_removables, 1);
    assert_int_equal(s->removables[0].bus, H2K_BUS_SATA);
    h2k_vm_spec_free(s);
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
