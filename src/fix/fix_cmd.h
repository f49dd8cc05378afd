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

/* The in-place script for initramfs-tools images (initrd_tools.c), to be
 * given to hk_fix_cmd_initramfs_add(): the uncompressed archives in front
 * (CPU microcode) walked header by header and kept byte for byte, the
 * compressed archive after them unpacked by its magic (gzip, zstd, xz, lz4,
 * bzip2, lzop), the modules and their dependencies copied into
 * lib/modules/<kver>, the indexes regenerated with depmod, the modules named
 * in the image's conf/modules, and the archive packed with the compressor the
 * guest configured.  Static text; never NULL. */
const char *hk_initrd_tools_add_script(void);

/* The in-place script for dracut images (initrd_dracut.c), to be given to
 * hk_fix_cmd_initramfs_add(): early cpio archives kept, the main archive
 * unpacked by its magic (gzip, zstd, xz, lz4 or none), the modules and their
 * dependencies copied into usr/lib/modules/<kver> (or lib/modules/<kver>), the
 * indexes regenerated with depmod, "rd.driver.pre=" written to the image's
 * /etc/cmdline.d, and the archive packed with the same compressor.  Static
 * text; never NULL. */
const char *hk_initrd_dracut_add_script(void);

/* What an in-place initramfs script (exit status @status, output @out, from the
 * guest) reported. */
typedef enum {
    HK_INITRD_ADD_NOT_APPLIED, /* failed or did not apply: rebuild instead */
    HK_INITRD_ADD_PRESENT,     /* the image already had every module */
    HK_INITRD_ADD_ADDED,       /* modules were added */
} hk_initrd_add_outcome;

/* Reads the script's verdict: its "hyper2kvm-initramfs: present|added ..." line
 * with exit status 0.  When @said is not NULL it receives a pointer into @out
 * to the text after "hyper2kvm-initramfs: " (or NULL). */
hk_initrd_add_outcome hk_initrd_add_result(int status, const char *out, const char **said);

#endif
