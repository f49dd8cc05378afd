/*
 * Shell fragments shared by the scripts that add virtio drivers to an
 * initramfs in place (fix_initramfs.c for initramfs-tools images,
 * initrd_dracut.c for dracut images).  Each is a string literal to be pasted
 * into a script run by /bin/sh inside the appliance's chroot of the guest;
 * the variables each one reads and sets are listed with it.  Internal.
 */
#ifndef HK_FIX_INITRD_SCRIPT_H
#define HK_FIX_INITRD_SCRIPT_H

/* The modes of an in-place script, from $H2K_INITRD_MODE: "run" (the
 * default) changes the image; "prep" does all the work beside it, while
 * something else runs in the guest (the package removal), leaving the new
 * image in $img.hyper2kvm-prep.img, the verdict in .out and the image's
 * identity (device, inode, size, time) in .stamp; "commit" puts a prepared
 * image in place when the image is still the one it was made from, and
 * otherwise drops it and runs.  Sets $mode, $new (where the new image is
 * written) and $st0 (the image's identity before it was read), defines
 * verdict().  Needs $img set; comes before the scratch folder $t and its
 * trap, which removes $new. */
#define HK_INITRD_SH_MODES                                                                                        \
    "mode=${H2K_INITRD_MODE:-run}\n"                                                                              \
    "pre=$img.hyper2kvm-prep\n"                                                                                   \
    "stamp() { stat -c '%d:%i:%s:%y' \"$img\"; }\n"                                                               \
    "if [ \"$mode\" = commit ]; then\n"                                                                           \
    "  if [ -f \"$pre.stamp\" ] && [ -f \"$pre.out\" ] && [ \"$(stamp)\" = \"$(cat \"$pre.stamp\")\" ]; then\n"   \
    "    if [ -f \"$pre.img\" ]; then chmod --reference=\"$img\" \"$pre.img\"; mv -f \"$pre.img\" \"$img\"; fi\n" \
    "    cat \"$pre.out\"; rm -f \"$pre.stamp\" \"$pre.out\"; exit 0\n"                                           \
    "  fi\n"                                                                                                      \
    "fi\n"                                                                                                        \
    "[ \"$mode\" = run ] || rm -f \"$pre.img\" \"$pre.stamp\" \"$pre.out\"\n"                                     \
    "st0=$(stamp)\n"                                                                                              \
    "new=$img.hyper2kvm-new\n"                                                                                    \
    "[ \"$mode\" != prep ] || new=$pre.img\n"                                                                     \
    "verdict() {\n"                                                                                               \
    "  if [ \"$mode\" = prep ]; then\n"                                                                           \
    "    echo \"hyper2kvm-initramfs: $1\" > \"$pre.out\"; echo \"$st0\" > \"$pre.stamp\"\n"                       \
    "  else echo \"hyper2kvm-initramfs: $1\"; fi\n"                                                               \
    "}\n"

/* The end of a script that changed the image: $new, complete, replaces $img
 * (or, prepared, stays for the commit); $added names the files added. */
#define HK_INITRD_SH_FINISH                                                                        \
    "chmod --reference=\"$img\" \"$new\"\n"                                                        \
    "if [ \"$mode\" = prep ]; then trap 'rm -rf \"$t\"' EXIT; else mv -f \"$new\" \"$img\"; fi\n"  \
    "verdict \"added$added\"\n"

/* Finds the module tree of kernel $k in the unpacked image $r, among the
 * folders (relative to $r) given as the fragment's argument, a string literal
 * of words such as "usr/lib/modules/$k lib/modules/$k".  Sets $rr (the image's
 * real path), defines inside() (0 when its argument resolves into the image)
 * and sets $md to the first of those folders that exists, resolved, inside the
 * image.  Exit 3 when there is none, or when the tree holds a symbolic link
 * (a copy through it could leave the image). */
#define HK_INITRD_SH_FIND_MODULE_TREE(candidates)                                                  \
    "rr=$(readlink -f \"$r\")\n"                                                                   \
    "inside() { case $(readlink -f \"$1\") in \"$rr\"/*) return 0 ;; esac; return 1; }\n"          \
    "md=\n"                                                                                        \
    "for d in " candidates "; do\n"                                                                \
    "  if [ -d \"$r/$d\" ] && inside \"$r/$d\"; then md=$(readlink -f \"$r/$d\"); break; fi\n"     \
    "done\n"                                                                                       \
    "[ -n \"$md\" ] || { echo \"the initramfs has no modules for $k\" >&2; exit 3; }\n"            \
    "# a symlink in the tree could lead a copy out of the image\n"                                 \
    "[ -z \"$(find \"$md\" -type l)\" ] || { echo 'symlinks in the module tree' >&2; exit 3; }\n"

/* Copies the modules named in "$@" and every module they depend on (as one
 * modprobe -S $k --show-depends -a lists them from the guest's own tree) into
 * $md, skipping those already there; $t is a scratch folder.  Sets $added to
 * the file names added (empty: nothing was missing).  Exit 3 when a module is
 * unknown or a path would leave the image. */
#define HK_INITRD_SH_COPY_MODULES                                                                  \
    "added=\n"                                                                                     \
    "modprobe -S \"$k\" --show-depends -a \"$@\" > \"$t/deps\" ||\n"                               \
    "  { echo \"no module among $* for $k\" >&2; exit 3; }\n"                                      \
    "while read -r op p rest; do\n"                                                                \
    "  [ \"$op\" = insmod ] || continue\n"                                                         \
    "  rel=${p#*/modules/$k/}\n"                                                                   \
    "  [ \"$rel\" != \"$p\" ] || { echo \"unexpected module path $p\" >&2; exit 3; }\n"            \
    "  [ -e \"$md/$rel\" ] && continue\n"                                                          \
    "  case $rel in */*) d=$md/${rel%/*} ;; *) d=$md ;; esac\n"                                    \
    "  mkdir -p \"$d\"\n"                                                                          \
    "  inside \"$d\" || { echo \"$rel leaves the image\" >&2; exit 3; }\n"                         \
    "  cp -p \"$p\" \"$md/$rel\"\n"                                                                \
    "  added=\"$added ${rel##*/}\"\n"                                                              \
    "done < \"$t/deps\"\n"

#endif /* HK_FIX_INITRD_SCRIPT_H */
