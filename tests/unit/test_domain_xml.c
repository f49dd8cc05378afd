/*
 * Unit tests of the libvirt domain XML writer (src/output): golden files in
 * tests/data/output/<case>/expected.xml, compared byte for byte, built from the
 * specs in the table below; error handling; the internal helpers.
 * Set H2K_UPDATE_GOLDEN=1 to rewrite the expected files (then review the diff).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

#include "output/output_internal.h"

/* ------------------------------------------------------------ the cases */

typedef struct nic_def {
    const char *mac;
    const char *network;
    int is_bridge;
    const char *model;
} nic_def;

typedef struct case_def {
    const char *dir;
    /* spec */
    const char *name;
    const char *uuid;
    uint64_t memory;
    unsigned vcpus, cores;
    h2k_firmware firmware;
    int secure_boot;
    const char *os_type;
    int n_cdroms;
    int floppy;
    nic_def nics[3];
    /* identity (type UNKNOWN and no os: none) */
    h2k_guest_type id_type;
    const char *id_os;
    const char *id_arch;
    /* disks */
    const char *disks[3];
    /* options */
    const char *domain_type;
    const char *machine;
    const char *output_dir;
    const char *nvram_path;
    h2k_disk_format disk_format;
    const char *disk_cache;
    int no_graphics;
    h2k_network_mapping map[3];
    size_t n_map;
    const char *default_network;
} case_def;

static const case_def cases[] = {
    {.dir = "debian-bios",
     .name = "debian12",
     .uuid = "56 4d 96 af e6 46 bd 86-5c 4d 65 4e 77 36 ef 31",
     .memory = 2ull << 30,
     .vcpus = 2,
     .firmware = H2K_FIRMWARE_BIOS,
     .os_type = "debian12-64",
     .n_cdroms = 1,
     .nics = {{"00:50:56:aa:bb:01", "VM Network", 0, "vmxnet3"}},
     .id_type = H2K_GUEST_LINUX,
     .id_os = "debian",
     .id_arch = "x86_64",
     .disks = {"/var/lib/libvirt/images/debian12.qcow2"},
     .domain_type = "qemu"},
    {.dir = "rhel-uefi",
     .name = "rhel9",
     .uuid = "4211A0B2-4C4D-1E2F-8A3B-6C7D8E9F0A1B",
     .memory = 4ull << 30,
     .vcpus = 4,
     .cores = 2,
     .firmware = H2K_FIRMWARE_UEFI,
     .os_type = "rhel9_64Guest",
     .nics = {{"00:50:56:AA:BB:02", "Prod", 1, "vmxnet3"},
              {"00:50:56:aa:bb:03", "Backup", 0, "e1000"}},
     .disks = {"/srv/vms/rhel9/rhel9-disk1.qcow2", "/srv/vms/rhel9/rhel9-disk2.raw"},
     .domain_type = "kvm",
     .output_dir = "/srv/vms/rhel9",
     .map = {{"Prod", H2K_NET_BRIDGE, "br0"}},
     .n_map = 1},
    {.dir = "secure-boot",
     .name = "ubuntu-sb",
     .memory = (1ull << 30) + 1,
     .vcpus = 1,
     .firmware = H2K_FIRMWARE_UEFI,
     .secure_boot = 1,
     .nics = {{"52:54:00:12:34:56", NULL, 0, NULL}},
     .id_type = H2K_GUEST_LINUX,
     .id_os = "ubuntu",
     .id_arch = "x86_64",
     .disks = {"/var/lib/libvirt/images/ubuntu-sb.qcow2"},
     .domain_type = "qemu",
     .nvram_path = "/var/lib/libvirt/qemu/nvram/ubuntu-sb_VARS.fd"},
    {.dir = "windows-2022",
     .name = "win2022",
     .uuid = "5a0e1c33-8f0b-4d5c-9e6a-0b1c2d3e4f50",
     .memory = 8ull << 30,
     .vcpus = 4,
     .cores = 4,
     .firmware = H2K_FIRMWARE_UEFI,
     .os_type = "windows2019srvNext-64",
     .n_cdroms = 1,
     .floppy = 1,
     .nics = {{"00:50:56:aa:bb:04", "VM Network", 0, "vmxnet3"}},
     .id_type = H2K_GUEST_WINDOWS,
     .id_os = "windows",
     .id_arch = "x86_64",
     .disks = {"/srv/vms/win2022/c.qcow2", "/srv/vms/win2022/d.qcow2"},
     .domain_type = "kvm",
     .output_dir = "/srv/vms/win2022",
     .map = {{NULL, H2K_NET_NETWORK, "lan"}},
     .n_map = 1},
    {.dir = "odd-chars",
     .name = " web/01 <&\"'> \x01 \xff caf\xc3\xa9 ",
     .uuid = "not-a-uuid",
     .memory = 512ull << 20,
     .vcpus = 3,
     .cores = 2,
     .firmware = H2K_FIRMWARE_BIOS,
     .os_type = "otherLinux64Guest",
     .n_cdroms = 2,
     .nics = {{"00:50:56:aa:bb:05", "<&\"'>", 0, NULL},
              {"01:00:5e:00:00:01", "dmz & \"lab\"", 1, NULL},
              {"zz:zz", "plain", 0, NULL}},
     .disks = {"/srv/a&b <c>/'d\".qcow2"},
     .domain_type = "qemu",
     .machine = "pc",
     .map = {{"<&\"'>", H2K_NET_NETWORK, "net<&\"'>"},
             {"dmz & \"lab\"", H2K_NET_BRIDGE, "br-dmz.10"}},
     .n_map = 2,
     .default_network = "a&b"},
    {.dir = "no-nics",
     .name = "appliance",
     .firmware = H2K_FIRMWARE_UNKNOWN,
     .disks = {"/images/appliance.img"},
     .domain_type = "qemu",
     .disk_format = H2K_FORMAT_RAW,
     .disk_cache = "writeback",
     .no_graphics = 1},
};

static h2k_vm_spec *
build_spec(const case_def *c)
{
    h2k_vm_spec *s = h2k_vm_spec_new();
    assert_non_null(s);
    s->name = hk_strdup0(c->name);
    s->uuid = hk_strdup0(c->uuid);
    s->source_type = strdup("vmx");
    s->memory_bytes = c->memory;
    s->vcpus = c->vcpus;
    s->cores_per_socket = c->cores;
    s->firmware = c->firmware;
    s->secure_boot = c->secure_boot;
    s->os_type = hk_strdup0(c->os_type);
    size_t nd = 0;
    while (nd < 3 && c->disks[nd])
        nd++;
    s->disks = calloc(nd, sizeof(*s->disks));
    s->n_disks = nd;
    for (size_t i = 0; i < nd; i++) {
        s->disks[i].path = strdup("/source/disk.vmdk");
        s->disks[i].bus = H2K_BUS_SCSI;
        s->disks[i].unit = (int)i;
        s->disks[i].controller_index = 0;
    }
    size_t nr = (size_t)c->n_cdroms + (size_t)c->floppy;
    if (nr) {
        s->removables = calloc(nr, sizeof(*s->removables));
        s->n_removables = nr;
        for (size_t i = 0; i < nr; i++) {
            /* the floppy first: it must be skipped */
            bool fl = c->floppy && i == 0;
            s->removables[i].kind = strdup(fl ? "floppy" : "cdrom");
            s->removables[i].bus = fl ? H2K_BUS_FLOPPY : H2K_BUS_IDE;
            s->removables[i].slot = (int)i;
        }
    }
    size_t nn = 0;
    while (nn < 3 && (c->nics[nn].mac || c->nics[nn].network))
        nn++;
    if (nn) {
        s->nics = calloc(nn, sizeof(*s->nics));
        s->n_nics = nn;
        for (size_t i = 0; i < nn; i++) {
            s->nics[i].mac = hk_strdup0(c->nics[i].mac);
            s->nics[i].network = hk_strdup0(c->nics[i].network);
            s->nics[i].is_bridge = c->nics[i].is_bridge;
            s->nics[i].model = hk_strdup0(c->nics[i].model);
        }
    }
    return s;
}

static h2k_guest_identity *
build_identity(const case_def *c)
{
    if (c->id_type == H2K_GUEST_UNKNOWN && !c->id_os)
        return NULL;
    h2k_guest_identity *id = calloc(1, sizeof(*id));
    assert_non_null(id);
    id->type = c->id_type;
    id->os_id = hk_strdup0(c->id_os);
    id->architecture = hk_strdup0(c->id_arch);
    id->firmware = H2K_FIRMWARE_UNKNOWN;
    return id;
}

static void
build_options(const case_def *c, h2k_domain_options *o)
{
    h2k_domain_options init = H2K_DOMAIN_OPTIONS_INIT;
    *o = init;
    o->domain_type = c->domain_type;
    o->machine = c->machine;
    o->output_dir = c->output_dir;
    o->nvram_path = c->nvram_path;
    o->disk_format = c->disk_format;
    o->disk_cache = c->disk_cache;
    o->graphics = !c->no_graphics;
    o->network_map = c->n_map ? c->map : NULL;
    o->n_network_map = c->n_map;
    o->default_network = c->default_network;
}

static char *
generate(h2k_ctx *ctx, const case_def *c)
{
    h2k_vm_spec *s = build_spec(c);
    h2k_guest_identity *id = build_identity(c);
    h2k_domain_options o;
    build_options(c, &o);
    size_t nd = s->n_disks;
    char *xml = NULL;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, id, c->disks, nd, &o, &xml), 0);
    h2k_guest_identity_free(id);
    h2k_vm_spec_free(s);
    return xml;
}

static void
test_golden(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    int failures = 0;
    for (size_t i = 0; i < HK_ARRAY_LEN(cases); i++) {
        char *xml = generate(ctx, &cases[i]);
        char rel[128];
        snprintf(rel, sizeof(rel), "output/%s/expected.xml", cases[i].dir);
        char *path = ts_data_path(rel);
        if (getenv("H2K_UPDATE_GOLDEN")) {
            char *dir = hk_dirname(path);
            mkdir(dir, 0755);
            free(dir);
            ts_write_file(path, xml, strlen(xml));
        }
        char *want = ts_read_file(path, NULL);
        if (strcmp(want, xml) != 0) {
            print_error("case %s differs from %s:\n--- got ---\n%s", cases[i].dir, rel, xml);
            failures++;
        }
        /* deterministic: a second run gives the same bytes */
        char *again = generate(ctx, &cases[i]);
        assert_string_equal(again, xml);
        free(again);
        free(want);
        free(path);
        free(xml);
    }
    assert_int_equal(failures, 0);
    h2k_ctx_free(ctx);
}

/* Spot checks that do not depend on reading the golden files right. */
static void
test_content_checks(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char *xml = generate(ctx, &cases[4]); /* odd-chars */
    assert_non_null(strstr(xml, "<name>web_01 &lt;&amp;&quot;'&gt; _ _ caf\xc3\xa9</name>"));
    assert_non_null(strstr(xml, "<source file=\"/srv/a&amp;b &lt;c&gt;/'d&quot;.qcow2\"/>"));
    assert_non_null(strstr(xml, "<source network=\"net&lt;&amp;&quot;'&gt;\"/>"));
    assert_non_null(strstr(xml, "<source bridge=\"br-dmz.10\"/>"));
    assert_null(strstr(xml, "<uuid>"));
    assert_null(strstr(xml, "01:00:5e")); /* multicast MAC dropped */
    assert_non_null(strstr(xml, "<target dev=\"hdc\" bus=\"ide\"/>"));
    assert_non_null(strstr(xml, "<target dev=\"hdd\" bus=\"ide\"/>"));
    free(xml);

    xml = generate(ctx, &cases[3]); /* windows */
    assert_non_null(strstr(xml, "<target dev=\"sda\" bus=\"sata\"/>"));
    assert_non_null(strstr(xml, "<target dev=\"sdb\" bus=\"sata\"/>"));
    assert_non_null(strstr(xml, "<target dev=\"sdc\" bus=\"sata\"/>")); /* the CD-ROM */
    assert_non_null(strstr(xml, "<spinlocks state=\"on\" retries=\"8191\"/>"));
    assert_non_null(strstr(xml, "<clock offset=\"localtime\">"));
    assert_non_null(strstr(xml, "<model type=\"e1000e\"/>"));
    assert_non_null(strstr(xml, ">/srv/vms/win2022/win2022_VARS.fd</nvram>"));
    free(xml);

    /* Windows with virtio drivers: virtio disks and NIC */
    h2k_vm_spec *s = build_spec(&cases[3]);
    h2k_domain_options o;
    build_options(&cases[3], &o);
    o.windows_virtio = 1;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, cases[3].disks, 2, &o, &xml), 0);
    assert_non_null(strstr(xml, "<target dev=\"vdb\" bus=\"virtio\"/>"));
    assert_non_null(strstr(xml, "<target dev=\"sda\" bus=\"sata\"/>")); /* the CD-ROM */
    assert_non_null(strstr(xml, "<model type=\"virtio\"/>"));
    assert_non_null(strstr(xml, "<hyperv>")); /* from os_type alone */
    free(xml);
    /* forced SATA, firmware forced to BIOS */
    o.disk_bus = H2K_BUS_SATA;
    o.firmware = H2K_FIRMWARE_BIOS;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, cases[3].disks, 1, &o, &xml), 0);
    assert_non_null(strstr(xml, "<target dev=\"sda\" bus=\"sata\"/>"));
    assert_non_null(strstr(xml, "<target dev=\"sdb\" bus=\"sata\"/>")); /* the CD-ROM */
    assert_null(strstr(xml, "<loader"));
    free(xml);
    /* auto domain type follows /dev/kvm */
    o.domain_type = NULL;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, cases[3].disks, 1, &o, &xml), 0);
    const char *want = access("/dev/kvm", R_OK | W_OK) == 0 ? "<domain type=\"kvm\">"
                                                            : "<domain type=\"qemu\">";
    assert_true(hk_startswith(xml, want));
    free(xml);
    /* name override, secure boot forced off, defaults for the nvram path */
    o.name = "renamed";
    o.firmware = H2K_FIRMWARE_UEFI;
    o.secure_boot = 0;
    o.output_dir = NULL;
    o.domain_type = "qemu";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, cases[3].disks, 1, &o, &xml), 0);
    assert_non_null(strstr(xml, "<name>renamed</name>"));
    assert_non_null(strstr(xml, "<nvram template=\"/usr/share/OVMF/OVMF_VARS_4M.fd\"/>"));
    assert_null(strstr(xml, "secure="));
    assert_null(strstr(xml, "<smm"));
    free(xml);
    h2k_vm_spec_free(s);

    /* NULL options: defaults */
    s = build_spec(&cases[0]);
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, cases[0].disks, 1, NULL, &xml), 0);
    assert_non_null(strstr(xml, "machine=\"q35\""));
    assert_non_null(strstr(xml, "<source network=\"default\"/>"));
    assert_non_null(strstr(xml, "<mac address=\"00:50:56:aa:bb:01\"/>"));
    free(xml);
    h2k_vm_spec_free(s);
    h2k_ctx_free(ctx);
}

static void
test_errors(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vm_spec *s = build_spec(&cases[0]);
    const char *disks[] = {"/a.qcow2", NULL};
    char *xml = (char *)"sentinel";
    h2k_domain_options o = H2K_DOMAIN_OPTIONS_INIT;
    o.domain_type = "qemu";

    assert_int_equal(h2k_domain_xml(NULL, s, NULL, disks, 1, &o, &xml), H2K_ERR_INVALID_ARG);
    assert_null(xml);
    ts_assert_rc(ctx, h2k_domain_xml(ctx, NULL, NULL, disks, 1, &o, &xml), H2K_ERR_INVALID_ARG);
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 0, &o, &xml), H2K_ERR_INVALID_ARG);
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, NULL, 1, &o, &xml), H2K_ERR_INVALID_ARG);
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 2, &o, &xml), H2K_ERR_INVALID_ARG);
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &o, NULL), H2K_ERR_INVALID_ARG);

    h2k_domain_options bad = o;
    bad.version = 99;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_INVALID_ARG);
    bad = o;
    bad.domain_type = "xen";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "domain_type");
    bad = o;
    bad.machine = "virt";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_INVALID_ARG);
    bad = o;
    bad.disk_format = H2K_FORMAT_VMDK;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_INVALID_ARG);
    bad = o;
    bad.disk_cache = "fast";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_INVALID_ARG);
    bad = o;
    bad.disk_bus = (h2k_bus)7;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_INVALID_ARG);
    bad = o;
    bad.n_network_map = 2;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_INVALID_ARG);
    h2k_network_mapping m[] = {{"x", (h2k_net_kind)5, "y"}};
    bad = o;
    bad.network_map = m;
    bad.n_network_map = 1;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_INVALID_ARG);
    m[0].kind = H2K_NET_BRIDGE;
    m[0].target = "br\n0";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_VALIDATION);
    m[0].target = "";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_VALIDATION);
    static const char *const bad_bridges[] = {"br-'dmz'",         "br 0", "br/0",
                                              "bridge0123456789", "..",   "br:0"};
    for (size_t i = 0; i < HK_ARRAY_LEN(bad_bridges); i++) {
        m[0].target = bad_bridges[i];
        ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_VALIDATION);
        assert_string_equal(h2k_ctx_last_error(ctx)->field, "bridge");
    }
    m[0].target = "br-0.1_x";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), 0);
    free(xml);
    m[0].kind = H2K_NET_NETWORK;
    m[0].target = "lan/1";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_VALIDATION);
    m[0].target = "lan <&\"'> 1";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), 0);
    free(xml);
    bad = o;
    bad.default_network = "\xc3\x28";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_VALIDATION);

    /* disk paths unfit for XML */
    const char *badpaths[] = {"/a\x01.qcow2", "/a\xc0\xaf.qcow2", "/\xed\xa0\x80.raw", "",
                              "/a\xef\xbf\xbe"};
    for (size_t i = 0; i < HK_ARRAY_LEN(badpaths); i++)
        ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, &badpaths[i], 1, &o, &xml),
                     H2K_ERR_VALIDATION);

    /* secure boot needs q35; UEFI needs x86_64 */
    bad = o;
    bad.machine = "pc";
    bad.firmware = H2K_FIRMWARE_UEFI;
    bad.secure_boot = 1;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &bad, &xml), H2K_ERR_INVALID_ARG);
    h2k_guest_identity id = {0};
    id.type = H2K_GUEST_LINUX;
    id.architecture = (char *)"aarch64";
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, &id, disks, 1, &o, &xml), H2K_ERR_UNSUPPORTED);
    id.architecture = (char *)"i686";
    bad = o;
    bad.firmware = H2K_FIRMWARE_UEFI;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, &id, disks, 1, &bad, &xml), H2K_ERR_UNSUPPORTED);
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, &id, disks, 1, &o, &xml), 0);
    assert_non_null(strstr(xml, "arch=\"i686\""));
    free(xml);

    /* names: missing, empty once sanitised, too many vcpus */
    free(s->name);
    s->name = NULL;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &o, &xml), H2K_ERR_VALIDATION);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "name");
    s->name = strdup("   ");
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &o, &xml), H2K_ERR_VALIDATION);
    free(s->name);
    s->name = strdup("ok");
    s->vcpus = 100000;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &o, &xml), H2K_ERR_VALIDATION);
    s->vcpus = 1;
    /* inconsistent spec arrays */
    size_t keep = s->n_nics;
    h2k_vm_nic *nics = s->nics;
    s->nics = NULL;
    ts_assert_rc(ctx, h2k_domain_xml(ctx, s, NULL, disks, 1, &o, &xml), H2K_ERR_INVALID_ARG);
    s->nics = nics;
    s->n_nics = keep;
    h2k_vm_spec_free(s);
    h2k_ctx_free(ctx);
}

static void
test_helpers(void **state)
{
    (void)state;
    char t[32];
    hk_disk_target_name("vd", 0, t, sizeof(t));
    assert_string_equal(t, "vda");
    hk_disk_target_name("vd", 25, t, sizeof(t));
    assert_string_equal(t, "vdz");
    hk_disk_target_name("sd", 26, t, sizeof(t));
    assert_string_equal(t, "sdaa");
    hk_disk_target_name("sd", 701, t, sizeof(t));
    assert_string_equal(t, "sdzz");
    hk_disk_target_name("sd", 702, t, sizeof(t));
    assert_string_equal(t, "sdaaa");
    hk_disk_target_name("sd", 702, t, 4);
    assert_string_equal(t, "");

    char u[37];
    assert_true(hk_uuid_canonical("564D96AFE646BD865C4D654E7736EF31", u));
    assert_string_equal(u, "564d96af-e646-bd86-5c4d-654e7736ef31");
    assert_false(hk_uuid_canonical("00000000-0000-0000-0000-000000000000", u));
    assert_false(hk_uuid_canonical("564D96AFE646BD865C4D654E7736EF3", u));
    assert_false(hk_uuid_canonical("564D96AFE646BD865C4D654E7736EF311", u));
    assert_false(hk_uuid_canonical("564D96AFE646BD865C4D654E7736EF3g", u));
    assert_false(hk_uuid_canonical(NULL, u));
    assert_string_equal(u, "");

    assert_true(hk_mac_ok("00:50:56:AA:bb:01"));
    assert_false(hk_mac_ok("01:50:56:aa:bb:01"));
    assert_false(hk_mac_ok("00:50:56:aa:bb"));
    assert_false(hk_mac_ok("00-50-56-aa-bb-01"));
    assert_false(hk_mac_ok("00:50:56:aa:bb:0g"));
    assert_false(hk_mac_ok(NULL));

    assert_true(hk_xml_text_ok("plain <&> caf\xc3\xa9 \xf0\x9f\x98\x80"));
    assert_false(hk_xml_text_ok("tab\there"));
    assert_false(hk_xml_text_ok("del\x7f"));
    assert_false(hk_xml_text_ok("c1\xc2\x85"));
    assert_false(hk_xml_text_ok("trunc\xe2\x82"));
    assert_false(hk_xml_text_ok("\xf4\x90\x80\x80")); /* > U+10FFFF */
    assert_false(hk_xml_text_ok("\xe0\x80\xaf"));     /* overlong */

    char *n = hk_domain_name_sanitise(" a/b\tc\xe2\x82 d/ ");
    assert_string_equal(n, "a_b_c__ d_");
    free(n);
    n = hk_domain_name_sanitise("");
    assert_string_equal(n, "");
    free(n);
}

static void
test_write_file(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char *dir = ts_mkdtemp();
    char *path = ts_join(dir, "vm.xml");
    ts_assert_rc(ctx, h2k_output_write_file(ctx, path, "<domain/>\n"), 0);
    char *got = ts_read_file(path, NULL);
    assert_string_equal(got, "<domain/>\n");
    free(got);
    ts_assert_rc(ctx, h2k_output_write_file(ctx, path, "<domain type=\"qemu\"/>\n"), 0);
    got = ts_read_file(path, NULL);
    assert_string_equal(got, "<domain type=\"qemu\"/>\n");
    free(got);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* private whatever the umask */
    assert_int_equal(ts_count_dir(dir), 1);    /* no temporary file left */
    char *missing = ts_join(dir, "nope/vm.xml");
    ts_assert_rc(ctx, h2k_output_write_file(ctx, missing, "x"), H2K_ERR_NOT_FOUND);
    ts_assert_rc(ctx, h2k_output_write_file(ctx, NULL, "x"), H2K_ERR_INVALID_ARG);
    ts_assert_rc(ctx, h2k_output_write_file(ctx, path, NULL), H2K_ERR_INVALID_ARG);
    /* a directory in the way: the rename fails, the temporary file is removed */
    char *sub = ts_join(dir, "sub");
    assert_int_equal(mkdir(sub, 0755), 0);
    char *inner = ts_join(sub, "f");
    ts_write_file(inner, "x", 1);
    assert_true(h2k_output_write_file(ctx, sub, "x") < 0);
    assert_int_equal(ts_count_dir(dir), 2);
    free(inner);
    free(sub);
    free(missing);
    free(path);
    ts_rmtree(dir);
    free(dir);
    h2k_ctx_free(ctx);
}

static void
test_define_bad_input(void **state)
{
    (void)state;
    /* Errors found before any connection is attempted. */
    h2k_ctx *ctx = ts_ctx();
    char *name = (char *)"sentinel";
    ts_assert_rc(ctx, h2k_output_define(ctx, "test:///default", NULL, &name), H2K_ERR_INVALID_ARG);
    assert_null(name);
    ts_assert_rc(ctx, h2k_output_define(ctx, "test:///default", "<domain", &name),
                 H2K_ERR_VALIDATION);
    ts_assert_rc(ctx, h2k_output_define(ctx, "test:///default", "<network/>", &name),
                 H2K_ERR_VALIDATION);
    ts_assert_rc(ctx, h2k_output_define(ctx, "test:///default", "<domain><name/></domain>", &name),
                 H2K_ERR_VALIDATION);
    assert_int_equal(h2k_output_define(NULL, NULL, "<domain/>", NULL), H2K_ERR_INVALID_ARG);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),     cmocka_unit_test(test_content_checks),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_write_file), cmocka_unit_test(test_define_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
