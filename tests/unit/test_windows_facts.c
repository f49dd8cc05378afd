/* Windows facts that need no guest: virtio-win short names, netmasks, a Windows
 * identity that Linux-looking files do not turn into Linux, the domain's TPM. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "guest/detect_files.h"
#include "guest/win_inspect.h"
#include "testsupport.h"

static void
test_short_names(void **state)
{
    (void)state;
    assert_string_equal(hk_win_short_name(6, 1, 7601, false), "w7");
    assert_string_equal(hk_win_short_name(6, 1, 7601, true), "2k8r2");
    assert_string_equal(hk_win_short_name(6, 2, 9200, true), "2k12");
    assert_string_equal(hk_win_short_name(6, 3, 9600, false), "w8.1");
    assert_string_equal(hk_win_short_name(10, 0, 19045, false), "w10");
    assert_string_equal(hk_win_short_name(10, 0, 22000, false), "w11");
    assert_string_equal(hk_win_short_name(10, 0, 22631, false), "w11");
    assert_string_equal(hk_win_short_name(10, 0, 14393, true), "2k16");
    assert_string_equal(hk_win_short_name(10, 0, 17763, true), "2k19");
    assert_string_equal(hk_win_short_name(10, 0, 20348, true), "2k22");
    assert_string_equal(hk_win_short_name(10, 0, 26100, true), "2k25");
    assert_null(hk_win_short_name(4, 0, 0, false));
}

static void
test_mask_prefix(void **state)
{
    (void)state;
    assert_int_equal(hk_win_mask_prefix("255.255.255.0"), 24);
    assert_int_equal(hk_win_mask_prefix("255.255.252.0"), 22);
    assert_int_equal(hk_win_mask_prefix("255.255.255.255"), 32);
    assert_int_equal(hk_win_mask_prefix("0.0.0.0"), 0);
    assert_int_equal(hk_win_mask_prefix("255.0.255.0"), -1);
    assert_int_equal(hk_win_mask_prefix("garbage"), -1);
    assert_int_equal(hk_win_mask_prefix(NULL), -1);
}

static void
test_windows_stays_windows(void **state)
{
    (void)state;
    char *root = ts_mkdtemp();
    char *etc = ts_join(root, "etc");
    mkdir(etc, 0755);
    char *osr = ts_join(etc, "os-release");
    ts_write_file(osr, "ID=debian\nVERSION_ID=12\n", 23);
    char *win = ts_join(root, "Windows");
    mkdir(win, 0755);
    hk_fsread *fs = hk_fsread_dir_new(root);
    h2k_guest_identity *id = calloc(1, sizeof(*id));
    id->type = H2K_GUEST_WINDOWS; /* what libguestfs inspection said */
    id->os_id = strdup("windows");
    h2k_ctx *ctx = ts_ctx();
    assert_int_equal(hk_guest_detect_files(ctx, fs, id, false), 0);
    assert_int_equal(id->type, H2K_GUEST_WINDOWS);
    assert_string_equal(id->os_id, "windows");
    h2k_guest_identity_free(id);
    /* without inspection's answer the same files are Linux */
    id = calloc(1, sizeof(*id));
    assert_int_equal(hk_guest_detect_files(ctx, fs, id, false), 0);
    assert_int_equal(id->type, H2K_GUEST_LINUX);
    h2k_guest_identity_free(id);
    h2k_ctx_free(ctx);
    hk_fsread_dir_free(fs);
    ts_rmtree(root);
    free(root);
    free(etc);
    free(osr);
    free(win);
}

/* Windows 11 gets a TPM 2.0 emulator (tpm-crb on q35, tpm-tis on pc); Windows 10 none */
static void
test_tpm_for_windows11(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = h2k_vm_spec_new();
    s->name = strdup("w11");
    s->memory_bytes = 4ull << 30;
    s->vcpus = 2;
    h2k_guest_identity *id = calloc(1, sizeof(*id));
    id->type = H2K_GUEST_WINDOWS;
    id->windows = calloc(1, sizeof(*id->windows));
    id->windows->os_short = strdup("w11");
    const char *disks[] = {"/vms/w11-disk1.qcow2"};
    h2k_domain_options o = H2K_DOMAIN_OPTIONS_INIT;
    o.domain_type = "kvm";
    o.windows_virtio = 1;
    char *xml = NULL;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, id, disks, 1, &o, &xml), 0);
    assert_non_null(strstr(xml, "<tpm model=\"tpm-crb\">"));
    assert_non_null(strstr(xml, "<backend type=\"emulator\" version=\"2.0\"/>"));
    assert_non_null(strstr(xml, "bus=\"virtio\""));
    free(xml);
    o.machine = "pc";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, id, disks, 1, &o, &xml), 0);
    assert_non_null(strstr(xml, "<tpm model=\"tpm-tis\">"));
    free(xml);
    free(id->windows->os_short);
    id->windows->os_short = strdup("w10");
    o.windows_virtio = 0;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, id, disks, 1, &o, &xml), 0);
    assert_null(strstr(xml, "<tpm"));
    assert_non_null(strstr(xml, "bus=\"sata\""));
    free(xml);
    h2k_guest_identity_free(id);
    h2k_vm_spec_free(s);
    h2k_ctx_free(ctx);
}

static void
capture_warning(void *userdata, h2k_log_level level, const char *domain, const char *message)
{
    (void)domain;
    char *buf = userdata;
    if (level == H2K_LOG_WARNING && strlen(buf) + strlen(message) + 2 < 4096) {
        strcat(buf, message);
        strcat(buf, "\n");
    }
}

/* A source vTPM (VMX vtpm.present, tests/data/vmx/vtpm.vmx) becomes an emulated
 * TPM 2.0 for a UEFI Windows 11 and for any other guest (tpm-tis on pc), with a
 * warning that its contents stay behind; without one a Windows 10 gets none. */
static void
test_tpm_from_source_vtpm(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char warnings[4096] = "";
    h2k_ctx_set_log(ctx, capture_warning, warnings, H2K_LOG_WARNING);
    char *vmx = ts_data_path("vmx/vtpm.vmx");
    h2k_vm_spec *s = NULL;
    ts_assert_rc(ctx, h2k_vmx_parse_file(ctx, vmx, &s), 0);
    assert_int_equal(s->vtpm, 1);
    assert_int_equal(s->firmware, H2K_FIRMWARE_UEFI);
    char *sj = h2k_vm_spec_to_json(s);
    assert_non_null(strstr(sj, "\"vtpm\": true"));
    free(sj);
    h2k_guest_identity *id = calloc(1, sizeof(*id));
    id->type = H2K_GUEST_WINDOWS;
    id->firmware = H2K_FIRMWARE_UEFI;
    id->windows = calloc(1, sizeof(*id->windows));
    id->windows->os_short = strdup("w11");
    const char *disks[] = {"/vms/w11-disk1.qcow2"};
    h2k_domain_options o = H2K_DOMAIN_OPTIONS_INIT;
    o.domain_type = "kvm";
    o.windows_virtio = 1;
    char *xml = NULL;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, id, disks, 1, &o, &xml), 0);
    assert_non_null(strstr(xml, "<tpm model=\"tpm-crb\">"));
    assert_non_null(strstr(xml, "<backend type=\"emulator\" version=\"2.0\"/>"));
    assert_non_null(strstr(xml, "<loader"));
    /* exactly one TPM */
    assert_null(strstr(strstr(xml, "<tpm") + 1, "<tpm"));
    free(xml);
    assert_non_null(strstr(warnings, "the source VM has a virtual TPM"));
    assert_non_null(strstr(warnings, "BitLocker"));
    /* a Windows 10 from the same VM (not a case where Windows asks for one) still gets it */
    free(id->windows->os_short);
    id->windows->os_short = strdup("w10");
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, id, disks, 1, &o, &xml), 0);
    assert_non_null(strstr(xml, "<tpm model=\"tpm-crb\">"));
    free(xml);
    /* ... on the pc machine type the TIS interface (CRB needs q35); BIOS allowed */
    o.machine = "pc";
    s->firmware = H2K_FIRMWARE_BIOS;
    s->secure_boot = 0;
    id->firmware = H2K_FIRMWARE_BIOS;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, id, disks, 1, &o, &xml), 0);
    assert_non_null(strstr(xml, "<tpm model=\"tpm-tis\">"));
    free(xml);
    /* without a vTPM in the source, Windows 10 gets none and no warning about it */
    s->vtpm = 0;
    warnings[0] = '\0';
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, id, disks, 1, &o, &xml), 0);
    assert_null(strstr(xml, "<tpm"));
    assert_null(strstr(warnings, "virtual TPM"));
    free(xml);
    h2k_guest_identity_free(id);
    h2k_vm_spec_free(s);
    free(vmx);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_names),           cmocka_unit_test(test_mask_prefix),
        cmocka_unit_test(test_windows_stays_windows), cmocka_unit_test(test_tpm_for_windows11),
        cmocka_unit_test(test_tpm_from_source_vtpm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
