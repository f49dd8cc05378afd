/*
 * Virtio drivers added in place to an initramfs-tools image (see fix_cmd.h).
 *
 * The image is uncompressed cpio archives in front (CPU microcode, walked
 * here header by header and kept byte for byte) and one compressed archive,
 * recognised by its magic.  Only that archive is unpacked and packed again:
 * unmkinitramfs would test-decompress it whole, copy it to a scratch file
 * and unpack and repack the early archives too, a third of the repair's time
 * under emulation.  The early archives are untrusted input: every field is
 * checked, the walk is bounded, and anything unexpected ends in exit 3 (the
 * caller then rebuilds the image with update-initramfs).
 */
#include "fix_cmd.h"
#include "initrd_script.h"

/* 54 and 94: offsets of the c_filesize and c_namesize fields of a newc header */
#define Q10 "??????????"
#define SKIP54 Q10 Q10 Q10 Q10 Q10 "????"
#define SKIP94 Q10 Q10 Q10 Q10 Q10 Q10 Q10 Q10 Q10 "????"

static const char tools_add_script[] =
    "set -eu\n"
    "k=$1; img=$2; shift 2\n"
    "for c in cpio depmod modprobe find sort stat readlink od dd tr grep cut head tail wc; do\n"
    "  command -v \"$c\" >/dev/null || { echo \"no $c in the guest\" >&2; exit 3; }\n"
    "done\n" HK_INITRD_SH_MODES "t=$(mktemp -d /tmp/hyper2kvm-initramfs.XXXXXX)\n"
    "trap 'rm -rf \"$t\" \"$new\"' EXIT\n"
    "size=$(wc -c < \"$img\")\n"
    "at() { od -An -tx1 -j \"$1\" -N 6 \"$img\" | tr -d ' \\n'; }\n"
    "# the uncompressed archives in front, walked header by header\n"
    "early=0; n=0\n"
    "while [ \"$early\" -lt \"$size\" ]; do\n"
    "  case $(at \"$early\") in\n"
    "    303730373031|303730373032) ;;\n"
    "    00000000*)\n"
    "      # zero padding after an archive, in words of 4 bytes\n"
    "      w=$(od -An -v -tx4 -w4 -j \"$early\" -N 65536 \"$img\" |\n"
    "          grep -n -m1 -v '^ *00000000$' | cut -d: -f1) || w=\n"
    "      [ -n \"$w\" ] || { echo \"$img: no archive after the padding at $early\" >&2; exit 3; }\n"
    "      early=$((early + 4 * (w - 1)))\n"
    "      continue ;;\n"
    "    *) break ;;\n"
    "  esac\n"
    "  n=$((n + 1))\n"
    "  [ \"$n\" -le 100000 ] || { echo \"$img: too many early cpio entries\" >&2; exit 3; }\n"
    "  h=$(dd if=\"$img\" iflag=skip_bytes skip=\"$early\" bs=110 count=1 2>/dev/null)\n"
    "  [ ${#h} -eq 110 ] || { echo \"$img: short cpio header at $early\" >&2; exit 3; }\n"
    "  fs=${h#" SKIP54 "}; fs=$(printf %.8s \"$fs\")\n"
    "  ns=${h#" SKIP94 "}; ns=$(printf %.8s \"$ns\")\n"
    "  case $fs$ns in\n"
    "    *[!0-9A-Fa-f]*) echo \"$img: bad cpio header at $early\" >&2; exit 3 ;;\n"
    "  esac\n"
    "  early=$(( (early + 110 + 0x$ns + 3) / 4 * 4 ))\n"
    "  early=$(( (early + 0x$fs + 3) / 4 * 4 ))\n"
    "done\n"
    "[ \"$early\" -lt \"$size\" ] || { echo \"$img: no compressed archive\" >&2; exit 3; }\n"
    "case $(at \"$early\") in\n"
    "  1f8b*) dz='gzip -dc' ;;\n"
    "  28b52ffd*) dz='zstd -dcq' ;;\n"
    "  fd377a585a00) dz='xz -dc' ;;\n"
    "  02214c18*) dz='lz4 -dc' ;;\n"
    "  425a68*) dz='bzip2 -dc' ;;\n"
    "  894c5a4f*) dz='lzop -dc' ;;\n"
    "  *) echo \"$img: unknown compression at $early\" >&2; exit 3 ;;\n"
    "esac\n"
    "command -v \"${dz%% *}\" >/dev/null || { echo \"no ${dz%% *} in the guest\" >&2; exit 3; }\n"
    "r=$t/x\n"
    "mkdir \"$r\"\n"
    "{ if [ \"$early\" -eq 0 ]; then $dz < \"$img\"; else tail -c +$((early + 1)) \"$img\" | $dz; "
    "fi ||\n"
    "  : > \"$t/bad\"; } | (cd \"$r\" && cpio -idm -C 65536 --quiet --no-absolute-filenames)\n"
    "[ ! -e \"$t/bad\" ] || { echo \"$img: cannot decompress its archive\" >&2; exit 3; }\n"
    /* $md: the image's module tree; $added: the files copied into it */
    HK_INITRD_SH_FIND_MODULE_TREE("lib/modules/$k") HK_INITRD_SH_COPY_MODULES
    "[ -n \"$added\" ] || { verdict present; exit 0; }\n"
    "depmod -b \"$r\" \"$k\"\n"
    "[ -e \"$md/modules.dep\" ] || { echo 'depmod wrote no modules.dep' >&2; exit 3; }\n"
    "for p in \"$r/conf\" \"$r/conf/modules\"; do\n"
    "  if [ -e \"$p\" ] || [ -L \"$p\" ]; then\n"
    "    inside \"$p\" || { echo \"${p#$r/} leaves the image\" >&2; exit 3; }\n"
    "  fi\n"
    "done\n"
    "mkdir -p \"$r/conf\"\n"
    "touch \"$r/conf/modules\"\n"
    "for m in \"$@\"; do grep -qx \"$m\" \"$r/conf/modules\" || echo \"$m\" >> \"$r/conf/modules\"; "
    "done\n"
    "comp=$( (set +eu; . /etc/initramfs-tools/initramfs.conf\n"
    "  for c in /etc/initramfs-tools/conf.d/*; do [ -f \"$c\" ] && . \"$c\"; done\n"
    "  echo \"${COMPRESS:-gzip}\") 2>/dev/null || echo gzip)\n"
    "case $comp in\n"
    "  zstd) z='zstd -q -3 -T0'; sym=CONFIG_RD_ZSTD ;;\n"
    "  xz) z='xz --check=crc32 -6'; sym=CONFIG_RD_XZ ;;\n"
    "  lz4) z='lz4 -q -l'; sym=CONFIG_RD_LZ4 ;;\n"
    "  *) z='gzip -n -6'; sym=CONFIG_RD_GZIP ;;\n"
    "esac\n"
    "command -v \"${z%% *}\" >/dev/null || z='gzip -n -6'\n"
    "# like mkinitramfs: a kernel that cannot unpack it gets gzip\n"
    "if [ -r \"/boot/config-$k\" ] && ! grep -q \"^$sym=y\" \"/boot/config-$k\"; then\n"
    "  z='gzip -n -6'\n"
    "fi\n"
    ": > \"$new\"\n"
    "[ \"$early\" -eq 0 ] || head -c \"$early\" \"$img\" >> \"$new\"\n"
    "(cd \"$r\" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 -C 65536) > "
    "\"$t/main.cpio\"\n"
    "$z < \"$t/main.cpio\" >> \"$new\"\n" HK_INITRD_SH_FINISH;

const char *
hk_initrd_tools_add_script(void)
{
    return tools_add_script;
}
