/* Unit tests of the VMX reader (src/disk/vmx.c): golden comparison with
 * virt-v2v's view of the shared .vmx inputs, then our own small cases. */
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

static void
test_escapes_and_duplicates(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = ve_parse_data(&reader, ctx, "escapes.vmx");
    assert_string_equal(s->name, "a\"b|c|d|zz|2 \xc3\xa9");
    assert_int_equal(s->memory_bytes, UINT64_C(4096) << 20); /* the last memsize wins */
    assert_int_equal(s->vcpus, 4);                            /* unquoted value */
    assert_int_equal(s->cores_per_socket, 2);
    assert_string_equal(s->os_type, "other-64");
    assert_string_equal(s->uuid, "421b4b87-e6b7-d881-07a0-c9d221cd3c6b");
    assert_int_equal(s->firmware, H2K_FIRMWARE_UEFI);
    assert_int_equal(s->secure_boot, 0);
    assert_int_equal(s->n_disks, 0);
    assert_int_equal(s->n_nics, 1);
    assert_string_equal(s->nics[0].mac, "00:50:56:aa:bb:cc"); /* addressType static */
    assert_string_equal(s->nics[0].model, "vmxnet3");
    assert_string_equal(s->nics[0].network, "Net One");
    assert_int_equal(s->nics[0].is_bridge, 0);
    h2k_vm_spec_free(s);
    h2k_ctx_free(ctx);
}

static void
test_devices(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = ve_parse_data(&reader, ctx, "devices.vmx");
    char *dir = ts_data_path("vmx");
    char *want;

    assert_int_equal(s->firmware, H2K_FIRMWARE_BIOS);
    assert_int_equal(s->vcpus, 1);
    assert_int_equal(s->n_disks, 5);
    /* SCSI, NVMe, SATA, IDE; by controller then unit */
    assert_int_equal(s->disks[0].bus, H2K_BUS_SCSI);
    assert_string_equal(s->disks[0].file_ref, "sub/first.vmdk");
    want = ts_join(dir, "sub/first.vmdk");
    assert_string_equal(s->disks[0].path, want);
    free(want);
    assert_string_equal(s->disks[0].controller_model, "lsilogic");
    assert_int_equal(s->disks[0].controller_index, 0);
    assert_int_equal(s->disks[0].unit, 2);
    assert_int_equal(s->disks[1].bus, H2K_BUS_SCSI);
    assert_string_equal(s->disks[1].path, "/vmfs/volumes/ds2/vm/other.vmdk"); /* kept */
    assert_string_equal(s->disks[1].controller_model, "pvscsi");
    assert_int_equal(s->disks[1].controller_index, 1);
    assert_int_equal(s->disks[2].bus, H2K_BUS_NVME);
    assert_string_equal(s->disks[2].file_ref, "nvme.vmdk");
    assert_int_equal(s->disks[3].bus, H2K_BUS_SATA);
    assert_string_equal(s->disks[3].file_ref, "sata.vmdk");
    assert_int_equal(s->disks[4].bus, H2K_BUS_IDE);
    assert_string_equal(s->disks[4].file_ref, "ide-disk.vmdk");
    assert_null(s->disks[4].controller_model);

    assert_int_equal(s->n_removables, 4);
    assert_string_equal(s->removables[0].kind, "cdrom");
    assert_int_equal(s->removables[0].bus, H2K_BUS_IDE);
    assert_int_equal(s->removables[0].slot, 1);
    assert_null(s->removables[0].path); /* host drive */
    assert_int_equal(s->removables[1].bus, H2K_BUS_IDE);
    assert_int_equal(s->removables[1].slot, 3);
    want = ts_join(dir, "isos/boot.iso");
    assert_string_equal(s->removables[1].path, want);
    free(want);
    assert_int_equal(s->removables[2].bus, H2K_BUS_SATA);
    assert_int_equal(s->removables[2].slot, 32);
    assert_string_equal(s->removables[3].kind, "floppy");
    assert_int_equal(s->removables[3].bus, H2K_BUS_FLOPPY);
    assert_int_equal(s->removables[3].slot, 0);
    want = ts_join(dir, "floppy.flp");
    assert_string_equal(s->removables[3].path, want);
    free(want);

    assert_int_equal(s->n_nics, 2);
    assert_string_equal(s->nics[0].network, "br0");
    assert_int_equal(s->nics[0].is_bridge, 1);
    assert_null(s->nics[0].mac);
    assert_null(s->nics[0].model);
    assert_string_equal(s->nics[1].network, "ethernet2");
    assert_int_equal(s->nics[1].is_bridge, 0);
    assert_string_equal(s->nics[1].mac, "00:0c:29:ab:cd:ef");
    free(dir);
    h2k_vm_spec_free(s);
    h2k_ctx_free(ctx);
}

static void
test_no_disks_and_defaults(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = ve_parse_data(&reader, ctx, "nodisks.vmx");
    assert_string_equal(s->name, "nodisks"); /* no displayName: the file name */
    assert_int_equal(s->memory_bytes, UINT64_C(32) << 20);
    assert_int_equal(s->vcpus, 1);
    assert_int_equal(s->firmware, H2K_FIRMWARE_BIOS);
    assert_int_equal(s->n_disks, 0);
    assert_int_equal(s->n_removables, 0);
    assert_int_equal(s->n_nics, 0);
    assert_null(s->uuid);
    assert_null(s->disks);
    h2k_vm_spec_free(s);

    /* empty text */
    ts_assert_rc(ctx, h2k_vmx_parse_memory(ctx, "", 0, NULL, NULL, &s), 0);
    assert_null(s->name);
    assert_int_equal(s->n_disks, 0);
    h2k_vm_spec_free(s);
    h2k_ctx_free(ctx);
}

static void
test_memory_and_paths(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    const char *text = "displayName = \"m\"\nscsi0:0.present = \"TRUE\"\n"
                       "scsi0:0.fileName = \"d.vmdk\"\n";
    h2k_vm_spec *s = NULL;
    ts_assert_rc(ctx, h2k_vmx_parse_memory(ctx, text, strlen(text), NULL, "m.vmx", &s), 0);
    assert_string_equal(s->disks[0].path, "d.vmdk"); /* no base_dir: as written */
    assert_null(s->source_path);
    h2k_vm_spec_free(s);
    ts_assert_rc(ctx, h2k_vmx_parse_memory(ctx, text, strlen(text), "/base/", "m.vmx", &s), 0);
    assert_string_equal(s->disks[0].path, "/base/d.vmdk");
    h2k_vm_spec_free(s);

    /* not NUL-terminated: only len bytes are read */
    char buf[64];
    memcpy(buf, "memsize = \"8\"XXXX", 17);
    ts_assert_rc(ctx, h2k_vmx_parse_memory(ctx, buf, 13, NULL, NULL, &s), 0);
    assert_int_equal(s->memory_bytes, UINT64_C(8) << 20);
    h2k_vm_spec_free(s);

    /* too big */
    size_t big = (1u << 20) + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, '#', big);
    ts_assert_rc(ctx, h2k_vmx_parse_memory(ctx, huge, big, NULL, "big.vmx", &s),
                 H2K_ERR_FORMAT);
    assert_null(s);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "big.vmx"));
    free(huge);

    ts_assert_rc(ctx, h2k_vmx_parse_memory(ctx, NULL, 3, NULL, NULL, &s), H2K_ERR_INVALID_ARG);
    ts_assert_rc(ctx, h2k_vmx_parse_file(ctx, "/nonexistent/x.vmx", &s), H2K_ERR_NOT_FOUND);
    h2k_ctx_free(ctx);
}

static void
test_errors(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    const h2k_error *e;

    e = ve_parse_data_fail(&reader, ctx, "huge-memory.vmx", H2K_ERR_FORMAT, NULL);
    assert_string_equal(e->field, "memsize");
    assert_non_null(strstr(e->message, "too large"));
    e = ve_parse_data_fail(&reader, ctx, "overflow-memory.vmx", H2K_ERR_FORMAT, NULL);
    assert_string_equal(e->field, "memsize");
    e = ve_parse_data_fail(&reader, ctx, "bad-memory.vmx", H2K_ERR_FORMAT, NULL);
    assert_string_equal(e->field, "memsize");
    assert_non_null(strstr(e->message, "line 2"));
    e = ve_parse_data_fail(&reader, ctx, "zero-vcpus.vmx", H2K_ERR_FORMAT, NULL);
    assert_string_equal(e->field, "numvcpus");
    e = ve_parse_data_fail(&reader, ctx, "unterminated.vmx", H2K_ERR_FORMAT, NULL);
    assert_string_equal(e->field, "guestOS");
    assert_non_null(strstr(e->message, "line 2"));
    assert_int_equal(e->offset, 18);
    e = ve_parse_data_fail(&reader, ctx, "nul-escape.vmx", H2K_ERR_FORMAT, NULL);
    assert_string_equal(e->field, "displayName");
    e = ve_parse_data_fail(&reader, ctx, "nul-byte.vmx", H2K_ERR_FORMAT, NULL);
    assert_int_equal(e->offset, 18);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_shared_details),
        cmocka_unit_test(test_escapes_and_duplicates),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_no_disks_and_defaults),
        cmocka_unit_test(test_memory_and_paths),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
