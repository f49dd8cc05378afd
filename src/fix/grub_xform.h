/*
 * Pure transforms of boot loader configuration for a guest moving to KVM.
 *
 * Kernel command lines: the "root=" and "resume=" arguments whose value is a
 * hypervisor-dependent device (see hk_devref_is_unstable()) are replaced by
 * the device's stable name from hk_devmap_lookup(): "UUID=<uuid>", else
 * "LABEL=<label>" when the label is made of characters safe on a command line
 * ([A-Za-z0-9._/+:@-]), else "PARTUUID=<partuuid>" (understood by the kernel
 * itself).  Only the device characters are replaced, so the surrounding
 * quoting is kept; a value written with escapes or quote changes inside it
 * (root=/dev/"sda1") is left alone with a note.  Unresolvable references get
 * the note "line N: no UUID known for root=/dev/sdc1 (left as is)".  Other
 * arguments ("$kernelopts", rd.lvm.lv=, resume_offset=, ...) are untouched.
 *
 * Every transform preserves all other bytes (comments, blank lines, spacing,
 * LF/CRLF line endings), is idempotent, and takes a zero-initialised @out:
 * on success out->text is the new text (malloc'd; free with
 * hk_xform_out_clear()) or NULL when nothing changed, and out->notes lists the
 * changes ("line 3: root=/dev/sda1 -> root=UUID=...") and what was left
 * alone.  They return 0, H2K_ERR_INVALID_ARG (NULL @in or @out) or
 * H2K_ERR_NO_MEMORY (then @out is cleared).  @map may be NULL (no devices).
 */
#ifndef HK_FIX_GRUB_XFORM_H
#define HK_FIX_GRUB_XFORM_H

#include "fix/xform.h"

/* /etc/default/grub (or /etc/sysconfig/grub), a shell fragment: the values
 * of GRUB_CMDLINE_LINUX, GRUB_CMDLINE_LINUX_DEFAULT (any GRUB_CMDLINE_LINUX*
 * key, also with "export" or "+=") are rewritten as above, whatever their
 * shell quoting ('...', "..." with \" escapes, unquoted, spanning lines).
 * GRUB_DISABLE_LINUX_UUID=true (any quoting) becomes =false, with a comment
 * line inserted above it, so that grub-mkconfig emits root=UUID=. */
int hk_grub_default_xform(const char *in, const hk_devmap *map, hk_xform_out *out);

/* A generated GRUB 2 grub.cfg, or a GRUB legacy menu.lst/grub.conf: the
 * arguments of every "linux", "linux16", "linuxefi" and "kernel" command.
 * Everything else ("root (hd0,0)", "set root='hd0,msdos1'", "search ...
 * --set=root", menu entry titles) is untouched.  Applied to a grub.cfg that
 * grub-mkconfig wrote from a GRUB_DISABLE_LINUX_UUID=true configuration, it
 * gives the root= that grub-mkconfig writes once the configuration is fixed. */
int hk_grub_cfg_xform(const char *in, const hk_devmap *map, hk_xform_out *out);

/* A Boot Loader Specification entry (/boot/loader/entries/NAME.conf): the
 * "options" line.  "$kernelopts" and other variables are left as they are. */
int hk_bls_entry_xform(const char *in, const hk_devmap *map, hk_xform_out *out);

/* The GRUB 2 environment block (grubenv): the value of "kernelopts=".  When
 * the text starts with the "# GRUB Environment Block" header its size is
 * kept exactly (the '#' padding after the last newline shrinks or grows); if
 * the new variables no longer fit, nothing changes and a note says so. */
int hk_grubenv_xform(const char *in, const hk_devmap *map, hk_xform_out *out);

/* /boot/grub/device.map or /boot/grub2/device.map: "(hdN) /dev/sdX" (also
 * hdX, xvdX) becomes "(hdN) /dev/vdX", keeping the disk index of the name.
 * by-id/by-path (and NVMe) names become /dev/vd<N-th letter> from the BIOS
 * drive number N.  Partition names, (fdN) and (cd) lines, /dev/vdX are kept. */
int hk_device_map_xform(const char *in, hk_xform_out *out);

#endif
