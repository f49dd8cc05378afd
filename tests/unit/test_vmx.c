/* Unit tests of the VMX reader (src/disk/vmx.c): our own cases
 * (tests/data).  The comparison with virt-v2v's view of the shared inputs is
 * tests/conformance/test_vmx_v2v.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"
#include "v2v_expected.h"

static const ve_reader reader = {h2k_vmx_parse_file, "vmx"};

static void
test_escapes_and_duplicates(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = ve_parse_data(&reader, ctx, "escapes.vmx");
    assert_string_equal(s->name, "a\"b|c|d|zz|2 \xc3\xa9");
    assert_int_equal(s->memory_bytes, UINT64_C(4096) << 20); /* the last memsize wins */
    assert_int_equal(s->vcpus, 4);                           /* unquoted value */
    assert_int_equal(s->cores_per_socket, 2);
    assert_string_equal(s->os_type, "other-64");
    assert_string_equal(s->uuid, "421b4b87-e6b7-d881-07a0-c9d221cd3c6b");
    assert_int_equal(s->firmware, H2K_FIRMWARE_UEFI);
    assert_int_equal(s->secure_boot, 0);
    assert_int_equal(s->vtpm, 0); /* no vtpm.present */
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
    ts_assert_rc(ctx, h2k_vmx_parse_memory(ctx, huge, big, NULL, "big.vmx", &s), H2K_ERR_FORMAT);
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
    assert_non_null(strstr(e->message, "more than VMware allows"));
    assert_non_null(strstr(e->message, "huge-memory.vmx"));
    e = ve_parse_data_fail(&reader, ctx, "overflow-memory.vmx", H2K_ERR_FORMAT, NULL);
    assert_string_equal(e->field, "memsize");
    assert_non_null(strstr(e->message, "too large"));
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

/* Log lines captured at warning level. */
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

/* Parses @text as "m.vmx"; returns rc; *out set on success. */
static int
parse_text(h2k_ctx *ctx, const char *text, h2k_vm_spec **out)
{
    return h2k_vmx_parse_memory(ctx, text, strlen(text), "/base", "m.vmx", out);
}

/* Numbers beyond what VMware allows a VM are refused, naming file and key;
 * negative and overflowing ones too.  The limits themselves are accepted. */
static void
test_limits(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = NULL;
    ts_assert_rc(ctx, parse_text(ctx, "memsize = \"25165824\"\nnumvcpus = \"768\"\n", &s), 0);
    assert_int_equal(s->memory_bytes, UINT64_C(24) << 40);
    assert_int_equal(s->vcpus, 768);
    h2k_vm_spec_free(s);

    static const struct {
        const char *text, *field, *says;
    } bad[] = {
        {"memsize = \"25165825\"\n", "memsize", "more than VMware allows"},
        {"memSize = \"1099511627776\"\n", "memSize", "more than VMware allows"},
        {"memsize = \"18446744073709551616\"\n", "memsize", "too large"},
        {"memsize = \"-1024\"\n", "memsize", "negative"},
        {"memsize = \"0x1000\"\n", "memsize", "not a number"},
        {"memsize = \"4096 \"\nnumvcpus = \"769\"\n", "numvcpus", "VMware allows 1-768"},
        {"numvcpus = \"4294967297\"\n", "numvcpus", "out of range"},
        {"numvcpus = \"-1\"\n", "numvcpus", "negative"},
        {"numvcpus = \"99999999999999999999999\"\n", "numvcpus", "too large"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = NULL;
        ts_assert_rc(ctx, parse_text(ctx, bad[i].text, &s), H2K_ERR_FORMAT);
        assert_null(s);
        const h2k_error *e = h2k_ctx_last_error(ctx);
        assert_string_equal(e->field, bad[i].field);
        assert_non_null(strstr(e->message, "m.vmx"));
        if (!strstr(e->message, bad[i].says))
            print_error("case %zu: %s\n", i, e->message);
        assert_non_null(strstr(e->message, bad[i].says));
    }
    h2k_ctx_free(ctx);
}

/* VMware's |XX escapes are decoded; the spec keeps the decoded strings, and
 * warnings quoting them carry no raw control character. */
static void
test_escapes_decoded_and_safe(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    logbuf lb = {""};
    h2k_ctx_set_log(ctx, capture, &lb, H2K_LOG_WARNING);
    h2k_vm_spec *s = NULL;
    const char *text = "displayName = \"a|0Ab|1B[31mred|22q|7Cp|7c|09t|0d|9B\"\n"
                       "guestOS = \"other|1B]0;pwned|07\"\n"
                       "firmware = \"e|1B[2Jfi\"\n"
                       "uuid.bios = \"|1B[1m\"\n"
                       "ethernet0.present = \"TRUE\"\n"
                       "ethernet0.networkName = \"VM |0ANetwork\"\n"
                       "ethernet0.address = \"00:50|1B\"\n"
                       "ethernet0.addressType = \"static\"\n"
                       "cpuid.coresPerSocket = \"|1B[5m\"\n";
    ts_assert_rc(ctx, parse_text(ctx, text, &s), 0);
    assert_string_equal(s->name, "a\nb\x1b[31mred\"q|p|\tt\r\x9b");
    assert_string_equal(s->os_type, "other\x1b]0;pwned\x07");
    assert_string_equal(s->nics[0].network, "VM \nNetwork");
    assert_null(s->uuid);
    /* JSON escapes them too */
    char *j = h2k_vm_spec_to_json(s);
    assert_non_null(j);
    assert_null(strchr(j, '\x1b'));
    free(j);
    h2k_vm_spec_free(s);
    /* every warning was written; none holds a control character but the
     * newlines between messages */
    for (const char *p = lb.text; *p; p++)
        if (*p != '\n')
            assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f &&
                        (unsigned char)*p != 0x9b);
    assert_non_null(strstr(lb.text, "a\\x0ab\\x1b[31mred\"q|p|\\x09t\\x0d\\x9b"));
    assert_non_null(strstr(lb.text, "other\\x1b]0;pwned\\x07"));
    assert_non_null(strstr(lb.text, "VM \\x0aNetwork"));
    assert_non_null(strstr(lb.text, "e\\x1b[2Jfi"));
    assert_non_null(strstr(lb.text, "00:50\\x1b"));
    assert_non_null(strstr(lb.text, "\\x1b[1m"));
    assert_non_null(strstr(lb.text, "\\x1b[5m"));

    /* an error quoting a value */
    lb.text[0] = '\0';
    s = NULL;
    ts_assert_rc(ctx, parse_text(ctx, "memsize = \"1|1B[2J\"\n", &s), H2K_ERR_FORMAT);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_null(strchr(e->message, '\x1b'));
    assert_non_null(strstr(e->message, "1\\x1b[2J"));

    /* a file with lines but not one key = value line is not a VMX file */
    s = NULL;
    ts_assert_rc(ctx, parse_text(ctx, "\x8f\x13garbage\n\x01\x02 no equals\n# c\n", &s),
                 H2K_ERR_FORMAT);
    assert_null(s);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "not a VMX file"));
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "m.vmx"));
    ts_assert_rc(ctx, parse_text(ctx, "# only a comment\n\n", &s), 0);
    h2k_vm_spec_free(s);

    /* escapes at the end of a value, lower-case hex, '|' without hex */
    ts_assert_rc(ctx, parse_text(ctx, "displayName = \"x|7c|2|g1|41\"\n", &s), 0);
    assert_string_equal(s->name, "x||2|g1A");
    h2k_vm_spec_free(s);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_and_duplicates),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_no_disks_and_defaults),
        cmocka_unit_test(test_memory_and_paths),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_escapes_decoded_and_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
