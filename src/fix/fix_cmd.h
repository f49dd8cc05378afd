/*
 * The shell commands the offline fixer runs inside the appliance, built from
 * what the guest supplies (kernel versions taken from file names, initramfs
 * and kernel paths, package names).  Every guest string goes in as one
 * single-quoted word (hk_sh_quote); kernel versions must also match a strict
 * character set, and package names must be ones we asked about.  Pure
 * functions: no appliance needed, safe to call from any thread.
 */
#ifndef HK_FIX_CMD_H
#define HK_FIX_CMD_H

#include <stdbool.h>
#include <stddef.h>

/* Characters a kernel version may hold (besides it being non-empty, at most
 * HK_KERNEL_VERSION_MAX bytes and not starting with '-' or '.'). */
#define HK_KERNEL_VERSION_CHARS                                                                    \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+~-"
#define HK_KERNEL_VERSION_MAX 128

/* True when @v is an acceptable kernel version ("6.1.0-50-amd64",
 * "3.10.0-1160.el7.x86_64", "5.14.21-150400.24.18-default"). */
bool hk_kernel_version_ok(const char *v);

/* True when @p is an absolute guest path without control characters. */
bool hk_guest_path_ok(const char *p);

/* The initramfs generators the fixer knows. */
typedef enum {
    HK_INITRD_NONE,
    HK_INITRD_INITRAMFS_TOOLS,
    HK_INITRD_DRACUT,
    HK_INITRD_MKINITRD,
} hk_initrd_tool;

/* "lsinitramfs|lsinitrd '<initrd>' | grep -c virtio_blk || true".  NULL when
 * @initrd is not an acceptable path, or on allocation failure.  Caller frees. */
char *hk_fix_cmd_list_initrd(hk_initrd_tool tool, const char *initrd);

/* The command that rebuilds the initramfs of kernel @version (image @initrd,
 * kernel @kernel) with the virtio drivers.  NULL when @version or a path is not
 * acceptable, or on allocation failure.  Caller frees. */
char *hk_fix_cmd_rebuild_initrd(hk_initrd_tool tool, const char *version, const char *initrd,
                                const char *kernel);

/* "set -- '<version>' '<initrd>' <modules>\n<script>": the arguments of the
 * in-place initramfs script.  NULL when not acceptable or on allocation
 * failure.  Caller frees. */
char *hk_fix_cmd_initramfs_add(const char *version, const char *initrd, const char *modules,
                               const char *script);

/* The query that prints which of the @n package names @pkgs (ours, constant)
 * are installed, with dpkg (@dpkg) or rpm.  Caller frees. */
char *hk_fix_cmd_pkg_query(bool dpkg, const char *const *pkgs, size_t n);

/* The words of @output (the query's output, from the guest) that are among
 * @pkgs, each once, space separated ("" when none).  Anything else is dropped.
 * Caller frees; NULL on allocation failure. */
char *hk_fix_pkg_filter(const char *output, const char *const *pkgs, size_t n);

/* The removal command for @names (space-separated; each quoted and must be one
 * of @pkgs).  NULL when a name is not one of ours, or on allocation failure.
 * Caller frees. */
char *hk_fix_cmd_pkg_remove(bool dpkg, const char *names, const char *const *pkgs, size_t n);

#endif
