/* Unit tests of h2k_vm_spec: names, release and the JSON form. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testsupport.h"

static void
test_names(void **state)
{
    (void)state;
    assert_string_equal(h2k_bus_name(H2K_BUS_SCSI), "scsi");
    assert_string_equal(h2k_bus_name(H2K_BUS_IDE), "ide");
    assert_string_equal(h2k_bus_name((h2k_bus)99), "unknown");
    assert_string_equal(h2k_firmware_name(H2K_FIRMWARE_UEFI), "uefi");
    assert_string_equal(h2k_firmware_name(H2K_FIRMWARE_UNKNOWN), "unknown");
    assert_string_equal(h2k_disk_format_name(H2K_FORMAT_VHD), "vhd");
    assert_string_equal(h2k_disk_format_qemu_name(H2K_FORMAT_VHD), "vpc");
    assert_null(h2k_disk_format_qemu_name(H2K_FORMAT_UNKNOWN));
    assert_int_equal(h2k_disk_format_from_name("vpc"), H2K_FORMAT_VHD);
    assert_int_equal(h2k_disk_format_from_name("QCOW2"), H2K_FORMAT_QCOW2);
    assert_int_equal(h2k_disk_format_from_name("nope"), H2K_FORMAT_UNKNOWN);
    assert_int_equal(h2k_disk_format_from_name(NULL), H2K_FORMAT_UNKNOWN);
}

static void
test_json(void **state)
{
    (void)state;
    h2k_vm_spec *s = h2k_vm_spec_new();
    assert_non_null(s);
    s->name = strdup("web \"01\"");
    s->memory_bytes = 2147483648ULL;
    s->vcpus = 2;
    s->firmware = H2K_FIRMWARE_UEFI;
    s->secure_boot = 1;
    s->n_disks = 1;
    s->disks = calloc(1, sizeof(*s->disks));
    s->disks[0].path = strdup("/vm/disk.vmdk");
    s->disks[0].bus = H2K_BUS_SCSI;
    s->disks[0].controller_index = 0;
    s->disks[0].unit = 1;
    s->disks[0].container_path = strdup("/vm.ova");
    s->disks[0].container_offset = 1536;
    s->n_nics = 1;
    s->nics = calloc(1, sizeof(*s->nics));
    s->nics[0].mac = strdup("00:50:56:aa:bb:cc");
    s->nics[0].network = strdup("VM Network");
    s->nics[0].model = strdup("vmxnet3");

    char *j = h2k_vm_spec_to_json(s);
    assert_non_null(j);
    json_object *o = json_tokener_parse(j);
    assert_non_null(o);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "name", &v));
    assert_string_equal(json_object_get_string(v), "web \"01\"");
    assert_true(json_object_object_get_ex(o, "memory_bytes", &v));
    assert_true(json_object_get_int64(v) == 2147483648LL);
    assert_true(json_object_object_get_ex(o, "firmware", &v));
    assert_string_equal(json_object_get_string(v), "uefi");
    assert_true(json_object_object_get_ex(o, "secure_boot", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(o, "disks", &v));
    assert_int_equal(json_object_array_length(v), 1);
    json_object *d = json_object_array_get_idx(v, 0), *f;
    assert_true(json_object_object_get_ex(d, "bus", &f));
    assert_string_equal(json_object_get_string(f), "scsi");
    assert_true(json_object_object_get_ex(d, "container_offset", &f));
    assert_int_equal(json_object_get_int64(f), 1536);
    assert_true(json_object_object_get_ex(o, "nics", &v));
    json_object *n = json_object_array_get_idx(v, 0);
    assert_true(json_object_object_get_ex(n, "mac", &f));
    assert_string_equal(json_object_get_string(f), "00:50:56:aa:bb:cc");
    assert_true(json_object_object_get_ex(o, "uuid", &v));
    assert_null(v); /* absent values are JSON null */
    json_object_put(o);
    free(j);
    h2k_vm_spec_free(s);
    h2k_vm_spec_free(NULL);
    assert_null(h2k_vm_spec_to_json(NULL));
}

/* Arrays grow through the library: defaults set, old elements kept, reads by index. */
static void
test_add_elements(void **state)
{
    (void)state;
    h2k_vm_spec *s = h2k_vm_spec_new();
    assert_non_null(s);
    h2k_vm_disk *d = NULL;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(h2k_vm_spec_add_disk(s, &d), 0);
        assert_non_null(d);
        assert_int_equal(d->controller_index, -1);
        assert_int_equal(d->unit, -1);
        assert_int_equal(d->bus, H2K_BUS_UNKNOWN);
        d->path = strdup(i % 2 ? "/b.vmdk" : "/a.vmdk");
        d->bus = H2K_BUS_SCSI;
    }
    assert_int_equal(s->n_disks, 5);
    assert_string_equal(h2k_vm_spec_disk_at(s, 3)->path, "/b.vmdk");
    assert_null(h2k_vm_spec_disk_at(s, 5));
    assert_null(h2k_vm_spec_disk_at(NULL, 0));
    h2k_vm_nic *n = NULL;
    assert_int_equal(h2k_vm_spec_add_nic(s, &n), 0);
    n->mac = strdup("00:50:56:00:00:01");
    assert_int_equal(h2k_vm_spec_add_nic(s, NULL), 0);
    assert_int_equal(s->n_nics, 2);
    assert_string_equal(h2k_vm_spec_nic_at(s, 0)->mac, "00:50:56:00:00:01");
    assert_null(h2k_vm_spec_nic_at(s, 1)->mac);
    h2k_vm_removable *r = NULL;
    assert_int_equal(h2k_vm_spec_add_removable(s, &r), 0);
    assert_int_equal(r->slot, -1);
    assert_non_null(h2k_vm_spec_removable_at(s, 0));
    assert_int_equal(h2k_vm_spec_add_disk(NULL, &d), H2K_ERR_INVALID_ARG);
    assert_null(d);
    h2k_vm_spec_free(s);
}

static void
test_bus_and_progress_names(void **state)
{
    (void)state;
    for (int b = H2K_BUS_IDE; b <= H2K_BUS_FLOPPY; b++)
        assert_int_equal(h2k_bus_from_name(h2k_bus_name((h2k_bus)b)), b);
    assert_int_equal(h2k_bus_from_name("unknown"), -1);
    assert_int_equal(h2k_progress_stage_unit("convert"), H2K_PROGRESS_PERMILLE);
    assert_int_equal(h2k_progress_stage_unit("copy"), H2K_PROGRESS_BYTES);
    assert_int_equal(h2k_progress_stage_unit("probe"), H2K_PROGRESS_ITEMS);
    assert_int_equal(h2k_progress_stage_unit("boot"), H2K_PROGRESS_STEPS);
    assert_int_equal(h2k_progress_stage_unit("nonsense"), H2K_PROGRESS_UNKNOWN);
    assert_int_equal(h2k_progress_stage_unit(NULL), H2K_PROGRESS_UNKNOWN);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_add_elements),
        cmocka_unit_test(test_bus_and_progress_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
