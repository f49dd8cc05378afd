/*
 * Pure transforms of /etc/fstab and /etc/crypttab for a guest moving to KVM,
 * where disks named /dev/sdX, /dev/hdX, /dev/xvdX (or by-path/by-id links of
 * the source controller) come back as /dev/vdX.
 *
 * Both transforms replace every hypervisor-dependent device reference (see
 * hk_devref_is_unstable()) that hk_devmap_lookup() resolves by the device's
 * stable name: "UUID=<uuid>", else "LABEL=<label>" (blanks, '#' and '\'
 * octal-escaped as fstab requires), else "PARTUUID=<partuuid>".  A reference
 * that cannot be resolved is left as is with a note "line N: no UUID known for
 * /dev/sdc1 (left as is)".  Stable references (UUID=, LABEL=, PARTUUID=,
 * /dev/mapper/..., /dev/<vg>/<lv>, /dev/vdX), pseudo file systems, network
 * and bind mounts are never touched.
 *
 * Removable media (fstab only): an entry whose device is a floppy or optical
 * drive (/dev/fd*, /dev/floppy, /dev/cdrom*, /dev/cdrw*, /dev/dvd*, /dev/sr*,
 * /dev/scd*), or a /dev/ device of type iso9660/udf or mounted on a
 * /media|/mnt cdrom/dvd/floppy directory, is NOT remapped (/dev/hdc is often
 * the VMware IDE CD-ROM, not the third disk) and NOT commented out: when its
 * options have neither "noauto" nor "nofail", ",nofail" is appended so a
 * missing drive on the new VM does not drop boot into emergency mode, while a
 * drive that is attached still mounts as before.
 *
 * Formatting is preserved byte for byte outside the replaced field: comments,
 * blank lines, spacing, tabs, line endings (LF or CRLF, per line), a missing
 * final newline, and lines that cannot be parsed.  Both transforms are
 * idempotent.
 */
#ifndef HK_FIX_FSTAB_XFORM_H
#define HK_FIX_FSTAB_XFORM_H

#include "fix/xform.h"

/* Transforms the fstab text @in (NUL-terminated) using @map (NULL = no
 * devices).  @out must be zero-initialised; on success out->text is the new
 * text (malloc'd, caller frees with hk_xform_out_clear()) or NULL when nothing
 * changed, and out->notes lists every change and every reference left alone
 * for want of a stable name.  Returns 0, H2K_ERR_INVALID_ARG (NULL @in or
 * @out) or H2K_ERR_NO_MEMORY (then @out is cleared). */
int hk_fstab_xform(const char *in, const hk_devmap *map, hk_xform_out *out);

/* Same for /etc/crypttab: the second field (the encrypted device) is
 * remapped; nothing else changes. */
int hk_crypttab_xform(const char *in, const hk_devmap *map, hk_xform_out *out);

#endif
