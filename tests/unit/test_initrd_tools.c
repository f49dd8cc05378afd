/* Unit tests of the in-place virtio script for initramfs-tools images
 * (src/fix/initrd_tools.c).  The images are real: early archives and the main
 * archive are made with the host's cpio and gzip, and the script runs under
 * /bin/sh with the host's cpio, od, dd and compressors; only the guest's
 * modprobe and depmod are stubs (over a made-up module tree), so the test
 * knows exactly which drivers must land in the image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"
#include "fix/fix_cmd.h"

#define KVER "6.1.0-50-amd64"

typedef struct {
    char *dir, *bin, *guest, *img, *work;
} env;

static void
sh(const char *cmd)
{
    int st = system(cmd);
    if (st != 0)
        fail_msg("exit %d: %s", st, cmd);
}

static int
setup(void **state)
{
    for (const char *const *t = (const char *const[]){"cpio", "gzip", "od", "dd", NULL}; *t; t++)
        ts_require_program(*t);
    env *e = calloc(1, sizeof(*e));
    e->dir = ts_mkdtemp();
    e->bin = ts_join(e->dir, "bin");
    e->guest = ts_join(e->dir, "guest");
    e->img = ts_join(e->dir, "initrd.img");
    e->work = ts_join(e->dir, "work");
    assert_int_equal(mkdir(e->bin, 0755), 0);
    assert_int_equal(mkdir(e->work, 0755), 0);
    /* the guest's own module tree, where modprobe finds the drivers */
    char *mk = hk_asprintf(
        "set -e; m='%s/lib/modules/" KVER "/kernel/drivers'; "
        "mkdir -p $m/virtio $m/block $m/scsi; "
        "for x in virtio virtio_ring virtio_pci; do echo $x > $m/virtio/$x.ko; done; "
        "echo virtio_blk > $m/block/virtio_blk.ko; echo sd > $m/scsi/sd_mod.ko",
        e->guest);
    sh(mk);
    free(mk);
    /* modprobe -S K --show-depends -a M... */
    char *s = hk_asprintf(
        "#!/bin/sh\n[ \"$1\" = -S ] && [ \"$3\" = --show-depends ] && [ \"$4\" = -a ] || exit 9\n"
        "d='%s/lib/modules/'$2/kernel/drivers\nshift 4\n"
        "for m in \"$@\"; do case $m in\n"
        "  virtio_pci) echo \"insmod $d/virtio/virtio.ko\"; echo \"insmod $d/virtio/virtio_ring.ko\"; "
        "echo \"insmod $d/virtio/virtio_pci.ko\" ;;\n"
        "  virtio_blk) echo \"insmod $d/virtio/virtio.ko\"; echo \"insmod $d/virtio/virtio_ring.ko\"; "
        "echo \"insmod $d/block/virtio_blk.ko\" ;;\n"
        "  *) echo \"modprobe: FATAL: Module $m not found\" >&2; exit 1 ;;\n"
        "esac; done\n",
        e->guest);
    ts_write_exec(e->bin, "modprobe", s);
    free(s);
    /* depmod -b BASE K: the index lists the tree's files */
    ts_write_exec(e->bin, "depmod",
                  "#!/bin/sh\n[ \"$1\" = -b ] || exit 9\n"
                  "(cd \"$2/lib/modules/$3\" && find . -name '*.ko' | LC_ALL=C sort) > "
                  "\"$2/lib/modules/$3/modules.dep\"\n");
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
    free(e->work);
    free(e);
    return 0;
}

/* Writes an archive of the tree made by @populate (shell, run in a fresh
 * folder) to @name in the work folder: "early" ones plain, as mkinitramfs
 * writes them (padded to 512 bytes), the main one gzip-compressed. */
static char *
archive(env *e, const char *name, const char *populate, bool compress)
{
    char *out = ts_join(e->work, name);
    char *cmd = hk_asprintf("set -e; d=$(mktemp -d '%s/t.XXXXXX'); cd \"$d\"; %s; "
                            "find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 %s > '%s'",
                            e->work, populate, compress ? "| gzip -n -6" : "", out);
    sh(cmd);
    free(cmd);
    return out;
}

static const char microcode[] = "mkdir -p kernel/x86/microcode; echo UCODE > "
                                "kernel/x86/microcode/GenuineIntel.bin";
static const char main_tree[] = "mkdir -p lib/modules/" KVER "/kernel/drivers/scsi conf scripts; "
                                "echo sd > lib/modules/" KVER "/kernel/drivers/scsi/sd_mod.ko; "
                                "echo sd_mod > conf/modules; echo init > init";

/* The image: the files named (work folder) one after the other. */
static void
image_of(env *e, const char *const *parts)
{
    hk_buf b = {0};
    for (; *parts; parts++) {
        size_t n = 0;
        char *p = ts_join(e->work, *parts);
        char *data = ts_read_file(p, &n);
        hk_buf_append(&b, data, n);
        free(data);
        free(p);
    }
    ts_write_file(e->img, b.data, b.len);
    hk_buf_free(&b);
}

/* Runs the script in @mode (NULL: the default) with the modules named. */
static int
run_mode(env *e, const char *mode, const char *modules, char **out)
{
    char *cmd = hk_fix_cmd_initramfs_add(KVER, e->img, modules, hk_initrd_tools_add_script());
    assert_non_null(cmd);
    char *full = mode ? hk_asprintf("H2K_INITRD_MODE=%s\n%s", mode, cmd) : strdup(cmd);
    assert_non_null(full);
    int st = ts_sh_with_path(e->bin, full, out);
    free(full);
    free(cmd);
    return st;
}

static int
run_script(env *e, const char *modules, char **out)
{
    return run_mode(e, NULL, modules, out);
}

/* The listing and the conf/modules of the new image's main archive, which
 * starts at @early; checks that the bytes before it are @prefix. */
static char *
main_listing(env *e, const char *prefix, size_t early)
{
    size_t n = 0;
    char *img = ts_read_file(e->img, &n);
    assert_true(n > early);
    if (early)
        assert_memory_equal(img, prefix, early);
    free(img);
    char *lst = ts_join(e->work, "listing");
    char *cmd = hk_asprintf(
        "set -e; tail -c +%zu '%s' > '%s/m'; "
        "case $(od -An -tx1 -N4 '%s/m' | tr -d ' \\n') in 1f8b*) z='gzip -dc' ;; "
        "28b52ffd) z='zstd -dcq' ;; fd377a58) z='xz -dc' ;; 02214c18) z='lz4 -dc' ;; "
        "*) exit 7 ;; esac; $z < '%s/m' > '%s/m.cpio'; "
        "{ cpio --quiet -t < '%s/m.cpio'; echo '--- conf/modules'; "
        "cpio --quiet -i --to-stdout conf/modules < '%s/m.cpio'; } > '%s'",
        early + 1, e->img, e->work, e->work, e->work, e->work, e->work, e->work, lst);
    sh(cmd);
    free(cmd);
    char *text = ts_read_file(lst, NULL);
    free(lst);
    return text;
}

static void
check_added(env *e, const char *prefix, size_t early)
{
    char *out = NULL;
    int st = run_script(e, "virtio_pci virtio_blk", &out);
    if (st != 0)
        fail_msg("exit %d: %s", st, out);
    const char *said = NULL;
    assert_int_equal(hk_initrd_add_result(st, out, &said), HK_INITRD_ADD_ADDED);
    assert_string_equal(said, "added virtio.ko virtio_ring.ko virtio_pci.ko virtio_blk.ko\n");
    char *l = main_listing(e, prefix, early);
    static const char *const want[] = {
        "lib/modules/" KVER "/kernel/drivers/virtio/virtio.ko\n",
        "lib/modules/" KVER "/kernel/drivers/virtio/virtio_ring.ko\n",
        "lib/modules/" KVER "/kernel/drivers/virtio/virtio_pci.ko\n",
        "lib/modules/" KVER "/kernel/drivers/block/virtio_blk.ko\n",
        "lib/modules/" KVER "/kernel/drivers/scsi/sd_mod.ko\n",
        "lib/modules/" KVER "/modules.dep\n",
        "init\n",
        "--- conf/modules\nsd_mod\nvirtio_pci\nvirtio_blk\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(l, want[i]))
            fail_msg("the new image lacks %s:\n%s", want[i], l);
    /* nothing of the early archives was repacked into the main one */
    assert_null(strstr(l, "microcode"));
    free(l);
    free(out);
}

/* early microcode archive + gzip main: the early bytes stay as they were */
static void
test_adds_after_early_archive(void **state)
{
    env *e = *state;
    free(archive(e, "early.cpio", microcode, false));
    free(archive(e, "main.gz", main_tree, true));
    image_of(e, (const char *const[]){"early.cpio", "main.gz", NULL});
    size_t early = 0;
    char *p = ts_join(e->work, "early.cpio");
    char *prefix = ts_read_file(p, &early);
    free(p);
    assert_int_equal(early % 512, 0);
    check_added(e, prefix, early);
    free(prefix);
}

/* two early archives with zero padding between them (4-byte words) */
static void
test_two_early_archives_and_padding(void **state)
{
    env *e = *state;
    free(archive(e, "early.cpio", microcode, false));
    free(archive(e, "early2.cpio",
                 "mkdir -p kernel/x86/microcode; echo AMD > "
                 "kernel/x86/microcode/AuthenticAMD.bin",
                 false));
    free(archive(e, "main.gz", main_tree, true));
    char *zp = ts_join(e->work, "zeros");
    static const char zeros[1024];
    ts_write_file(zp, zeros, sizeof(zeros));
    free(zp);
    image_of(e, (const char *const[]){"early.cpio", "zeros", "early2.cpio", "main.gz", NULL});
    size_t n = 0;
    char *img = ts_read_file(e->img, &n);
    char *p = ts_join(e->work, "main.gz");
    size_t mz = 0;
    free(ts_read_file(p, &mz));
    free(p);
    check_added(e, img, n - mz);
    free(img);
}

/* no early archive: the image is the compressed archive alone */
static void
test_adds_without_early_archive(void **state)
{
    env *e = *state;
    free(archive(e, "main.gz", main_tree, true));
    image_of(e, (const char *const[]){"main.gz", NULL});
    check_added(e, NULL, 0);
}

/* an image that already holds every driver is left byte for byte */
static void
test_present_unchanged(void **state)
{
    env *e = *state;
    free(archive(e, "early.cpio", microcode, false));
    free(archive(e, "main.gz",
                 "m=lib/modules/" KVER "/kernel/drivers; mkdir -p $m/virtio $m/block conf; "
                 "for x in virtio virtio_ring virtio_pci; do : > $m/virtio/$x.ko; done; "
                 ": > $m/block/virtio_blk.ko",
                 true));
    image_of(e, (const char *const[]){"early.cpio", "main.gz", NULL});
    size_t n0 = 0;
    char *before = ts_read_file(e->img, &n0);
    char *out = NULL;
    int st = run_script(e, "virtio_pci virtio_blk", &out);
    if (st != 0)
        fail_msg("exit %d: %s", st, out);
    assert_int_equal(hk_initrd_add_result(st, out, NULL), HK_INITRD_ADD_PRESENT);
    size_t n1 = 0;
    char *after = ts_read_file(e->img, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    free(out);
}

/* A newc header (110 characters and a NUL in @out) with the given file and
 * name sizes, as written (8 characters each, not checked here). */
static void
newc_header(char *out, const char *filesize, const char *namesize)
{
    int n = snprintf(out, 111, "070701%08x%08x%08x%08x%08x%08x%.8s%08x%08x%08x%08x%.8s%08x", 0u,
                     0100644u, 0u, 0u, 1u, 0u, filesize, 0u, 0u, 0u, 0u, namesize, 0u);
    assert_int_equal(n, 110);
}

/* Hostile or unexpected early archives: the script stops (exit 3, or the
 * failing tool's status) and the image is left byte for byte. */
static void
test_refusals(void **state)
{
    env *e = *state;
    free(archive(e, "main.gz", main_tree, true));
    char *p = ts_join(e->work, "main.gz");
    size_t mz = 0;
    char *mainz = ts_read_file(p, &mz);
    free(p);
    char hdr_badname[111], hdr_huge[111];
    newc_header(hdr_badname, "00000005", "0000000Z");
    newc_header(hdr_huge, "FFFFFFF0", "00000005");
    static const char zeros_only[4096];
    const struct {
        const char *what, *head;
        size_t head_len;
        bool with_main;
        const char *why; /* NULL: any failure */
    } cases[] = {
        {"a header field that is not hex", hdr_badname, 110, true, "bad cpio header at 0"},
        {"an entry running past the image", hdr_huge, 110, true, "no compressed archive"},
        {"a cut header", "0707010000", 10, false, "short cpio header at 0"},
        {"no compressed archive after padding", zeros_only, sizeof(zeros_only), false,
         "no archive after the padding"},
        {"unknown compression", "0707", 4, false, "unknown compression at 0"},
        {"a gzip archive that does not decompress", "\x1f\x8b\x08\x00garbage", 11, false, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hk_buf b = {0};
        hk_buf_append(&b, cases[i].head, cases[i].head_len);
        if (cases[i].with_main)
            hk_buf_append(&b, mainz, mz);
        ts_write_file(e->img, b.data, b.len);
        char *out = NULL;
        int st = run_script(e, "virtio_pci virtio_blk", &out);
        if (st == 0 || (cases[i].why && (st != 3 || !strstr(out, cases[i].why))))
            fail_msg("%s: exit %d: %s", cases[i].what, st, out);
        assert_int_equal(hk_initrd_add_result(st, out, NULL), HK_INITRD_ADD_NOT_APPLIED);
        size_t n = 0;
        char *img = ts_read_file(e->img, &n);
        assert_int_equal(n, b.len);
        assert_memory_equal(img, b.data, n);
        free(img);
        free(out);
        hk_buf_free(&b);
    }
    /* no scratch file left beside the image */
    char *probe = hk_asprintf("test -z \"$(ls '%s' | grep -v '^initrd.img$' | grep -v "
                              "'^bin$\\|^guest$\\|^work$')\"",
                              e->dir);
    sh(probe);
    free(probe);
    free(mainz);
}

static char *
img_file(env *e, const char *suffix)
{
    return hk_asprintf("%s%s", e->img, suffix);
}

/* Prepared beside something else: the image is untouched until the commit,
 * which puts the prepared one in place and prints the prepared verdict. */
static void
test_prep_then_commit(void **state)
{
    env *e = *state;
    free(archive(e, "early.cpio", microcode, false));
    free(archive(e, "main.gz", main_tree, true));
    image_of(e, (const char *const[]){"early.cpio", "main.gz", NULL});
    size_t n0 = 0;
    char *before = ts_read_file(e->img, &n0);
    char *out = NULL;
    int st = run_mode(e, "prep", "virtio_pci virtio_blk", &out);
    if (st != 0)
        fail_msg("prep: exit %d: %s", st, out);
    assert_null(strstr(out, "hyper2kvm-initramfs:")); /* the verdict waits for the commit */
    free(out);
    size_t n1 = 0;
    char *still = ts_read_file(e->img, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, still, n0);
    free(still);
    char *pimg = img_file(e, ".hyper2kvm-prep.img"), *pout = img_file(e, ".hyper2kvm-prep.out"),
         *pst = img_file(e, ".hyper2kvm-prep.stamp");
    assert_true(ts_exists(pimg) && ts_exists(pout) && ts_exists(pst));
    st = run_mode(e, "commit", "virtio_pci virtio_blk", &out);
    if (st != 0)
        fail_msg("commit: exit %d: %s", st, out);
    const char *said = NULL;
    assert_int_equal(hk_initrd_add_result(st, out, &said), HK_INITRD_ADD_ADDED);
    assert_string_equal(said, "added virtio.ko virtio_ring.ko virtio_pci.ko virtio_blk.ko\n");
    assert_false(ts_exists(pimg) || ts_exists(pout) || ts_exists(pst));
    size_t early = 0;
    char *p = ts_join(e->work, "early.cpio");
    char *prefix = ts_read_file(p, &early);
    free(p);
    char *l = main_listing(e, prefix, early);
    assert_non_null(strstr(l, "kernel/drivers/block/virtio_blk.ko\n"));
    free(l);
    free(prefix);
    free(out);
    free(before);
    free(pimg);
    free(pout);
    free(pst);
}

/* The image replaced after the preparation (a package's trigger rebuilt
 * it): the commit drops what was prepared and works on the new image. */
static void
test_commit_after_the_image_changed(void **state)
{
    env *e = *state;
    free(archive(e, "main.gz", main_tree, true));
    image_of(e, (const char *const[]){"main.gz", NULL});
    char *out = NULL;
    int st = run_mode(e, "prep", "virtio_pci virtio_blk", &out);
    if (st != 0)
        fail_msg("prep: exit %d: %s", st, out);
    free(out);
    /* rebuilt as update-initramfs does: a new file renamed over the old one,
     * here with a file the new image must keep */
    free(archive(e, "main2.gz", "mkdir -p lib/modules/" KVER "/kernel conf; echo r > rebuilt",
                 true));
    char *src = ts_join(e->work, "main2.gz");
    char *tmp = img_file(e, ".tmp");
    char *mv = hk_asprintf("cp '%s' '%s' && mv '%s' '%s'", src, tmp, tmp, e->img);
    sh(mv);
    st = run_mode(e, "commit", "virtio_pci virtio_blk", &out);
    if (st != 0)
        fail_msg("commit: exit %d: %s", st, out);
    assert_int_equal(hk_initrd_add_result(st, out, NULL), HK_INITRD_ADD_ADDED);
    char *l = main_listing(e, NULL, 0);
    assert_non_null(strstr(l, "rebuilt\n"));
    assert_non_null(strstr(l, "kernel/drivers/block/virtio_blk.ko\n"));
    assert_null(strstr(l, "scripts\n")); /* nothing of the first image */
    char *pimg = img_file(e, ".hyper2kvm-prep.img");
    assert_false(ts_exists(pimg));
    free(pimg);
    free(l);
    free(out);
    free(mv);
    free(tmp);
    free(src);
}

/* A commit with nothing prepared is a plain run. */
static void
test_commit_without_prep(void **state)
{
    env *e = *state;
    free(archive(e, "main.gz", main_tree, true));
    image_of(e, (const char *const[]){"main.gz", NULL});
    char *out = NULL;
    int st = run_mode(e, "commit", "virtio_pci virtio_blk", &out);
    if (st != 0)
        fail_msg("commit: exit %d: %s", st, out);
    assert_int_equal(hk_initrd_add_result(st, out, NULL), HK_INITRD_ADD_ADDED);
    char *l = main_listing(e, NULL, 0);
    assert_non_null(strstr(l, "kernel/drivers/block/virtio_blk.ko\n"));
    free(l);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_adds_after_early_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_early_archives_and_padding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adds_without_early_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_present_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prep_then_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_after_the_image_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_without_prep, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
