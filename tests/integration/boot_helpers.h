/*
 * Helpers of the boot test integration tests: the cached Debian test guest
 * and image change checks (leftover processes: ts_count_children).  Included by one test
 * program each (static functions).
 */
#ifndef H2K_TESTS_BOOT_HELPERS_H
#define H2K_TESTS_BOOT_HELPERS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

#define GUEST_MAC "00:50:56:3a:12:7b"
#define GUEST_IP "10.0.2.15"
#define GUEST_HOSTNAME "h2k-debian12"

/* Builds (or finds in the cache) the Debian 12 VMware-shaped guest through
 * scripts/images/build-debian-guest.sh; fails the test when it cannot. */
HK_UNUSED static char *
debian_guest(void)
{
    static char *cached;
    if (cached)
        return strdup(cached);
    char *path = ts_debian_guest();
    cached = strdup(path);
    return path;
}

typedef struct file_stamp {
    struct timespec mtime, ctime;
    off_t size;
    uid_t uid;
} file_stamp;

HK_UNUSED static file_stamp
stamp(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("stat %s failed", path);
    return (file_stamp){st.st_mtim, st.st_ctim, st.st_size, st.st_uid};
}

/* The image was neither written nor chowned nor touched in its metadata. */
HK_UNUSED static void
assert_unchanged(const char *path, file_stamp before)
{
    file_stamp now = stamp(path);
    assert_int_equal(now.size, before.size);
    assert_int_equal(now.uid, before.uid);
    assert_int_equal(now.mtime.tv_sec, before.mtime.tv_sec);
    assert_int_equal(now.mtime.tv_nsec, before.mtime.tv_nsec);
    assert_int_equal(now.ctime.tv_sec, before.ctime.tv_sec);
    assert_int_equal(now.ctime.tv_nsec, before.ctime.tv_nsec);
}

/* A context whose temporary directory is a fresh folder (caller removes it). */
HK_UNUSED static h2k_ctx *
boot_ctx(char **tmp)
{
    h2k_ctx *ctx = ts_ctx();
    *tmp = ts_mkdtemp();
    assert_int_equal(h2k_ctx_set_tmpdir(ctx, *tmp), 0);
    return ctx;
}

/* An all-zero raw disk: SeaBIOS finds nothing to boot and waits forever. */
HK_UNUSED static char *
zero_disk(const char *dir)
{
    char *p = ts_join(dir, "zeros.raw");
    static char zeros[65536];
    FILE *f = fopen(p, "we");
    assert_non_null(f);
    for (int i = 0; i < 128; i++)
        assert_int_equal(fwrite(zeros, 1, sizeof(zeros), f), sizeof(zeros));
    assert_int_equal(fclose(f), 0);
    return p;
}

/* A GPT disk with an EFI system partition (FAT16) holding startup.nsh: OVMF
 * finds no boot loader and starts its UEFI shell, which runs the script
 * (CRLF lines).  Needs sfdisk, mkfs.fat and mcopy. */
HK_UNUSED static char *
uefi_disk(const char *dir, const char *script)
{
    char *img = ts_join(dir, "esp.img");
    char *nsh = ts_join(dir, "startup.nsh");
    char *layout = ts_join(dir, "layout");
    ts_write_file(nsh, script, strlen(script));
    const char *gpt = "label: gpt\nstart=2048, size=61440, "
                      "type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n";
    ts_write_file(layout, gpt, strlen(gpt));
    const char *trunc[] = {"truncate", "-s", "32M", img, NULL};
    ts_run_ok(trunc);
    char *sfdisk_cmd = hk_asprintf("sfdisk -q '%s' < '%s'", img, layout);
    const char *sf[] = {"sh", "-c", sfdisk_cmd, NULL};
    ts_require_program("sfdisk");
    ts_require_program("mkfs.fat");
    ts_require_program("mcopy");
    ts_run_ok(sf);
    const char *mkfs[] = {"mkfs.fat", "--offset", "2048", "-F",    "16",
                          "-n",       "H2KESP",   img,    "30720", NULL};
    ts_run_ok(mkfs);
    char *target = hk_asprintf("%s@@1M", img);
    const char *mc[] = {"mcopy", "-i", target, nsh, "::/startup.nsh", NULL};
    ts_run_ok(mc);
    free(target);
    free(sfdisk_cmd);
    free(layout);
    free(nsh);
    return img;
}

#endif
