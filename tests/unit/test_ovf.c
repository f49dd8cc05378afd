/* Unit tests of the OVF reader (src/disk/ovf.c): our own cases
 * (tests/data).  The comparison with virt-v2v's view of the shared inputs is
 * tests/conformance/test_ovf_v2v.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"
#include "v2v_expected.h"

static const ve_reader reader = {h2k_ovf_parse_file, "ovf"};

static char *
dir_join(const char *rel)
{
    char *dir = ts_data_path("ovf");
    char *p = ts_join(dir, rel);
    free(dir);
    return p;
}

static void
test_full(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = ve_parse_data(&reader, ctx, "full.ovf");
    char *p;
    assert_string_equal(s->name, "vm-id"); /* no Name: ovf:id */
    assert_string_equal(s->os_type, "101");
    assert_int_equal(s->vcpus, 8);
    assert_int_equal(s->cores_per_socket, 4);
    assert_int_equal(s->memory_bytes, UINT64_C(6) << 30);
    assert_int_equal(s->firmware, H2K_FIRMWARE_UEFI);
    assert_int_equal(s->secure_boot, 1);

    assert_int_equal(s->n_disks, 3); /* in item order, not DiskSection order */
    assert_int_equal(s->disks[0].bus, H2K_BUS_NVME);
    assert_string_equal(s->disks[0].controller_model, "nvme");
    assert_int_equal(s->disks[0].controller_index, 1);
    assert_int_equal(s->disks[0].unit, 3);
    assert_int_equal(s->disks[0].capacity, 1048576);
    assert_string_equal(s->disks[0].format_hint, "vmdk-streamOptimized");
    assert_string_equal(s->disks[0].file_ref, "b.vmdk");

    assert_int_equal(s->disks[1].bus, H2K_BUS_SATA);
    assert_string_equal(s->disks[1].controller_model, "ahci");
    assert_int_equal(s->disks[1].controller_index, 0);
    assert_int_equal(s->disks[1].unit, 1);
    assert_int_equal(s->disks[1].capacity, UINT64_C(4) << 30);
    assert_int_equal(s->disks[1].populated_size, 12345);
    assert_string_equal(s->disks[1].format_hint, "vmdk-sparse");
    assert_null(s->disks[1].compression); /* identity */
    p = dir_join("disks/a.vmdk");
    assert_string_equal(s->disks[1].path, p);
    free(p);

    assert_int_equal(s->disks[2].bus, H2K_BUS_SCSI);
    assert_string_equal(s->disks[2].controller_model, "pvscsi");
    assert_int_equal(s->disks[2].controller_index, 2);
    assert_int_equal(s->disks[2].unit, -1);
    assert_int_equal(s->disks[2].capacity, 0); /* ${size}: a property, unknown */
    assert_string_equal(s->disks[2].format_hint, "qcow2");

    assert_int_equal(s->n_removables, 2);
    assert_string_equal(s->removables[0].kind, "cdrom");
    assert_int_equal(s->removables[0].bus, H2K_BUS_SATA);
    assert_int_equal(s->removables[0].slot, 2);
    p = dir_join("boot.iso");
    assert_string_equal(s->removables[0].path, p);
    free(p);
    assert_string_equal(s->removables[1].kind, "floppy");
    assert_int_equal(s->removables[1].bus, H2K_BUS_FLOPPY);
    assert_int_equal(s->removables[1].slot, -1);
    assert_null(s->removables[1].path);

    assert_int_equal(s->n_nics, 2);
    assert_string_equal(s->nics[0].network, "LAN & \"DMZ\"");
    assert_int_equal(s->nics[0].is_bridge, 1);
    assert_string_equal(s->nics[0].model, "vmxnet3");
    assert_string_equal(s->nics[0].mac, "00:50:56:ab:cd:ef");
    assert_null(s->nics[1].network);
    assert_int_equal(s->nics[1].is_bridge, 0);
    assert_null(s->nics[1].model);
    assert_null(s->nics[1].mac);
    h2k_vm_spec_free(s);
    h2k_ctx_free(ctx);
}

static void
test_memory_api(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char *path = ts_data_path("ovf/full.ovf");
    size_t len = 0;
    char *xml = ts_read_file(path, &len);
    h2k_vm_spec *s = NULL;
    /* no base_dir: paths are the hrefs; no source_path */
    ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, xml, len, NULL, "x.ovf", &s), 0);
    assert_string_equal(s->disks[1].path, "disks/a.vmdk");
    assert_string_equal(s->disks[1].file_ref, "disks/a.vmdk");
    assert_null(s->source_path);
    h2k_vm_spec_free(s);
    ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, xml, len, "/pkg", NULL, &s), 0);
    assert_string_equal(s->disks[1].path, "/pkg/disks/a.vmdk");
    h2k_vm_spec_free(s);

    /* truncated document: malformed, named by name_for_errors */
    ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, xml, len / 2, NULL, "half.ovf", &s),
                 H2K_ERR_FORMAT);
    assert_null(s);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "half.ovf"));
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "malformed XML at line"));

    ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, "", 0, NULL, NULL, &s), H2K_ERR_FORMAT);
    size_t big = (16u << 20) + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, huge, big, NULL, "big.ovf", &s), H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "big.ovf"));
    free(huge);
    ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, NULL, 5, NULL, NULL, &s), H2K_ERR_INVALID_ARG);
    ts_assert_rc(ctx, h2k_ovf_parse_file(ctx, "/nonexistent/x.ovf", &s), H2K_ERR_NOT_FOUND);
    free(xml);
    free(path);
    h2k_ctx_free(ctx);
}

static void
test_secure_boot(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = ve_parse_data(&reader, ctx, "secureboot.ovf");
    assert_string_equal(s->name, "secure"); /* trimmed */
    assert_string_equal(s->os_type, "rhel8_64Guest");
    assert_int_equal(s->vcpus, 2);
    assert_int_equal(s->memory_bytes, UINT64_C(3072) << 20); /* "MegaBytes" */
    assert_int_equal(s->firmware, H2K_FIRMWARE_UEFI);
    assert_int_equal(s->secure_boot, 1);
    assert_int_equal(s->n_disks, 0);
    h2k_vm_spec_free(s);
    h2k_ctx_free(ctx);
}

static void
test_no_disks(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = ve_parse_data(&reader, ctx, "nodisks.ovf");
    assert_string_equal(s->name, "case");
    assert_int_equal(s->memory_bytes, UINT64_C(512) << 20);
    assert_int_equal(s->vcpus, 0); /* no CPU item: unknown */
    assert_int_equal(s->n_disks, 0);
    assert_int_equal(s->n_removables, 0);
    assert_int_equal(s->n_nics, 0);
    h2k_vm_spec_free(s);
    h2k_ctx_free(ctx);
}

static void
test_errors(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    const h2k_error *e;

    e = ve_parse_data_fail(&reader, ctx, "broken.ovf", H2K_ERR_FORMAT, "Item");
    assert_non_null(strstr(e->message, "malformed XML at line 24"));
    e = ve_parse_data_fail(&reader, ctx, "missing-fileref.ovf", H2K_ERR_FORMAT, "fileRef");
    assert_non_null(strstr(e->message, "file2"));
    ve_parse_data_fail(&reader, ctx, "missing-disk.ovf", H2K_ERR_FORMAT, "HostResource");
    ve_parse_data_fail(&reader, ctx, "bad-hostresource.ovf", H2K_ERR_FORMAT, "HostResource");
    e = ve_parse_data_fail(&reader, ctx, "href-dotdot.ovf", H2K_ERR_FORMAT, "href");
    assert_non_null(strstr(e->message, ".."));
    ve_parse_data_fail(&reader, ctx, "href-absolute.ovf", H2K_ERR_FORMAT, "href");
    ve_parse_data_fail(&reader, ctx, "href-uri.ovf", H2K_ERR_FORMAT, "href");
    e = ve_parse_data_fail(&reader, ctx, "huge-memory.ovf", H2K_ERR_FORMAT, "VirtualQuantity");
    assert_non_null(strstr(e->message, "overflows"));
    ve_parse_data_fail(&reader, ctx, "bad-units.ovf", H2K_ERR_FORMAT, "AllocationUnits");
    ve_parse_data_fail(&reader, ctx, "huge-capacity.ovf", H2K_ERR_FORMAT, "capacity");
    ve_parse_data_fail(&reader, ctx, "bad-compression.ovf", H2K_ERR_UNSUPPORTED, "compression");
    ve_parse_data_fail(&reader, ctx, "blank-disk.ovf", H2K_ERR_UNSUPPORTED, "fileRef");
    ve_parse_data_fail(&reader, ctx, "doctype.ovf", H2K_ERR_FORMAT, "DOCTYPE");
    ve_parse_data_fail(&reader, ctx, "xxe.ovf", H2K_ERR_FORMAT, "DOCTYPE");
    ve_parse_data_fail(&reader, ctx, "not-ovf.xml", H2K_ERR_FORMAT, "Envelope");
    ve_parse_data_fail(&reader, ctx, "two-vms.ovf", H2K_ERR_UNSUPPORTED, "VirtualSystem");
    ve_parse_data_fail(&reader, ctx, "no-hardware.ovf", H2K_ERR_FORMAT, "VirtualHardwareSection");
    h2k_ctx_free(ctx);
}

/* Builds an envelope with @n disk items listed in reverse order (and one
 * extra item when @extra_items); caller frees. */
static char *
many_disks(unsigned n, unsigned extra_items)
{
    hk_buf b = {0};
    hk_buf_puts(&b, "<?xml version=\"1.0\"?><Envelope "
                    "xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
                    "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "
                    "xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
                    "CIM_ResourceAllocationSettingData\"><References>");
    for (unsigned i = 0; i < n; i++)
        hk_buf_printf(&b, "<File ovf:href=\"d%u.vmdk\" ovf:id=\"f%u\"/>", i, i);
    hk_buf_puts(&b, "</References><DiskSection>");
    for (unsigned i = 0; i < n; i++)
        hk_buf_printf(&b, "<Disk ovf:capacity=\"%u\" ovf:diskId=\"d%u\" ovf:fileRef=\"f%u\"/>", i,
                      i, i);
    hk_buf_puts(&b, "</DiskSection><VirtualSystem ovf:id=\"many\"><VirtualHardwareSection>"
                    "<Item><rasd:InstanceID>c</rasd:InstanceID><rasd:ResourceType>6"
                    "</rasd:ResourceType></Item>");
    for (unsigned i = n; i-- > 0;)
        hk_buf_printf(&b,
                      "<Item><rasd:HostResource>ovf:/disk/d%u</rasd:HostResource>"
                      "<rasd:InstanceID>%u</rasd:InstanceID><rasd:Parent>c</rasd:Parent>"
                      "<rasd:ResourceType>17</rasd:ResourceType></Item>",
                      i, i);
    for (unsigned i = 0; i < extra_items; i++)
        hk_buf_puts(&b, "<Item><rasd:ResourceType>1</rasd:ResourceType></Item>");
    hk_buf_puts(&b, "</VirtualHardwareSection></VirtualSystem></Envelope>");
    char *s = hk_buf_steal(&b);
    assert_non_null(s);
    return s;
}

static void
test_many_items(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = NULL;
    char *xml = many_disks(2000, 0);
    double t0 = hk_now();
    ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, xml, strlen(xml), NULL, "many.ovf", &s), 0);
    assert_true(hk_now() - t0 < 60.0); /* a bound against quadratic blow-up, not a speed test */
    assert_int_equal(s->n_disks, 2000);
    assert_string_equal(s->disks[0].file_ref, "d1999.vmdk"); /* item order */
    assert_int_equal(s->disks[0].capacity, 1999);
    assert_string_equal(s->disks[1999].file_ref, "d0.vmdk");
    assert_int_equal(s->disks[1999].bus, H2K_BUS_SCSI);
    h2k_vm_spec_free(s);
    free(xml);

    /* 1 controller + 4000 disks + 96 others = 4097 items: over the cap */
    xml = many_disks(4000, 96);
    ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, xml, strlen(xml), NULL, "many.ovf", &s),
                 H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "Item");
    free(xml);
    h2k_ctx_free(ctx);
}

/* A one-disk envelope with the given values (each may be any text; XML
 * character references like &#27; are how a document carries controls). */
static char *
small_ovf(const char *name, const char *os, const char *cpus, const char *mem,
          const char *mem_units, const char *cap, const char *cap_units, const char *net)
{
    char *xml = hk_asprintf(
        "<?xml version=\"1.0\"?><Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
        "CIM_ResourceAllocationSettingData\"><References><File ovf:href=\"d.vmdk\" "
        "ovf:id=\"f\"/></References><DiskSection><Disk ovf:capacity=\"%s\" "
        "ovf:capacityAllocationUnits=\"%s\" ovf:diskId=\"d\" ovf:fileRef=\"f\"/></DiskSection>"
        "<VirtualSystem ovf:id=\"vm\"><Name>%s</Name><OperatingSystemSection ovf:id=\"1\" "
        "ovf:osType=\"%s\"/><VirtualHardwareSection>"
        "<Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType>"
        "<rasd:VirtualQuantity>%s</rasd:VirtualQuantity></Item>"
        "<Item><rasd:AllocationUnits>%s</rasd:AllocationUnits><rasd:InstanceID>2"
        "</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>%s"
        "</rasd:VirtualQuantity></Item>"
        "<Item><rasd:InstanceID>c</rasd:InstanceID><rasd:ResourceType>6</rasd:ResourceType>"
        "</Item><Item><rasd:HostResource>ovf:/disk/d</rasd:HostResource><rasd:InstanceID>4"
        "</rasd:InstanceID><rasd:Parent>c</rasd:Parent><rasd:ResourceType>17"
        "</rasd:ResourceType></Item><Item><rasd:Connection>%s</rasd:Connection>"
        "<rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>E1000</rasd:ResourceSubType>"
        "<rasd:ResourceType>10</rasd:ResourceType></Item>"
        "</VirtualHardwareSection></VirtualSystem></Envelope>",
        cap, cap_units, name, os, cpus, mem_units, mem, net);
    assert_non_null(xml);
    return xml;
}

/* Values beyond what VMware allows a VM are refused naming file and field;
 * negative and overflowing numbers too.  The limits themselves pass. */
static void
test_limits(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = NULL;
    char *xml = small_ovf("vm", "otherGuest", "768", "24", "byte * 2^40", "62", "byte * 2^40",
                          "VM Network");
    ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, xml, strlen(xml), NULL, "l.ovf", &s), 0);
    assert_int_equal(s->vcpus, 768);
    assert_int_equal(s->memory_bytes, UINT64_C(24) << 40);
    assert_int_equal(s->disks[0].capacity, UINT64_C(62) << 40);
    h2k_vm_spec_free(s);
    free(xml);

    static const struct {
        const char *cpus, *mem, *mem_units, *cap, *cap_units, *field, *says;
    } bad[] = {
        {"769", "1024", "byte * 2^20", "1", "byte", "VirtualQuantity", "VMware allows 1-768"},
        {"-1", "1024", "byte * 2^20", "1", "byte", "VirtualQuantity", "negative"},
        {"4", "25165825", "byte * 2^20", "1", "byte", "VirtualQuantity", "24 TiB"},
        {"4", "1", "byte * 2^60", "1", "byte", "VirtualQuantity", "24 TiB"},
        {"4", "-512", "byte * 2^20", "1", "byte", "VirtualQuantity", "negative"},
        {"4", "99999999999999999999", "byte * 2^20", "1", "byte", "VirtualQuantity", "too large"},
        {"4", "1024", "byte * 2^20", "63", "byte * 2^40", "capacity", "62 TiB"},
        {"4", "1024", "byte * 2^20", "-10", "byte", "capacity", "negative"},
        {"4", "1024", "byte * 2^20", "18446744073709551616", "byte", "capacity", "too large"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xml = small_ovf("vm", "otherGuest", bad[i].cpus, bad[i].mem, bad[i].mem_units, bad[i].cap,
                        bad[i].cap_units, "VM Network");
        s = NULL;
        ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, xml, strlen(xml), NULL, "l.ovf", &s),
                     H2K_ERR_FORMAT);
        assert_null(s);
        const h2k_error *e = h2k_ctx_last_error(ctx);
        if (!strstr(e->message, bad[i].says) || strcmp(e->field, bad[i].field) != 0)
            print_error("case %zu: %s (field %s)\n", i, e->message, e->field);
        assert_string_equal(e->field, bad[i].field);
        assert_non_null(strstr(e->message, "l.ovf"));
        assert_non_null(strstr(e->message, bad[i].says));
        free(xml);
    }
    h2k_ctx_free(ctx);
}

typedef struct {
    char text[8192];
} logbuf;

static void
capture(void *userdata, h2k_log_level level, const char *domain, const char *message)
{
    (void)level;
    (void)domain;
    logbuf *b = userdata;
    size_t l = strlen(b->text);
    snprintf(b->text + l, sizeof(b->text) - l, "%s\n", message);
}

/* Names with control characters are kept, and warned about escaped;
 * messages quoting document values never carry a raw control character.
 * XML 1.0 allows no C0 control but tab, newline and CR (&#27; is malformed
 * XML), but C1 controls such as U+009B (CSI) and bidi overrides pass. */
static void
test_controls_rendered_safely(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    logbuf lb = {""};
    h2k_ctx_set_log(ctx, capture, &lb, H2K_LOG_WARNING);
    h2k_vm_spec *s = NULL;
    char *xml = small_ovf("evil&#155;2J&#10;name", "os&#8238;t&#9;x", "2", "1024", "byte * 2^20",
                          "1", "byte", "net&#155;x");
    ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, xml, strlen(xml), NULL, "c.ovf", &s), 0);
    assert_string_equal(s->name, "evil\xc2\x9b"
                                 "2J\nname");
    assert_string_equal(s->os_type, "os\xe2\x80\xaet\tx");
    assert_string_equal(s->nics[0].network, "net\xc2\x9bx");
    h2k_vm_spec_free(s);
    free(xml);
    for (const char *p = lb.text; *p; p++)
        if (*p != '\n')
            assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
    assert_null(strstr(lb.text, "\xc2\x9b"));
    assert_non_null(strstr(lb.text, "evil\\xc2\\x9b2J\\x0aname"));
    assert_non_null(strstr(lb.text, "os\\xe2\\x80\\xaet\\x09x"));
    assert_non_null(strstr(lb.text, "net\\xc2\\x9bx"));

    /* an error quoting a value */
    xml = small_ovf("vm", "o", "2&#155;[31m&#10;x", "1024", "byte * 2^20", "1", "byte", "n");
    ts_assert_rc(ctx, h2k_ovf_parse_memory(ctx, xml, strlen(xml), NULL, "c.ovf", &s),
                 H2K_ERR_FORMAT);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_null(strstr(e->message, "\xc2\x9b"));
    assert_null(strchr(e->message, '\n'));
    assert_non_null(strstr(e->message, "2\\xc2\\x9b[31m\\x0ax"));
    free(xml);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_memory_api),
        cmocka_unit_test(test_no_disks),
        cmocka_unit_test(test_secure_boot),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_controls_rendered_safely),
        cmocka_unit_test(test_many_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
