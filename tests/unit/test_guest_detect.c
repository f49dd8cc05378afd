/* Guest detection from a directory tree (h2k_guest_detect_dir), on trees made here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/detect_files.h"
#include "guest/gfs.h"
#include "testsupport.h"

typedef struct entry {
    const char *path;    /* relative to the root */
    const char *content; /* NULL: directory; "->target": symlink */
} entry;

static void
mkdirs(const char *path)
{
    char *p = strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    }
    mkdir(p, 0755);
    free(p);
}

static char *
make_tree(const entry *e)
{
    char *root = ts_mkdtemp();
    for (; e->path; e++) {
        char *full = ts_join(root, e->path);
        char *dir = hk_dirname(full);
        mkdirs(dir);
        free(dir);
        if (!e->content)
            mkdirs(full);
        else if (e->content[0] == '-' && e->content[1] == '>')
            assert_int_equal(symlink(e->content + 2, full), 0);
        else
            ts_write_file(full, e->content, strlen(e->content));
        free(full);
    }
    return root;
}

static h2k_guest_identity *
detect(const entry *tree, int expect_rc)
{
    char *root = make_tree(tree);
    h2k_ctx *ctx = ts_ctx();
    h2k_guest_detector *det = NULL;
    assert_int_equal(h2k_guest_detector_new(ctx, &det), 0);
    h2k_guest_identity *id = NULL;
    ts_assert_rc(ctx, h2k_guest_detect_dir(det, root, &id), expect_rc);
    if (expect_rc < 0) {
        assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "no operating system"));
        assert_null(id);
    }
    h2k_guest_detector_free(det);
    h2k_ctx_free(ctx);
    ts_rmtree(root);
    free(root);
    return id;
}

static const char dpkg_status[] =
    "Package: bash\nStatus: install ok installed\nVersion: 5.2\n\n"
    "Package: open-vm-tools\nStatus: install ok installed\nVersion: 2:12.2.0\n\n"
    "Package: vim\nStatus: deinstall ok config-files\n";

static void
test_debian_vmware(void **state)
{
    (void)state;
    const entry tree[] = {
        {"usr/lib/os-release",
         "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
         "VERSION_ID=\"12\"\nID=debian\n"},
        {"etc/os-release", "->../usr/lib/os-release"},
        {"etc/debian_version", "12.5\n"},
        {"etc/hostname", "web01\n"},
        {"etc/fstab", "# <fs> <mp>\n/dev/sda1 / ext4 errors=remount-ro 0 1\n"
                      "/dev/sda2 none swap sw 0 0\nproc /proc proc defaults 0 0\n"},
        {"etc/network/interfaces",
         "auto lo\niface lo inet loopback\nauto ens192\niface ens192 inet static\n"},
        {"var/lib/dpkg/status", dpkg_status},
        {"lib/systemd/systemd", ""},
        {"sbin/init", "->/lib/systemd/systemd"},
        {"usr/bin/apt-get", ""},
        {"boot/vmlinuz-6.1.0-18-amd64", "k"},
        {"boot/initrd.img-6.1.0-18-amd64", "i"},
        {"boot/vmlinuz-6.1.0-10-amd64", "k"},
        {"lib/modules/6.1.0-18-amd64/kernel/drivers/block/virtio_blk.ko", ""},
        {"lib/modules/6.1.0-18-amd64/kernel/drivers/net/virtio_net.ko.xz", ""},
        {"lib/modules/6.1.0-18-amd64/modules.builtin", "kernel/drivers/virtio/virtio_pci.ko\n"},
        {"lib/modules/6.1.0-10-amd64", NULL},
        {NULL, NULL},
    };
    h2k_guest_identity *id = detect(tree, 0);
    assert_int_equal(id->type, H2K_GUEST_LINUX);
    assert_string_equal(id->os_id, "debian");
    assert_string_equal(id->os_version, "12");
    assert_int_equal(id->major_version, 12);
    assert_string_equal(id->os_pretty, "Debian GNU/Linux 12 (bookworm)");
    assert_string_equal(id->distro_family, "debian");
    assert_string_equal(id->init_system, "systemd");
    assert_string_equal(id->package_manager, "apt");
    assert_string_equal(id->hostname, "web01");
    assert_string_equal(id->root_device, "/dev/sda1");
    assert_int_equal(id->n_mounts, 1); /* swap has no mount point */
    assert_int_equal(id->firmware, H2K_FIRMWARE_UNKNOWN);
    assert_int_equal(id->vmware_tools, 1);
    assert_string_equal(id->network_config, "ifupdown");
    assert_int_equal(id->n_kernels, 2);
    const h2k_guest_kernel *k = NULL;
    for (size_t i = 0; i < id->n_kernels; i++)
        if (strcmp(id->kernels[i].version, "6.1.0-18-amd64") == 0)
            k = &id->kernels[i];
    assert_non_null(k);
    assert_string_equal(k->initrd_path, "/boot/initrd.img-6.1.0-18-amd64");
    assert_int_equal(k->has_virtio_blk, 1);
    assert_int_equal(k->has_virtio_net, 1);
    assert_int_equal(k->has_virtio_pci, 1); /* built in */
    assert_int_equal(k->has_virtio_scsi, 0);
    assert_int_equal(k->initrd_has_virtio, -1);
    char *j = h2k_guest_identity_to_json(id);
    assert_non_null(strstr(j, "\"os_id\": \"debian\""));
    free(j);
    /* a deep copy (what the fixer keeps of a caller's identity) */
    h2k_ctx *cctx = ts_ctx();
    h2k_guest_identity *cp = NULL;
    assert_int_equal(hk_guest_identity_dup(cctx, id, &cp), 0);
    assert_ptr_not_equal(cp->os_id, id->os_id);
    assert_string_equal(cp->os_id, "debian");
    assert_string_equal(cp->hostname, id->hostname);
    assert_int_equal(cp->n_kernels, id->n_kernels);
    assert_string_equal(cp->kernels[0].version, id->kernels[0].version);
    assert_int_equal(cp->kernels[0].has_virtio_blk, id->kernels[0].has_virtio_blk);
    assert_int_equal(cp->n_mounts, id->n_mounts);
    char *j1 = h2k_guest_identity_to_json(id), *j2 = h2k_guest_identity_to_json(cp);
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    h2k_guest_identity_free(cp);
    h2k_ctx_free(cctx);
    h2k_guest_identity_free(id);
}

static void
test_rhel7_release_only(void **state)
{
    (void)state;
    const entry tree[] = {
        {"etc/redhat-release", "Red Hat Enterprise Linux Server release 7.9 (Maipo)\n"},
        {"etc/sysconfig/network", "NETWORKING=yes\nHOSTNAME=db7.example.com\n"},
        {"etc/sysconfig/network-scripts/ifcfg-lo", "DEVICE=lo\n"},
        {"etc/sysconfig/network-scripts/ifcfg-ens192", "DEVICE=ens192\nHWADDR=00:50:56:aa:bb:cc\n"},
        {"etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=targeted\n"},
        {"usr/lib/systemd/systemd", ""},
        {"usr/bin/yum", ""},
        {"etc/vmware-tools", NULL},
        {"boot/efi/EFI/redhat", NULL},
        {NULL, NULL},
    };
    h2k_guest_identity *id = detect(tree, 0);
    assert_string_equal(id->os_id, "rhel");
    assert_string_equal(id->os_version, "7.9");
    assert_int_equal(id->major_version, 7);
    assert_int_equal(id->minor_version, 9);
    assert_string_equal(id->distro_family, "redhat");
    assert_string_equal(id->package_manager, "yum");
    assert_string_equal(id->hostname, "db7.example.com");
    assert_string_equal(id->selinux, "enforcing");
    assert_string_equal(id->network_config, "ifcfg");
    assert_int_equal(id->vmware_tools, 1);
    assert_int_equal(id->firmware, H2K_FIRMWARE_UEFI);
    h2k_guest_identity_free(id);
}

static void
test_sles11_and_ubuntu(void **state)
{
    (void)state;
    const entry sles[] = {
        {"etc/SuSE-release",
         "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n"},
        {"etc/HOSTNAME", "sles11\n"},
        {"etc/inittab", "id:3:initdefault:\n"},
        {"usr/bin/zypper", ""},
        {"etc/sysconfig/network/ifcfg-eth0", "BOOTPROTO='static'\n"},
        {"etc/wicked", NULL},
        {NULL, NULL},
    };
    h2k_guest_identity *id = detect(sles, 0);
    assert_string_equal(id->os_id, "sles");
    assert_string_equal(id->os_version, "11.4");
    assert_string_equal(id->distro_family, "suse");
    assert_string_equal(id->init_system, "sysv");
    assert_string_equal(id->package_manager, "zypper");
    assert_string_equal(id->hostname, "sles11");
    assert_string_equal(id->network_config, "ifcfg,wicked");
    assert_int_equal(id->vmware_tools, 0);
    h2k_guest_identity_free(id);

    const entry ubuntu[] = {
        {"etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\n"
                            "DISTRIB_DESCRIPTION=\"Ubuntu 22.04.3 LTS\"\n"},
        {"etc/netplan/50-cloud-init.yaml", "network:\n  version: 2\n"},
        {"sbin/initctl", ""},
        {"etc/init", NULL},
        {NULL, NULL},
    };
    id = detect(ubuntu, 0);
    assert_string_equal(id->os_id, "ubuntu");
    assert_string_equal(id->os_version, "22.04");
    assert_int_equal(id->minor_version, 4);
    assert_string_equal(id->distro_family, "debian");
    assert_string_equal(id->init_system, "upstart");
    assert_string_equal(id->network_config, "netplan");
    assert_null(id->package_manager);
    h2k_guest_identity_free(id);
}

static void
test_windows_and_nothing(void **state)
{
    (void)state;
    const entry win[] = {{"Windows/System32/Config", NULL}, {NULL, NULL}};
    h2k_guest_identity *id = detect(win, 0);
    assert_int_equal(id->type, H2K_GUEST_WINDOWS);
    assert_string_equal(id->distro_family, "windows");
    h2k_guest_identity_free(id);

    const entry empty[] = {{"etc/motd", "hello"}, {NULL, NULL}};
    assert_null(detect(empty, H2K_ERR_GUEST_DETECTION));
}

static void
test_symlinks_stay_inside_root(void **state)
{
    (void)state;
    /* An absolute or climbing link must resolve inside the guest, never on the host. */
    const entry tree[] = {
        {"etc/os-release", "->/../../../../usr/lib/os-release"},
        {"usr/lib/os-release", "ID=fedora\nVERSION_ID=39\n"},
        {"etc/hostname", "->/etc/hostname"}, /* a loop */
        {NULL, NULL},
    };
    h2k_guest_identity *id = detect(tree, 0);
    assert_string_equal(id->os_id, "fedora");
    assert_string_equal(id->distro_family, "redhat");
    assert_null(id->hostname);
    h2k_guest_identity_free(id);
}

static void
test_shellvar(void **state)
{
    (void)state;
    const char *t = "A=1\n export B='two words'\nC = \"x\"\r\nA=3\nAB=9\n";
    char *v = hk_shellvar_get(t, "A");
    assert_string_equal(v, "3");
    free(v);
    v = hk_shellvar_get(t, "B");
    assert_string_equal(v, "two words");
    free(v);
    v = hk_shellvar_get(t, "C");
    assert_string_equal(v, "x");
    free(v);
    assert_null(hk_shellvar_get(t, "D"));
    assert_null(hk_shellvar_get("A", "A"));
}

/* What each OS needs of the CPU picks the boot test's CPU under emulation. */
static void
test_x86_level(void **state)
{
    (void)state;
    assert_int_equal(hk_guest_x86_level("debian", 12), 1);
    assert_int_equal(hk_guest_x86_level("ubuntu", 24), 1);
    assert_int_equal(hk_guest_x86_level("rhel", 8), 1);
    assert_int_equal(hk_guest_x86_level("rhel", 9), 2);
    assert_int_equal(hk_guest_x86_level("almalinux", 9), 2);
    assert_int_equal(hk_guest_x86_level("rocky", 10), 3);
    assert_int_equal(hk_guest_x86_level("centos", 10), 3);
    assert_int_equal(hk_guest_x86_level("sles", 15), 1);
    assert_int_equal(hk_guest_x86_level("sles", 16), 2);
    assert_int_equal(hk_guest_x86_level("amzn", 2), 1);
    assert_int_equal(hk_guest_x86_level("amzn", 2023), 2);
    /* not known: no version, another OS, Windows, a rolling release */
    assert_int_equal(hk_guest_x86_level("debian", 0), 0);
    assert_int_equal(hk_guest_x86_level(NULL, 12), 0);
    assert_int_equal(hk_guest_x86_level("windows", 10), 0);
    assert_int_equal(hk_guest_x86_level("opensuse-tumbleweed", 20261204), 0);
    assert_int_equal(hk_guest_x86_level("arch", 1), 0);
}

static void
test_missing_root(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_guest_detector *det = NULL;
    assert_int_equal(h2k_guest_detector_new(ctx, &det), 0);
    h2k_guest_identity *id = NULL;
    ts_assert_rc(ctx, h2k_guest_detect_dir(det, "/nonexistent/h2k-root", &id), H2K_ERR_NOT_FOUND);
    h2k_guest_detector_free(det);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debian_vmware),
        cmocka_unit_test(test_rhel7_release_only),
        cmocka_unit_test(test_sles11_and_ubuntu),
        cmocka_unit_test(test_windows_and_nothing),
        cmocka_unit_test(test_symlinks_stay_inside_root),
        cmocka_unit_test(test_shellvar),
        cmocka_unit_test(test_x86_level),
        cmocka_unit_test(test_missing_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
