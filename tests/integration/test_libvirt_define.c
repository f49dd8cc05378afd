/*
 * Integration tests of the libvirt output: every golden domain XML and freshly
 * generated ones pass virt-xml-validate; domains are defined on the test
 * driver (test:///default, no daemon; its state lasts one connection) and on
 * a real qemu:///system daemon, which the CTest fixture "libvirtd"
 * (scripts/libvirtd-test.sh) starts.  A missing program or daemon FAILS.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "testsupport.h"

static void
quiet(void *ud, virErrorPtr e)
{
    (void)ud, (void)e;
}

/* A small spec: 2 NICs, a CD-ROM, UEFI as asked. */
static h2k_vm_spec *
make_spec(const char *name, const char *uuid, h2k_firmware fw)
{
    h2k_vm_spec *s = h2k_vm_spec_new();
    assert_non_null(s);
    s->name = strdup(name);
    s->uuid = uuid ? strdup(uuid) : NULL;
    s->memory_bytes = 256ull << 20;
    s->vcpus = 2;
    s->firmware = fw;
    s->os_type = strdup("debian12-64");
    s->n_nics = 2;
    s->nics = calloc(2, sizeof(*s->nics));
    s->nics[0].mac = strdup("00:50:56:01:02:03");
    s->nics[0].network = strdup("VM Network");
    s->nics[1].mac = strdup("00:50:56:01:02:04");
    s->nics[1].network = strdup("Storage");
    s->n_removables = 1;
    s->removables = calloc(1, sizeof(*s->removables));
    s->removables[0].kind = strdup("cdrom");
    s->removables[0].bus = H2K_BUS_IDE;
    return s;
}

static char *
make_xml(h2k_ctx *ctx, const h2k_vm_spec *s, const char *const *disks, size_t n, const char *dir)
{
    static const h2k_network_mapping map[] = {{"Storage", H2K_NET_BRIDGE, "br-h2k-test"}};
    h2k_domain_options o = H2K_DOMAIN_OPTIONS_INIT;
    o.domain_type = "qemu"; /* works with and without KVM */
    o.output_dir = dir;
    o.network_map = map;
    o.n_network_map = 1;
    char *xml = NULL;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, n, &o, &xml), 0);
    return xml;
}

static void
validate_file(const char *path)
{
    const char *argv[] = {"virt-xml-validate", path, "domain", NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        print_error("virt-xml-validate %s failed:\n%s\n", path, out ? out : "");
    assert_int_equal(st, 0);
    free(out);
}

static void
test_validate_golden(void **state)
{
    (void)state;
    ts_require_program("virt-xml-validate");
    char *root = ts_data_path("output");
    DIR *d = opendir(root);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *sub = ts_join(root, e->d_name);
        char *f = ts_join(sub, "expected.xml");
        if (ts_exists(f)) {
            validate_file(f);
            n++;
        }
        free(f);
        free(sub);
    }
    closedir(d);
    free(root);
    assert_true(n >= 6);
}

static void
test_validate_generated(void **state)
{
    (void)state;
    ts_require_program("virt-xml-validate");
    h2k_ctx *ctx = ts_ctx();
    char *dir = ts_mkdtemp();
    const char *disks[] = {"/images/a.qcow2", "/images/b.raw", "/images/c.img"};
    struct {
        h2k_firmware fw;
        int sb;
        const char *machine;
        h2k_bus bus;
        const char *type;
        h2k_guest_type guest;
        int graphics;
    } variants[] = {
        {H2K_FIRMWARE_BIOS, 0, "q35", H2K_BUS_UNKNOWN, "kvm", H2K_GUEST_LINUX, 1},
        {H2K_FIRMWARE_BIOS, 0, "pc", H2K_BUS_SATA, "qemu", H2K_GUEST_UNKNOWN, 0},
        {H2K_FIRMWARE_UEFI, 0, "pc", H2K_BUS_VIRTIO, "qemu", H2K_GUEST_WINDOWS, 1},
        {H2K_FIRMWARE_UEFI, 1, "q35", H2K_BUS_UNKNOWN, "kvm", H2K_GUEST_WINDOWS, 1},
        {H2K_FIRMWARE_UEFI, 1, NULL, H2K_BUS_UNKNOWN, NULL, H2K_GUEST_LINUX, 0},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(variants); i++) {
        h2k_vm_spec *s = make_spec("gen <&\"'> test", "564d96afe646bd865c4d654e7736ef31",
                                   variants[i].fw);
        s->cores_per_socket = 2;
        h2k_guest_identity id = {0};
        id.type = variants[i].guest;
        id.architecture = (char *)"x86_64";
        h2k_domain_options o = H2K_DOMAIN_OPTIONS_INIT;
        o.domain_type = variants[i].type;
        o.machine = variants[i].machine;
        o.secure_boot = variants[i].sb;
        o.disk_bus = variants[i].bus;
        o.graphics = variants[i].graphics;
        o.output_dir = "/srv/vms & more";
        char *xml = NULL;
        ts_assert_rc(ctx, h2k_domain_xml(ctx, s, &id, disks, 3, &o, &xml), 0);
        char name[32];
        snprintf(name, sizeof(name), "gen%zu.xml", i);
        char *path = ts_join(dir, name);
        ts_assert_rc(ctx, h2k_output_write_file(ctx, path, xml), 0);
        validate_file(path);
        free(path);
        free(xml);
        h2k_vm_spec_free(s);
    }
    ts_rmtree(dir);
    free(dir);
    h2k_ctx_free(ctx);
}

static void
test_define_test_driver(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    const char *disks[] = {"/images/disk0.qcow2"};
    h2k_vm_spec *s = make_spec("h2k-testdrv", NULL, H2K_FIRMWARE_BIOS);
    char *xml = make_xml(ctx, s, disks, 1, NULL);
    char *name = NULL;
    ts_assert_rc(ctx, h2k_output_define(ctx, "test:///default", xml, &name), 0);
    assert_string_equal(name, "h2k-testdrv");
    free(name);
    /* the test driver's state lasts one connection: the same name works again */
    ts_assert_rc(ctx, h2k_output_define(ctx, "test:///default", xml, NULL), 0);
    free(xml);
    h2k_vm_spec_free(s);

    /* the test driver always has a domain named "test" */
    s = make_spec("test", NULL, H2K_FIRMWARE_BIOS);
    xml = make_xml(ctx, s, disks, 1, NULL);
    name = (char *)"sentinel";
    ts_assert_rc(ctx, h2k_output_define(ctx, "test:///default", xml, &name), H2K_ERR_EXISTS);
    assert_null(name);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "test:///default"));
    free(xml);
    h2k_vm_spec_free(s);

    /* bad URIs */
    s = make_spec("h2k-baduri", NULL, H2K_FIRMWARE_BIOS);
    xml = make_xml(ctx, s, disks, 1, NULL);
    const char *uris[] = {"qemu+unix:///system?socket=/nonexistent/h2k/libvirt-sock",
                          "nosuchdriver:///x"};
    for (size_t i = 0; i < HK_ARRAY_LEN(uris); i++) {
        ts_assert_rc(ctx, h2k_output_define(ctx, uris[i], xml, NULL), H2K_ERR_CONNECTION);
        assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, uris[i]));
    }
    free(xml);
    h2k_vm_spec_free(s);

    /* libvirt refuses a well-formed document: VALIDATION with its message */
    ts_assert_rc(ctx,
                 h2k_output_define(ctx, "test:///default",
                                   "<domain type=\"qemu\"><name>h2k-bad</name><bogus/></domain>",
                                   NULL),
                 H2K_ERR_VALIDATION);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "h2k-bad"));
    h2k_ctx_free(ctx);
}

static void
test_define_system(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    virSetErrorFunc(NULL, quiet);
    virConnectPtr conn = virConnectOpen("qemu:///system");
    if (!conn)
        fail_msg("no libvirt daemon answers on qemu:///system: run this test through ctest "
                 "(fixture libvirtd, scripts/libvirtd-test.sh start), or start libvirtd");
    h2k_ctx *ctx = ts_ctx();
    char *dir = ts_mkdtemp();
    char *d0 = ts_join(dir, "disk0.qcow2");
    char *d1 = ts_join(dir, "disk1.raw");
    const char *c0[] = {"qemu-img", "create", "-q", "-f", "qcow2", d0, "64M", NULL};
    const char *c1[] = {"qemu-img", "create", "-q", "-f", "raw", d1, "16M", NULL};
    ts_run_ok(c0);
    ts_run_ok(c1);
    const char *disks[] = {d0, d1};
    char name[64];
    snprintf(name, sizeof(name), "h2k-itest-%ld", (long)getpid());

    h2k_vm_spec *s = make_spec(name, "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b", H2K_FIRMWARE_UEFI);
    char *xml = make_xml(ctx, s, disks, 2, dir);
    char *got = NULL;
    ts_assert_rc(ctx, h2k_output_define(ctx, "qemu:///system", xml, &got), 0);
    assert_string_equal(got, name);
    free(got);

    virDomainPtr dom = virDomainLookupByName(conn, name);
    assert_non_null(dom);
    assert_int_equal(virDomainIsPersistent(dom), 1);
    char *dump = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    assert_non_null(dump);
    char want[512];
    snprintf(want, sizeof(want), "<source file='%s'/>", d0);
    assert_non_null(strstr(dump, want));
    snprintf(want, sizeof(want), "<source file='%s'/>", d1);
    assert_non_null(strstr(dump, want));
    assert_non_null(strstr(dump, "<target dev='vda' bus='virtio'/>"));
    assert_non_null(strstr(dump, "<target dev='vdb' bus='virtio'/>"));
    assert_non_null(strstr(dump, "<driver name='qemu' type='raw' cache='none' io='native'"));
    assert_non_null(strstr(dump, "<mac address='00:50:56:01:02:03'/>"));
    assert_non_null(strstr(dump, "<mac address='00:50:56:01:02:04'/>"));
    assert_non_null(strstr(dump, "<source network='default'/>"));
    assert_non_null(strstr(dump, "<source bridge='br-h2k-test'/>"));
    assert_non_null(strstr(dump, "<uuid>6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b</uuid>"));
    snprintf(want, sizeof(want), ">%s/%s_VARS.fd</nvram>", dir, name);
    assert_non_null(strstr(dump, want));
    assert_non_null(strstr(dump, "device='cdrom'"));
    free(dump);

    /* the same name again, and another name with the same UUID: EXISTS */
    ts_assert_rc(ctx, h2k_output_define(ctx, "qemu:///system", xml, NULL), H2K_ERR_EXISTS);
    free(xml);
    h2k_vm_spec_free(s);
    char other[80];
    snprintf(other, sizeof(other), "%s-other", name);
    s = make_spec(other, "6f1c2a3b4d5e4f608a7b9c0d1e2f3a4b", H2K_FIRMWARE_BIOS);
    xml = make_xml(ctx, s, disks, 1, dir);
    ts_assert_rc(ctx, h2k_output_define(ctx, "qemu:///system", xml, NULL), H2K_ERR_EXISTS);
    assert_null(virDomainLookupByName(conn, other));
    free(xml);
    h2k_vm_spec_free(s);

    /* a document the qemu driver refuses */
    char bad[256];
    snprintf(bad, sizeof(bad),
             "<domain type=\"qemu\"><name>%s-bad</name><memory>abc</memory></domain>", name);
    ts_assert_rc(ctx, h2k_output_define(ctx, "qemu:///system", bad, NULL), H2K_ERR_VALIDATION);

    assert_int_equal(virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_NVRAM), 0);
    virDomainFree(dom);
    assert_null(virDomainLookupByName(conn, name));
    virConnectClose(conn);
    free(d0);
    free(d1);
    ts_rmtree(dir);
    free(dir);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_golden),
        cmocka_unit_test(test_validate_generated),
        cmocka_unit_test(test_define_test_driver),
        cmocka_unit_test(test_define_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
