/*
 * hyper2kvm: offline guest repair (mid-level API).
 *
 * An h2k_offline_fixer opens the disks of one VM in ONE libguestfs appliance
 * (launched once), inspects the guest and applies the repairs a VMware or
 * Hyper-V guest needs to boot on KVM: block device names in fstab and GRUB,
 * network configuration, an initramfs with virtio drivers, removal of VMware
 * tools, SELinux relabelling.  Every repair records each file it changed
 * (before/after) and each command it ran, has a dry-run mode, is idempotent,
 * and reports failure without stopping the others.
 */
#ifndef HYPER2KVM_H2K_FIX_H
#define HYPER2KVM_H2K_FIX_H

#include "h2k_common.h"
#include "h2k_guest.h"
#include "h2k_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Repairs, as bits for h2k_fix_options.fixes. */
typedef enum h2k_fix_kind {
    H2K_FIX_FSTAB = 1 << 0,        /**< fstab/crypttab device names to UUID= */
    H2K_FIX_GRUB = 1 << 1,         /**< root=/resume=, /etc/default/grub, BLS, device.map, grub.cfg */
    H2K_FIX_NETWORK = 1 << 2,      /**< interface names and MAC pins */
    H2K_FIX_INITRAMFS = 1 << 3,    /**< virtio drivers in every initramfs */
    H2K_FIX_VMWARE_TOOLS = 1 << 4, /**< remove VMware tools */
    H2K_FIX_SELINUX = 1 << 5,      /**< relabel on next boot when SELinux is on */
    H2K_FIX_VIRTIO_WIN = 1 << 6,   /**< Windows: virtio drivers from virtio-win copied in, the
                                        block driver made a boot-start service bound to the
                                        virtio PCI ids, the driver folder in DevicePath */
    H2K_FIX_ALL = 0x7f
} h2k_fix_kind;

/** Name of one repair ("fstab", "grub", "network", "initramfs", "vmware_tools",
 *  "selinux", "virtio_win"); NULL for anything but a single bit.  Static. */
H2K_EXTERN const char *h2k_fix_kind_name(h2k_fix_kind kind);

/** Parses a comma-separated list of repair names into bits; -1 on an unknown name. */
H2K_EXTERN int h2k_fix_kinds_parse(const char *list);

typedef enum h2k_fix_status {
    H2K_FIX_STATUS_CHANGED = 0,   /**< files were changed (or would be, in a dry run) */
    H2K_FIX_STATUS_UNCHANGED = 1, /**< nothing needed changing */
    H2K_FIX_STATUS_SKIPPED = 2,   /**< not applicable to this guest */
    H2K_FIX_STATUS_FAILED = 3     /**< failed; see message */
} h2k_fix_status;

/** Name of a status ("changed", "unchanged", "skipped", "failed").  Static. */
H2K_EXTERN const char *h2k_fix_status_name(h2k_fix_status status);

/** One changed file. */
typedef struct h2k_file_change {
    char *path;         /**< path inside the guest */
    char *action;       /**< "modified", "created", "deleted", "renamed" */
    char *before;       /**< previous contents (NULL when created) */
    char *after;        /**< new contents (NULL when deleted) */
    size_t n_notes;
    char **notes;       /**< one line per change made in the file */
} h2k_file_change;

/** One command run inside the guest. */
typedef struct h2k_command_record {
    char *command;      /**< the command line, for the report */
    int exit_status;
    char *output_tail;  /**< last lines of its output */
    double duration_seconds;
} h2k_command_record;

/** One change to a Windows registry hive (made, or in a dry run to be made). */
typedef struct h2k_registry_change {
    char *hive;   /**< "SYSTEM", "SOFTWARE" */
    char *key;    /**< key path from the hive's root, backslash-separated */
    char *value;  /**< value name ("" for the default value), NULL for a key action */
    char *action; /**< "key created", "key deleted", "value set", "value deleted" */
    char *type;   /**< "REG_SZ", "REG_EXPAND_SZ", "REG_DWORD", "REG_MULTI_SZ", "REG_BINARY";
                       NULL for a key action */
    char *before; /**< the old data, printable (dword "0x00000001 (1)", multi-string
                       ["a", "b"], binary "hex:01,ff"); NULL when there was none */
    char *after;  /**< the new data, printable; NULL when deleted */
} h2k_registry_change;

/** The result of one repair. */
typedef struct h2k_fix_result {
    h2k_fix_kind kind;
    h2k_fix_status status;
    char *message;      /**< summary, or the reason of a failure/skip */
    int dry_run;
    size_t n_changes;
    h2k_file_change *changes;
    size_t n_commands;
    h2k_command_record *commands;
    double duration_seconds;
    size_t n_registry_changes;               /**< Windows: registry changes, in order */
    h2k_registry_change *registry_changes;
} h2k_fix_result;

/** Frees a result.  NULL is allowed. */
H2K_EXTERN void h2k_fix_result_free(h2k_fix_result *res);

/** A NIC of the VM as it will be on KVM. */
typedef struct h2k_fix_nic {
    const char *mac;       /**< MAC the KVM guest will have */
    const char *old_name;  /**< interface name in the guest, or NULL to learn it */
    const char *new_name;  /**< name to use, or NULL to keep the old one */
} h2k_fix_nic;

/** Version 2 added atomic, version 3 virtio_win and virtio_scsi; older structs
 *  (without them) are still accepted. */
#define H2K_FIX_OPTIONS_VERSION 3

typedef struct h2k_fix_options {
    unsigned version;        /**< H2K_FIX_OPTIONS_VERSION */
    unsigned fixes;          /**< h2k_fix_kind bits; default H2K_FIX_ALL */
    int dry_run;             /**< compute and report, write nothing (disks opened read-only) */
    int keep_mac;            /**< the KVM guest keeps its MACs: pin names (default 1) */
    const h2k_fix_nic *nics; /**< the VM's NICs, or NULL (learnt from the guest) */
    size_t n_nics;
    int force_initramfs;     /**< rebuild with the guest's generator (update-initramfs, dracut,
                                  mkinitrd), even where virtio drivers are present */
    int readonly_check;      /**< open read-only (implies dry_run) */
    unsigned command_timeout;/**< seconds per in-guest command, default 1800 */
    /** (version 2) 1: all or nothing.  The repairs are written to qcow2 overlays
     *  of the disks (in the context's temporary folder) and reach the disks only
     *  through h2k_offline_fixer_commit(); a fixer closed without a commit (a
     *  cancel, an error) leaves the disks exactly as they were.  The disks must
     *  be in a format qemu-img can write back into (as for direct writes, a
     *  streamOptimized VMDK is refused at open).  Ignored in a dry run.
     *  0 (default): the disks are written directly. */
    int atomic;
    /** (version 3) Windows: the virtio-win drivers, an ISO or a folder with its
     *  layout (DRIVER/OS/ARCH/, e.g. viostor/2k22/amd64/viostor.sys, or
     *  drivers/by-os/ARCH/OS/).  NULL: /usr/share/virtio-win when it exists,
     *  else no drivers are injected (the guest keeps SATA and e1000e). */
    const char *virtio_win;
    /** (version 3) Windows: the KVM disks are on virtio-scsi, so vioscsi (not
     *  viostor) is made the boot-start driver. */
    int virtio_scsi;
} h2k_fix_options;

#define H2K_FIX_OPTIONS_INIT                                                                \
    { H2K_FIX_OPTIONS_VERSION, H2K_FIX_ALL, 0, 1, NULL, 0, 0, 0, 1800, 0, NULL, 0 }

typedef struct h2k_offline_fixer h2k_offline_fixer;

/** Opens the VM's disks (in VM order; @formats may be NULL to probe) in one
 *  libguestfs appliance, inspects and mounts the guest.  The disks are written
 *  to (pass overlays to keep the originals, or set atomic); unless in a dry
 *  run, a disk qemu cannot write in place (a streamOptimized VMDK) is refused
 *  with H2K_ERR_UNSUPPORTED before the appliance starts.  @identity may be NULL (then it is
 *  detected; see h2k_offline_fixer_identity()).  Caller frees with
 *  h2k_offline_fixer_close(). */
H2K_EXTERN int h2k_offline_fixer_open(h2k_ctx *ctx, const char *const *disks,
                                      const char *const *formats, size_t n_disks,
                                      const h2k_fix_options *opts, h2k_offline_fixer **out);

/** The guest identity found at open.  Owned by the fixer. */
H2K_EXTERN const h2k_guest_identity *h2k_offline_fixer_identity(const h2k_offline_fixer *fx);

/** Individual repairs.  Each returns 0 with *out filled (status FAILED when it
 *  failed inside the guest), or a negative code when it could not run at all.
 *  Caller frees *out with h2k_fix_result_free(). */
H2K_EXTERN int h2k_offline_fixer_fix_fstab(h2k_offline_fixer *fx, h2k_fix_result **out);
H2K_EXTERN int h2k_offline_fixer_fix_grub(h2k_offline_fixer *fx, h2k_fix_result **out);
H2K_EXTERN int h2k_offline_fixer_fix_network(h2k_offline_fixer *fx, h2k_fix_result **out);
H2K_EXTERN int h2k_offline_fixer_regenerate_initramfs(h2k_offline_fixer *fx,
                                                      h2k_fix_result **out);
H2K_EXTERN int h2k_offline_fixer_remove_vmware_tools(h2k_offline_fixer *fx,
                                                     h2k_fix_result **out);
H2K_EXTERN int h2k_offline_fixer_fix_selinux(h2k_offline_fixer *fx, h2k_fix_result **out);

/** Windows: injects the virtio drivers (see H2K_FIX_VIRTIO_WIN).  Refuses, changing
 *  nothing (status FAILED, the disks left byte for byte as they were), a
 *  hibernated guest (or one shut down with Fast Startup), hives that do not
 *  parse, and a virtio-win without a block driver for the guest's version and
 *  architecture (the message names them and the folders looked for).  Skipped
 *  for other guests and when no virtio-win is given or found. */
H2K_EXTERN int h2k_offline_fixer_inject_virtio_win(h2k_offline_fixer *fx, h2k_fix_result **out);

/** 1 when the guest's boot disk driver for virtio is in place (injected by this
 *  fixer, or found already there in a second run), so the KVM domain may use
 *  virtio disks and NICs; 0 otherwise (Linux guests: always 1). */
H2K_EXTERN int h2k_offline_fixer_virtio_ready(const h2k_offline_fixer *fx);

/** Runs every repair selected in the options, in a safe order (virtio_win, fstab, network,
 *  tools, initramfs, grub, selinux) and keeps the results for the report.
 *  Returns 0 when every selected repair succeeded or was not needed, else
 *  H2K_ERR_FIXER (the others still ran). */
H2K_EXTERN int h2k_offline_fixer_run_all(h2k_offline_fixer *fx);

/** The results recorded so far (by run_all and the individual calls). */
H2K_EXTERN size_t h2k_offline_fixer_result_count(const h2k_offline_fixer *fx);
H2K_EXTERN const h2k_fix_result *h2k_offline_fixer_result_at(const h2k_offline_fixer *fx,
                                                            size_t i);

/** The report of everything done: identity, each repair, each file changed
 *  (before/after) and each command with its output tail.  JSON or Markdown;
 *  caller frees with free(). */
H2K_EXTERN char *h2k_offline_fixer_report_json(const h2k_offline_fixer *fx);
H2K_EXTERN char *h2k_offline_fixer_report_markdown(const h2k_offline_fixer *fx);

/** Trims free space (fstrim) so that freed blocks are not copied later. */
H2K_EXTERN int h2k_offline_fixer_trim(h2k_offline_fixer *fx);

/** Unmounts, flushes and shuts the appliance down; with the atomic option,
 *  then writes the repairs held in the overlays into the disks (qemu-img
 *  commit), disk by disk, without giving way to a cancel (a half-committed
 *  disk is what atomic avoids).  Without atomic, or in a dry run, it only
 *  stops the appliance (the disks were written directly).  Afterwards no
 *  repair can run (H2K_ERR_INVALID_ARG); the results and reports stay
 *  readable.  Returns 0, H2K_ERR_CANCELLED when the context was cancelled
 *  before (nothing committed), or the error of the flush or the commit. */
H2K_EXTERN int h2k_offline_fixer_commit(h2k_offline_fixer *fx);

/** Unmounts, flushes and shuts the appliance down (with the atomic option and
 *  no commit: discards the overlays, the disks unchanged) and frees the fixer.
 *  Returns 0 or an error when the guest could not be written back.  NULL is
 *  allowed. */
H2K_EXTERN int h2k_offline_fixer_close(h2k_offline_fixer *fx);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_FIX_H */
