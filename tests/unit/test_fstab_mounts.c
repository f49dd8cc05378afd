/* Unit tests of src/guest/fstab_mounts.c: an fstab resolved to the appliance's devices. */
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "guest/fstab_mounts.h"

/* The appliance's view of the corpus layouts: a BIOS disk, UEFI with LVM,
 * btrfs subvolumes, a second disk. */
static const hk_dev devs[] = {
    {.device = "/dev/sda1",
     .disk_index = 0,
     .partition = 1,
     .fstype = "ext4",
     .uuid = "1111aaaa-0000-0000-0000-000000000001"},
    {.device = "/dev/sda2",
     .disk_index = 0,
     .partition = 2,
     .fstype = "swap",
     .uuid = "2222aaaa-0000-0000-0000-000000000002"},
    {.device = "/dev/sdb1",
     .disk_index = 1,
     .partition = 1,
     .fstype = "vfat",
     .uuid = "ABCD-1234",
     .label = "ESP"},
    {.device = "/dev/sdb2",
     .disk_index = 1,
     .partition = 2,
     .fstype = "ext4",
     .uuid = "3333aaaa-0000-0000-0000-000000000003",
     .label = "my boot"},
    {.device = "/dev/vg0/root",
     .disk_index = -1,
     .fstype = "xfs",
     .uuid = "4444aaaa-0000-0000-0000-000000000004"},
    {.device = "/dev/vg-data/lv-home", .disk_index = -1, .fstype = "xfs"},
    {.device = "/dev/sdc1",
     .disk_index = 2,
     .partition = 1,
     .fstype = "btrfs",
     .uuid = "5555aaaa-0000-0000-0000-000000000005"},
    {.device = "btrfsvol:/dev/sdc1/@",
     .disk_index = -1,
     .fstype = "btrfs",
     .uuid = "5555aaaa-0000-0000-0000-000000000005"},
    {.device = "btrfsvol:/dev/sdc1/@home",
     .disk_index = -1,
     .fstype = "btrfs",
     .uuid = "5555aaaa-0000-0000-0000-000000000005"},
};
static const hk_devmap map = {devs, sizeof(devs) / sizeof(devs[0]), 3};

static void
expect(const char *fstab, const char *const *pairs, size_t n)
{
    hk_fstab_mounts m = {0};
    assert_int_equal(hk_fstab_mounts_resolve(fstab, &map, &m), 0);
    if (m.unresolved)
        fail_msg("unresolved: %s", m.unresolved);
    assert_int_equal(m.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(m.mountpoint[i], pairs[2 * i]);
        assert_string_equal(m.mountable[i], pairs[2 * i + 1]);
    }
    hk_fstab_mounts_free(&m);
}

static void
expect_unresolved(const char *fstab, const char *why)
{
    hk_fstab_mounts m = {0};
    assert_int_equal(hk_fstab_mounts_resolve(fstab, &map, &m), 0);
    if (!m.unresolved)
        fail_msg("resolved %zu mounts of:\n%s", m.n, fstab);
    if (!strstr(m.unresolved, why))
        fail_msg("\"%s\" does not say \"%s\"", m.unresolved, why);
    assert_int_equal(m.n, 0);
    assert_null(m.mountpoint);
    hk_fstab_mounts_free(&m);
}

static void
test_device_names_and_ids(void **state)
{
    (void)state;
    /* the Debian guest: root and swap by device name, written by VMware's installer */
    expect("# /etc/fstab\n/dev/sda1 / ext4 errors=remount-ro 0 1\n"
           "/dev/sda2 none swap sw 0 0\n/dev/sr0 /media/cdrom0 udf,iso9660 user,noauto 0 0\n",
           NULL, 0);
    /* UEFI + LVM: mapper name, UUID, LABEL with an escaped blank, the ESP */
    static const char *const uefi[] = {"/boot",     "/dev/sdb2", "/boot/efi",
                                       "/dev/sdb1", "/home",     "/dev/vg-data/lv-home"};
    expect("/dev/mapper/vg0-root / xfs defaults 0 0\n"
           "LABEL=my\\040boot /boot ext4 defaults 0 2\n"
           "UUID=abcd-1234 /boot/efi vfat umask=0077 0 1\n"
           "/dev/mapper/vg--data-lv--home /home xfs defaults 0 0\n"
           "tmpfs /tmp tmpfs defaults 0 0\nproc /proc proc defaults 0 0\n",
           uefi, 3);
    /* other spellings of the same devices: IDE names, by-uuid links, LVM paths */
    static const char *const other[] = {"/data",         "/dev/sdb2", "/srv",
                                        "/dev/vg0/root", "/opt",      "/dev/sda1"};
    expect("/dev/hdb2 /data ext4 defaults\n/dev/vg0/root /srv xfs defaults 0 0\n"
           "/dev/disk/by-uuid/1111AAAA-0000-0000-0000-000000000001 /opt ext4 defaults 0 0\n",
           other, 3);
}

static void
test_btrfs_subvolumes(void **state)
{
    (void)state;
    /* the btrfs corpus guest: / and /home on subvolumes, /var on disk 2 by name */
    static const char *const want[] = {"/home", "btrfsvol:/dev/sdc1/@home", "/var", "/dev/sda1"};
    hk_fstab_mounts m = {0};
    const char *fstab = "UUID=5555aaaa-0000-0000-0000-000000000005 / btrfs defaults,subvol=@ 0 0\n"
                        "UUID=5555aaaa-0000-0000-0000-000000000005 /home btrfs "
                        "defaults,subvol=/@home 0 0\n"
                        "/dev/sda1\t/var\text4\tdefaults\t0\t2\n";
    expect(fstab, want, 2);
    assert_int_equal(hk_fstab_mounts_resolve(fstab, &map, &m), 0);
    /* the volume's device is claimed, not only its subvolume */
    assert_int_equal(m.n, 2);
    assert_string_equal(hk_mountable_device(&map, m.mountable[0]), "/dev/sdc1");
    assert_string_equal(hk_mountable_device(&map, m.mountable[1]), "/dev/sda1");
    hk_fstab_mounts_free(&m);
    assert_string_equal(hk_mountable_device(&map, "btrfsvol:/dev/sdc1/@home"), "/dev/sdc1");
    assert_string_equal(hk_mountable_device(&map, "/dev/sda1"), "/dev/sda1");
    assert_string_equal(hk_mountable_device(&map, "btrfsvol:/dev/zz/@"), "btrfsvol:/dev/zz/@");
}

static void
test_left_out(void **state)
{
    (void)state;
    /* network, bind, noauto, removable, pseudo: none is a disk of the VM */
    expect("server:/export /mnt/nfs nfs defaults 0 0\n//srv/share /mnt/smb cifs creds 0 0\n"
           "/srv/a /srv/b none bind 0 0\n/dev/sda1 /mnt/rescue ext4 noauto 0 0\n"
           "/dev/fd0 /media/floppy auto rw,user,noauto 0 0\n/dev/cdrom /mnt/cd iso9660 ro 0 0\n"
           "sshfs#u@h:/ /mnt/s fuse.sshfs defaults 0 0\nswap.img none swap sw 0 0\n"
           "   # indented comment\n\n/dev/sda1\n",
           NULL, 0);
    /* what cannot be resolved but may fail at boot is left out too */
    expect("UUID=0000dead-0000-0000-0000-000000000000 /backup ext4 defaults,nofail 0 0\n"
           "/dev/sdq1 /scratch xfs nofail 0 0\n",
           NULL, 0);
}

static void
test_unresolved(void **state)
{
    (void)state;
    expect_unresolved("/dev/sda1 / ext4 defaults 0 1\n"
                      "UUID=0000dead-0000-0000-0000-000000000000 /data ext4 defaults 0 0\n",
                      "line 2: UUID=0000dead");
    expect_unresolved("PARTUUID=1234-01 /data ext4 defaults 0 0\n", "no disk of the VM has it");
    expect_unresolved("UUID=5555aaaa-0000-0000-0000-000000000005 /home btrfs subvolid=258 0 0\n",
                      "subvolume named by number");
    expect_unresolved("UUID=5555aaaa-0000-0000-0000-000000000005 /home btrfs subvol=@nope 0 0\n",
                      "no such btrfs subvolume");
    expect_unresolved("/dev/sda1 /a\\000b ext4 defaults 0 0\n", "NUL escape");
    expect_unresolved("/dev/mapper/nolv /data ext4 defaults 0 0\n", "line 1");
    expect_unresolved("LABEL=nolabel /data ext4 defaults 0 0\n", "LABEL=nolabel");
    expect_unresolved("/etc/image /data ext4 loop 0 0\n", "/etc/image");
    /* a clone: two devices with one UUID is not a guess we make */
    static const hk_dev twins[] = {
        {.device = "/dev/sda1", .disk_index = 0, .partition = 1, .fstype = "ext4", .uuid = "u1"},
        {.device = "/dev/sdb1", .disk_index = 1, .partition = 1, .fstype = "ext4", .uuid = "u1"},
    };
    hk_devmap tm = {twins, 2, 2};
    hk_fstab_mounts m = {0};
    assert_int_equal(hk_fstab_mounts_resolve("UUID=u1 /data ext4 defaults 0 0\n", &tm, &m), 0);
    assert_non_null(m.unresolved);
    hk_fstab_mounts_free(&m);
    assert_int_equal(hk_fstab_mounts_resolve(NULL, &map, &m), H2K_ERR_INVALID_ARG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_names_and_ids),
        cmocka_unit_test(test_btrfs_subvolumes),
        cmocka_unit_test(test_left_out),
        cmocka_unit_test(test_unresolved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
