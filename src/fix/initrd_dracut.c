/*
 * Virtio drivers added in place to a dracut initramfs (see fix_cmd.h).
 *
 * A dracut image may start with uncompressed early archives (CPU microcode),
 * skipped with dracut's own skipcpio and kept byte for byte; the main archive
 * is decompressed with the tool its magic names, the drivers and their
 * dependencies are copied from the guest's module tree into the image's
 * (usr/lib/modules/<kver> on merged-/usr systems, lib/modules/<kver> on older
 * ones), depmod regenerates modules.dep, modules.alias and the other indexes of
 * that tree, and the archive is packed again with the same compressor.  The
 * drivers are loaded at boot twice over: udev loads them by modalias as soon as
 * the indexes know them, and a file in the image's /etc/cmdline.d adds
 * rd.driver.pre=<drivers>, which dracut's kernel-modules hook reads like the
 * kernel command line and loads before udev starts.
 */
#include "fix_cmd.h"
#include "initrd_script.h"

/* $1 kernel version, $2 initramfs path, then module names.  Output and exit
 * codes as the initramfs-tools script (fix_initramfs.c): "hyper2kvm-initramfs:
 * present" or "...: added <files>"; exit 3 when the image is not one this
 * script can change (the caller rebuilds it instead). */
static const char dracut_add_script[] =
    "set -eu\n"
    "k=$1; img=$2; shift 2\n"
    "for c in cpio depmod modprobe find sort stat od head readlink; do\n"
    "  command -v \"$c\" >/dev/null || { echo \"no $c in the guest\" >&2; exit 3; }\n"
    "done\n" HK_INITRD_SH_MODES "t=$(mktemp -d /tmp/hyper2kvm-initramfs.XXXXXX)\n"
    "trap 'rm -rf \"$t\" \"$new\"' EXIT\n"
    "magic() { od -An -tx1 -N6 \"$1\" | tr -d ' \\n'; }\n"
    "main=$img; early=0\n"
    "case $(magic \"$img\") in\n"
    "  303730373031|303730373032)\n"
    "    sk=\n"
    "    for s in /usr/lib/dracut/skipcpio /usr/libexec/dracut/skipcpio; do\n"
    "      [ -x \"$s\" ] && { sk=$s; break; }\n"
    "    done\n"
    "    [ -n \"$sk\" ] || { echo 'early cpio archive and no skipcpio' >&2; exit 3; }\n"
    "    \"$sk\" \"$img\" > \"$t/main\"\n"
    "    main=$t/main\n"
    "    early=$(( $(wc -c < \"$img\") - $(wc -c < \"$main\") ))\n"
    "    [ \"$early\" -gt 0 ] || { main=$img; early=0; } ;;\n"
    "esac\n"
    "case $(magic \"$main\") in\n"
    "  1f8b*) dz='gzip -dc'; z='gzip -n -6' ;;\n"
    "  28b52ffd*) dz='zstd -dcq'; z='zstd -q -3 -T0' ;;\n"
    "  fd377a585a00) dz='xz -dc'; z='xz --check=crc32 -6' ;;\n"
    "  02214c18*) dz='lz4 -dc'; z='lz4 -q -l' ;;\n"
    "  303730373031|303730373032) dz=cat; z=cat ;;\n"
    "  *) echo \"unknown compression of $img\" >&2; exit 3 ;;\n"
    "esac\n"
    "command -v \"${dz%% *}\" >/dev/null || { echo \"no ${dz%% *} in the guest\" >&2; exit 3; }\n"
    "r=$t/x\n"
    "mkdir \"$r\"\n"
    "$dz < \"$main\" | (cd \"$r\" && cpio -idm -C 65536 --quiet --no-absolute-filenames)\n"
    /* $md: the image's module tree; $added: the files copied into it */
    HK_INITRD_SH_FIND_MODULE_TREE("usr/lib/modules/$k lib/modules/$k") HK_INITRD_SH_COPY_MODULES
    "[ -n \"$added\" ] || { verdict present; exit 0; }\n"
    "# depmod reads <base>/lib/modules/<k> (or usr/lib/...): both lead to the image's tree\n"
    "mkdir -p \"$t/b/lib/modules\" \"$t/b/usr/lib/modules\"\n"
    "ln -s \"$md\" \"$t/b/lib/modules/$k\"\n"
    "ln -s \"$md\" \"$t/b/usr/lib/modules/$k\"\n"
    "depmod -b \"$t/b\" \"$k\"\n"
    "[ -e \"$md/modules.dep\" ] || { echo 'depmod wrote no modules.dep' >&2; exit 3; }\n"
    "# loaded before udev by dracut's kernel-modules hook (and by udev on modalias)\n"
    "if [ -e \"$r/etc\" ] && ! inside \"$r/etc\"; then echo 'etc leaves the image' >&2; exit 3; "
    "fi\n"
    "mkdir -p \"$r/etc/cmdline.d\"\n"
    "pre=$(echo \"$@\" | tr ' ' ,)\n"
    "echo \"rd.driver.pre=$pre\" > \"$r/etc/cmdline.d/90-hyper2kvm-virtio.conf\"\n"
    ": > \"$new\"\n"
    "[ \"$early\" -gt 0 ] && head -c \"$early\" \"$img\" >> \"$new\"\n"
    "(cd \"$r\" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 -C 65536) > \"$t/main.cpio\"\n"
    "$z < \"$t/main.cpio\" >> \"$new\"\n" HK_INITRD_SH_FINISH;

const char *
hk_initrd_dracut_add_script(void)
{
    return dracut_add_script;
}
