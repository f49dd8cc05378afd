/* Unit tests of the in-place virtio script for dracut images
 * (src/fix/initrd_dracut.c) and of the reading of its verdict (fix_cmd.c).
 * The script runs under /bin/sh with the base utilities (od, find, sort, cp,
 * readlink...) and stubs for the guest's cpio, gzip, modprobe and depmod: the
 * cpio stub unpacks a made-up image tree and "packs" by listing the files it
 * is given, so the test sees exactly what would go into the new image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"
#include "fix/fix_cmd.h"

#define KVER "6.1.0-50-amd64"

typedef struct {
    char *dir, *bin, *guest, *img, *layout, *depmod_args, *outside;
} env;

static int
setup(void **state)
{
    env *e = calloc(1, sizeof(*e));
    e->dir = ts_mkdtemp();
    e->bin = ts_join(e->dir, "bin");
    e->guest = ts_join(e->dir, "guest");
    e->img = ts_join(e->dir, "initrd.img");
    e->layout = ts_join(e->dir, "layout");
    e->depmod_args = ts_join(e->dir, "depmod-args");
    e->outside = ts_join(e->dir, "outside");
    assert_int_equal(mkdir(e->bin, 0755), 0);
    /* the guest's own module tree, where modprobe finds the drivers */
    char *mk = hk_asprintf("mkdir -p '%s/lib/modules/" KVER "/kernel/drivers/virtio' "
                           "'%s/lib/modules/" KVER "/kernel/drivers/block' "
                           "'%s/lib/modules/" KVER "/kernel/drivers/scsi' '%s/usr/lib/modules/" KVER
                           "' && for m in virtio virtio_ring virtio_pci; do "
                           "echo $m > '%s/lib/modules/" KVER "/kernel/drivers/virtio/'$m.ko; done"
                           " && echo virtio_blk > '%s/lib/modules/" KVER
                           "/kernel/drivers/block/virtio_blk.ko'"
                           " && echo sd_mod > '%s/lib/modules/" KVER
                           "/kernel/drivers/scsi/sd_mod.ko'",
                           e->guest, e->guest, e->guest, e->outside, e->guest, e->guest, e->guest);
    assert_int_equal(system(mk), 0);
    free(mk);

    char *s;
    /* modprobe -S K --show-depends M */
    s = hk_asprintf("#!/bin/sh\n[ \"$1\" = -S ] && [ \"$3\" = --show-depends ] && "
                    "[ \"$4\" = -a ] || exit 9\n"
                    "d='%s/lib/modules/'$2/kernel/drivers\n"
                    "shift 4\n"
                    "for m in \"$@\"; do\n"
                    "case $m in\n"
                    "  virtio_pci) echo \"insmod $d/virtio/virtio.ko\"; "
                    "echo \"insmod $d/virtio/virtio_ring.ko\"; "
                    "echo \"insmod $d/virtio/virtio_pci.ko\" ;;\n"
                    "  virtio_blk) echo \"insmod $d/virtio/virtio.ko\"; "
                    "echo \"insmod $d/virtio/virtio_ring.ko\"; "
                    "echo \"insmod $d/block/virtio_blk.ko\" ;;\n"
                    "  sd_mod) echo \"insmod $d/scsi/sd_mod.ko\" ;;\n"
                    "  crc32c) echo 'builtin crc32c' ;;\n"
                    "  *) echo \"modprobe: FATAL: Module $m not found\" >&2; exit 1 ;;\n"
                    "esac\n"
                    "done\n",
                    e->guest);
    ts_write_exec(e->bin, "modprobe", s);
    free(s);
    /* depmod -b BASE K: records its arguments, writes the index where told */
    s = hk_asprintf("#!/bin/sh\necho \"$@\" >> '%s'\n[ \"$1\" = -b ] || exit 9\n"
                    "ls \"$2/lib/modules/$3/\" > \"$2/lib/modules/$3/modules.dep\"\n",
                    e->depmod_args);
    ts_write_exec(e->bin, "depmod", s);
    free(s);
    ts_write_exec(e->bin, "gzip",
                  "#!/bin/sh\ncase $1 in -dc) cat >/dev/null; echo CPIO ;; "
                  "-n) printf 'GZ:'; cat ;; *) exit 9 ;; esac\n");
    /* cpio -idm: unpacks the tree named in the layout file; cpio -o: lists
     * the files (and the content of the cmdline.d files) */
    s = hk_asprintf("#!/bin/sh\n"
                    "case $1 in\n"
                    "-idm)\n"
                    "  cat >/dev/null\n"
                    "  k=" KVER "\n"
                    "  case $(cat '%s') in\n"
                    "  merged|present)\n"
                    "    mkdir -p usr/lib/modules/$k/kernel/drivers/scsi usr/bin etc\n"
                    "    ln -s usr/lib lib; ln -s usr/bin bin\n"
                    "    echo sd > usr/lib/modules/$k/kernel/drivers/scsi/sd_mod.ko\n"
                    "    if [ \"$(cat '%s')\" = present ]; then\n"
                    "      mkdir -p usr/lib/modules/$k/kernel/drivers/virtio "
                    "usr/lib/modules/$k/kernel/drivers/block\n"
                    "      for m in virtio virtio_ring virtio_pci; do : > "
                    "usr/lib/modules/$k/kernel/drivers/virtio/$m.ko; done\n"
                    "      : > usr/lib/modules/$k/kernel/drivers/block/virtio_blk.ko\n"
                    "    fi ;;\n"
                    "  split)\n"
                    "    mkdir -p lib/modules/$k/kernel/drivers/scsi etc\n"
                    "    echo sd > lib/modules/$k/kernel/drivers/scsi/sd_mod.ko ;;\n"
                    "  escape)\n"
                    "    ln -s '%s/usr' usr; ln -s usr/lib lib ;;\n"
                    "  etc-escape)\n"
                    "    mkdir -p usr/lib/modules/$k; ln -s '%s' etc ;;\n"
                    "  esac ;;\n"
                    "--quiet)\n"
                    "  while read -r f; do echo \"$f\"; case $f in *cmdline.d/*.conf) cat \"$f\" "
                    ";; esac; done ;;\n"
                    "*) exit 9 ;;\n"
                    "esac\n",
                    e->layout, e->layout, e->outside, e->outside);
    ts_write_exec(e->bin, "cpio", s);
    free(s);
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    env *e = *state;
    ts_rmtree(e->dir);
    free(e->dir);
    free(e->bin);
    free(e->guest);
    free(e->img);
    free(e->layout);
    free(e->depmod_args);
    free(e->outside);
    free(e);
    return 0;
}

/* Runs the script on the image with the layout @layout; returns its exit status,
 * its output in *@out (caller frees). */
static int
run_script(env *e, const char *layout, const char *image, const char *modules, char **out)
{
    ts_write_file(e->layout, layout, strlen(layout));
    ts_write_file(e->img, image, strlen(image));
    unlink(e->depmod_args);
    char *cmd = hk_fix_cmd_initramfs_add(KVER, e->img, modules, hk_initrd_dracut_add_script());
    assert_non_null(cmd);
    int st = ts_sh_with_path(e->bin, cmd, out);
    free(cmd);
    return st;
}

static const char gz_image[] = "\x1f\x8b\x08\x00 a gzip image";

/* merged /usr: the drivers and their dependencies land in usr/lib/modules,
 * depmod re-indexes that tree, rd.driver.pre names the drivers, the image is
 * packed with the compressor it had. */
static void
test_adds_to_merged_usr(void **state)
{
    env *e = *state;
    char *out = NULL;
    int st = run_script(e, "merged", gz_image, "virtio_pci virtio_blk sd_mod", &out);
    if (st != 0)
        fail_msg("exit %d: %s", st, out);
    const char *said = NULL;
    assert_int_equal(hk_initrd_add_result(st, out, &said), HK_INITRD_ADD_ADDED);
    assert_non_null(said);
    assert_true(
        hk_startswith(said, "added virtio.ko virtio_ring.ko virtio_pci.ko virtio_blk.ko\n"));
    char *img = ts_read_file(e->img, NULL);
    assert_true(hk_startswith(img, "GZ:"));
    static const char *const want[] = {
        "./usr/lib/modules/" KVER "/kernel/drivers/virtio/virtio.ko\n",
        "./usr/lib/modules/" KVER "/kernel/drivers/virtio/virtio_ring.ko\n",
        "./usr/lib/modules/" KVER "/kernel/drivers/virtio/virtio_pci.ko\n",
        "./usr/lib/modules/" KVER "/kernel/drivers/block/virtio_blk.ko\n",
        "./usr/lib/modules/" KVER "/modules.dep\n",
        "./etc/cmdline.d/90-hyper2kvm-virtio.conf\nrd.driver.pre=virtio_pci,virtio_blk,sd_mod\n",
        "./lib\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(img, want[i]))
            fail_msg("the new image lacks %s:\n%s", want[i], img);
    /* no second copy through the lib -> usr/lib symlink */
    assert_null(strstr(img, "./lib/modules"));
    /* the modules index lists the new drivers' directories */
    char *dep = strstr(img, "modules.dep");
    assert_non_null(dep);
    char *args = ts_read_file(e->depmod_args, NULL);
    assert_true(hk_startswith(args, "-b "));
    assert_non_null(strstr(args, " " KVER "\n"));
    free(args);
    free(img);
    free(out);
}

/* an image that already holds every driver is left byte for byte */
static void
test_present_unchanged(void **state)
{
    env *e = *state;
    char *out = NULL;
    int st = run_script(e, "present", gz_image, "virtio_pci virtio_blk", &out);
    assert_int_equal(st, 0);
    assert_int_equal(hk_initrd_add_result(st, out, NULL), HK_INITRD_ADD_PRESENT);
    size_t len = 0;
    char *img = ts_read_file(e->img, &len);
    assert_int_equal(len, strlen(gz_image));
    assert_memory_equal(img, gz_image, len);
    assert_false(ts_exists(e->depmod_args));
    free(img);
    free(out);
}

/* an older layout: /lib/modules as a real directory */
static void
test_adds_to_lib_modules(void **state)
{
    env *e = *state;
    char *out = NULL;
    int st = run_script(e, "split", gz_image, "virtio_blk", &out);
    if (st != 0)
        fail_msg("exit %d: %s", st, out);
    assert_int_equal(hk_initrd_add_result(st, out, NULL), HK_INITRD_ADD_ADDED);
    char *img = ts_read_file(e->img, NULL);
    assert_non_null(strstr(img, "./lib/modules/" KVER "/kernel/drivers/block/virtio_blk.ko\n"));
    assert_non_null(strstr(img, "rd.driver.pre=virtio_blk\n"));
    free(img);
    free(out);
}

/* Refusals (exit 3: the caller rebuilds with dracut instead), the image and
 * everything outside the unpacked tree untouched. */
static void
test_refusals(void **state)
{
    env *e = *state;
    static const struct {
        const char *layout, *image, *modules, *why;
    } cases[] = {
        {"merged", "not an initramfs", "virtio_blk", "unknown compression"},
        {"escape", gz_image, "virtio_blk", "has no modules for"},
        {"etc-escape", gz_image, "virtio_blk", "etc leaves the image"},
        {"merged", gz_image, "virtio_nonexistent", "no module among virtio_nonexistent"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = NULL;
        int st = run_script(e, cases[i].layout, cases[i].image, cases[i].modules, &out);
        if (st != 3 || !strstr(out, cases[i].why))
            fail_msg("case %zu: exit %d: %s", i, st, out);
        assert_int_equal(hk_initrd_add_result(st, out, NULL), HK_INITRD_ADD_NOT_APPLIED);
        char *img = ts_read_file(e->img, NULL);
        assert_string_equal(img, cases[i].image);
        free(img);
        free(out);
    }
    /* nothing was written through the symlinks */
    char *probe = hk_asprintf("test -z \"$(find '%s' -type f)\"", e->outside);
    assert_int_equal(system(probe), 0);
    free(probe);
}

/* The verdict: a line of its own, with exit status 0. */
static void
test_verdict(void **state)
{
    (void)state;
    const char *said = NULL;
    assert_int_equal(hk_initrd_add_result(0, "hyper2kvm-initramfs: present\n", &said),
                     HK_INITRD_ADD_PRESENT);
    assert_string_equal(said, "present\n");
    assert_int_equal(hk_initrd_add_result(0, "x\nhyper2kvm-initramfs: added a.ko b.ko\n", &said),
                     HK_INITRD_ADD_ADDED);
    assert_string_equal(said, "added a.ko b.ko\n");
    /* a failure, whatever it printed */
    assert_int_equal(hk_initrd_add_result(3, "hyper2kvm-initramfs: added a.ko\n", NULL),
                     HK_INITRD_ADD_NOT_APPLIED);
    /* the marker inside a line (e.g. echoed from a guest file) does not count */
    assert_int_equal(hk_initrd_add_result(0, "warning: hyper2kvm-initramfs: present\n", &said),
                     HK_INITRD_ADD_NOT_APPLIED);
    assert_null(said);
    assert_int_equal(hk_initrd_add_result(0, "hyper2kvm-initramfs: presently\n", NULL),
                     HK_INITRD_ADD_NOT_APPLIED);
    assert_int_equal(hk_initrd_add_result(0, "hyper2kvm-initramfs: addedx\n", NULL),
                     HK_INITRD_ADD_NOT_APPLIED);
    assert_int_equal(hk_initrd_add_result(0, NULL, &said), HK_INITRD_ADD_NOT_APPLIED);
    assert_int_equal(hk_initrd_add_result(0, "", NULL), HK_INITRD_ADD_NOT_APPLIED);
}

/* hostile image paths reach the script as $2, one word */
static void
test_hostile_path_is_one_word(void **state)
{
    (void)state;
    char *cmd = hk_fix_cmd_initramfs_add(KVER, "/boot/initrd.img-$(reboot)'; reboot '",
                                         "virtio_blk", hk_initrd_dracut_add_script());
    assert_non_null(cmd);
    assert_true(hk_startswith(cmd, "set -- '" KVER "' '/boot/initrd.img-$(reboot)'\\''; reboot "
                                   "'\\''' virtio_blk\n"));
    free(cmd);
    assert_null(hk_fix_cmd_initramfs_add("6.1$(x)", "/boot/initrd.img", "virtio_blk",
                                         hk_initrd_dracut_add_script()));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_adds_to_merged_usr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_present_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adds_to_lib_modules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test(test_verdict),
        cmocka_unit_test(test_hostile_path_is_one_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
