/* Unit tests of src/fix/fix_cmd.c: the appliance shell commands built from
 * guest strings.  Hostile kernel versions are refused; hostile paths and
 * package names are run through a real /bin/sh with stub programs that record
 * their arguments, and must arrive as one inert argument each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"
#include "fix/fix_cmd.h"

static const char *const pkgs[] = {"open-vm-tools", "open-vm-tools-desktop", "vmware-tools"};
#define N_PKGS (sizeof(pkgs) / sizeof(pkgs[0]))

/* Hostile strings; "@" stands for the marker file a successful injection
 * would create. */
static const char *const hostile[] = {
    "$(touch @)",      "`touch @`",         "; touch @",        "x'; touch @; '",
    "\"; touch @; \"", "x\ntouch @",        "x\rtouch @",       "&& touch @ #",
    "| touch @",       "$IFS;touch${IFS}@", "'\\''; touch @ '", "x\x1b]0;title\x07",
};

typedef struct {
    char *dir, *bin, *args, *marker;
} shenv;

static void
stub(const shenv *e, const char *name)
{
    char *p = ts_join(e->bin, name);
    char *text = hk_asprintf("#!/bin/sh\nfor a; do printf '[%%s]' \"$a\"; done >> '%s'\n"
                             "printf '\\n' >> '%s'\n",
                             e->args, e->args);
    ts_write_file(p, text, strlen(text));
    assert_int_equal(chmod(p, 0755), 0);
    free(text);
    free(p);
}

static int
setup(void **state)
{
    shenv *e = calloc(1, sizeof(*e));
    e->dir = ts_mkdtemp();
    e->bin = ts_join(e->dir, "bin");
    e->args = ts_join(e->dir, "args");
    e->marker = ts_join(e->dir, "pwned");
    assert_int_equal(mkdir(e->bin, 0755), 0);
    static const char *const progs[] = {"lsinitramfs", "lsinitrd",  "update-initramfs",
                                        "dracut",      "mkinitrd",  "dpkg",
                                        "rpm",         "dpkg-query"};
    for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
        stub(e, progs[i]);
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    shenv *e = *state;
    ts_rmtree(e->dir);
    free(e->dir);
    free(e->bin);
    free(e->args);
    free(e->marker);
    free(e);
    return 0;
}

/* @s with each '@' replaced by the marker path. */
static char *
with_marker(const shenv *e, const char *s)
{
    hk_buf b = {0};
    for (const char *p = s; *p; p++) {
        if (*p == '@')
            hk_buf_puts(&b, e->marker);
        else
            hk_buf_append(&b, p, 1);
    }
    return hk_buf_steal(&b);
}

/* Runs @cmd with the stubs first in PATH; returns what the stubs recorded
 * (caller frees) and checks that no marker appeared. */
static char *
run(const shenv *e, const char *cmd)
{
    unlink(e->args);
    char *full = hk_asprintf("PATH='%s':\"$PATH\"; export PATH\n%s\n", e->bin, cmd);
    FILE *f = popen(full, "r");
    assert_non_null(f);
    char sink[256];
    while (fread(sink, 1, sizeof(sink), f) > 0)
        ;
    pclose(f);
    free(full);
    assert_false(ts_exists(e->marker));
    char *got = ts_exists(e->args) ? ts_read_file(e->args, NULL) : strdup("");
    return got;
}

static void
test_kernel_version(void **state)
{
    (void)state;
    static const char *const good[] = {
        "6.1.0-50-amd64", "3.10.0-1160.el7.x86_64", "5.14.21-150400.24.18-default",
        "4.18.0+debug",   "2.6.32-754.el6.i686",    "6.5.0_rc1~exp"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(hk_kernel_version_ok(good[i]));
    static const char *const bad[] = {"",     "-rf", ".hidden", "6.1 0", "6.1/../../x",
                                      "a\nb", "a;b", "a$b",     "a'b",   "a\"b",
                                      "a`b",  "a|b", "a\\b",    "a*b",   "6.1\xc2\x9b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(hk_kernel_version_ok(bad[i]));
    char long_v[HK_KERNEL_VERSION_MAX + 2];
    memset(long_v, 'a', sizeof(long_v) - 1);
    long_v[sizeof(long_v) - 1] = '\0';
    assert_false(hk_kernel_version_ok(long_v));
    long_v[HK_KERNEL_VERSION_MAX] = '\0';
    assert_true(hk_kernel_version_ok(long_v));
}

/* Every hostile string as a version is refused by every builder. */
static void
test_hostile_versions_refused(void **state)
{
    shenv *e = *state;
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        char *h = with_marker(e, hostile[i]);
        assert_false(hk_kernel_version_ok(h));
        for (int t = HK_INITRD_INITRAMFS_TOOLS; t <= HK_INITRD_MKINITRD; t++)
            assert_null(hk_fix_cmd_rebuild_initrd((hk_initrd_tool)t, h, "/boot/initrd.img",
                                                  "/boot/vmlinuz"));
        assert_null(hk_fix_cmd_initramfs_add(h, "/boot/initrd.img", "virtio_blk", "true"));
        char *v = hk_asprintf("6.1.0-1-amd64%s", h);
        assert_null(hk_fix_cmd_rebuild_initrd(HK_INITRD_INITRAMFS_TOOLS, v, NULL, NULL));
        free(v);
        free(h);
    }
}

/* Hostile initramfs and kernel paths arrive as one argument each. */
static void
test_hostile_paths_inert(void **state)
{
    shenv *e = *state;
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        char *h = with_marker(e, hostile[i]);
        char *initrd = hk_asprintf("/boot/initrd.img-%s", h);
        char *kernel = hk_asprintf("/boot/vmlinuz-%s", h);
        bool ctl = strpbrk(h, "\n\r\x1b\x07") != NULL;
        char *cmd = hk_fix_cmd_list_initrd(HK_INITRD_INITRAMFS_TOOLS, initrd);
        if (ctl) {
            /* control characters in a path: refused, not quoted */
            assert_null(cmd);
            assert_null(hk_fix_cmd_rebuild_initrd(HK_INITRD_DRACUT, "6.1.0", initrd, kernel));
            assert_null(hk_fix_cmd_initramfs_add("6.1.0", initrd, "virtio_blk", "true"));
            free(initrd);
            free(kernel);
            free(h);
            continue;
        }
        assert_non_null(cmd);
        char *got = run(e, cmd);
        char *want = hk_asprintf("[%s]\n", initrd);
        assert_string_equal(got, want);
        free(want);
        free(got);
        free(cmd);

        cmd = hk_fix_cmd_list_initrd(HK_INITRD_DRACUT, initrd);
        got = run(e, cmd);
        want = hk_asprintf("[%s]\n", initrd);
        assert_string_equal(got, want);
        free(want);
        free(got);
        free(cmd);

        cmd = hk_fix_cmd_rebuild_initrd(HK_INITRD_DRACUT, "6.1.0-50-amd64", initrd, kernel);
        got = run(e, cmd);
        want = hk_asprintf("[-f][--add-drivers][virtio_pci virtio_blk virtio_scsi "
                           "virtio_net][%s][6.1.0-50-amd64]\n",
                           initrd);
        assert_string_equal(got, want);
        free(want);
        free(got);
        free(cmd);

        cmd = hk_fix_cmd_rebuild_initrd(HK_INITRD_MKINITRD, "6.1.0-50-amd64", initrd, kernel);
        got = run(e, cmd);
        want = hk_asprintf("[-f][virtio_pci virtio_blk virtio_scsi virtio_net][-k][%s][-i][%s]\n",
                           kernel, initrd);
        assert_string_equal(got, want);
        free(want);
        free(got);
        free(cmd);

        /* the in-place script sees version and path as $1 and $2 */
        cmd = hk_fix_cmd_initramfs_add("6.1.0-50-amd64", initrd, "virtio_pci virtio_blk",
                                       "update-initramfs \"$@\"");
        got = run(e, cmd);
        want = hk_asprintf("[6.1.0-50-amd64][%s][virtio_pci][virtio_blk]\n", initrd);
        assert_string_equal(got, want);
        free(want);
        free(got);
        free(cmd);
        free(initrd);
        free(kernel);
        free(h);
    }
    /* relative paths (a leading '-' would be an option) are refused */
    assert_null(hk_fix_cmd_list_initrd(HK_INITRD_DRACUT, "-rf"));
    assert_null(hk_fix_cmd_rebuild_initrd(HK_INITRD_MKINITRD, "6.1.0", "/boot/i", "--x"));
}

static void
test_rebuild_plain(void **state)
{
    shenv *e = *state;
    char *cmd = hk_fix_cmd_rebuild_initrd(HK_INITRD_INITRAMFS_TOOLS, "6.1.0-50-amd64", NULL, NULL);
    assert_string_equal(cmd, "update-initramfs -u -k '6.1.0-50-amd64'");
    char *got = run(e, cmd);
    assert_string_equal(got, "[-u][-k][6.1.0-50-amd64]\n");
    free(got);
    free(cmd);
    assert_null(hk_fix_cmd_rebuild_initrd(HK_INITRD_NONE, "6.1.0", "/boot/i", "/boot/k"));
}

/* What the guest's package database prints is only trusted for our names. */
static void
test_packages(void **state)
{
    shenv *e = *state;
    char *q = hk_fix_cmd_pkg_query(true, pkgs, N_PKGS);
    char *got = run(e, q);
    /* one process for all the names */
    assert_string_equal(got, "[-W][-f=${Status} ${Package}\\n][open-vm-tools]"
                             "[open-vm-tools-desktop][vmware-tools]\n");
    free(got);
    free(q);
    q = hk_fix_cmd_pkg_query(false, pkgs, N_PKGS);
    got = run(e, q);
    assert_string_equal(got, "[-q][--qf][%{NAME}\\n][open-vm-tools][open-vm-tools-desktop]"
                             "[vmware-tools]\n");
    free(got);
    free(q);

    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        char *h = with_marker(e, hostile[i]);
        char *out = hk_asprintf("open-vm-tools\n%s\nvmware-tools %s open-vm-tools\n", h, h);
        char *names = hk_fix_pkg_filter(out, pkgs, N_PKGS);
        assert_string_equal(names, "open-vm-tools vmware-tools");
        char *cmd = hk_fix_cmd_pkg_remove(true, names, pkgs, N_PKGS);
        got = run(e, cmd);
        assert_string_equal(got, "[--purge][open-vm-tools][vmware-tools]\n");
        free(got);
        free(cmd);
        cmd = hk_fix_cmd_pkg_remove(false, names, pkgs, N_PKGS);
        got = run(e, cmd);
        assert_string_equal(got, "[-e][--nodeps][open-vm-tools][vmware-tools]\n");
        free(got);
        free(cmd);
        /* a name that is not ours is refused outright */
        char *both = hk_asprintf("open-vm-tools %s", h);
        assert_null(hk_fix_cmd_pkg_remove(true, both, pkgs, N_PKGS));
        free(both);
        free(names);
        free(out);
        free(h);
    }
    char *none = hk_fix_pkg_filter("", pkgs, N_PKGS);
    assert_string_equal(none, "");
    free(none);
    assert_null(hk_fix_cmd_pkg_remove(true, "", pkgs, N_PKGS));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_version),
        cmocka_unit_test_setup_teardown(test_hostile_versions_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_paths_inert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_packages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
