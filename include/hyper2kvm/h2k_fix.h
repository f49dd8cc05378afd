/**
 * @file hyper2kvm/h2k_fix.h
 * @brief offline guest repair (mid-level API).
 *
 * An h2k_offline_fixer opens the disks of one VM in ONE libguestfs appliance
 * (launched once), inspects the guest and applies the repairs a VMware or
 * Hyper-V guest needs to boot on KVM: block device names in fstab and GRUB,
 * network configuration, an initramfs with virtio drivers, removal of VMware
 * tools, SELinux relabelling.  Every repair records each file it changed
 * (before/after) and each command it ran, has a dry-run mode, is idempotent,
 * and reports failure without stopping the others.
 *
 * Concurrency: a fixer is used by the thread of its context, one call at a
 * time; h2k_ctx_cancel() on that context may come from any thread.  Fixers of
 * different VMs (each on its own context, with its own appliance) may run in
 * parallel threads.
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
    H2K_FIX_FSTAB = 1 << 0,     /**< fstab/crypttab device names to UUID= */
    H2K_FIX_GRUB = 1 << 1,      /**< root=/resume=, /etc/default/grub, BLS, device.map, grub.cfg */
    H2K_FIX_NETWORK = 1 << 2,   /**< interface names and MAC pins */
    H2K_FIX_INITRAMFS = 1 << 3, /**< virtio drivers in every initramfs */
    H2K_FIX_VMWARE_TOOLS = 1 << 4, /**< remove VMware tools */
    H2K_FIX_SELINUX = 1 << 5,      /**< relabel on next boot when SELinux is on */
    H2K_FIX_VIRTIO_WIN = 1 << 6,   /**< Windows: virtio drivers from virtio-win copied in, the
                                        block driver made a boot-start service bound to the
                                        virtio PCI ids, the driver folder in DevicePath */
    H2K_FIX_ALL = 0x7f
} h2k_fix_kind;

/** Name of one repair ("fstab", "grub", "network", "initramfs", "vmware_tools",
 *  "selinux", "virtio_win"); NULL for anything but a single bit.  Static.
 *  @param kind  one h2k_fix_kind bit
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_fix_kind_name(h2k_fix_kind kind);

/** Parses a comma-separated list of repair names into bits; -1 on an unknown name.
 *  @param list  e.g. "fstab,grub" (also "all" and "none")
 *  @return the h2k_fix_kind bits, or -1
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_fix_kinds_parse(const char *list);

/** How a repair ended. */
typedef enum h2k_fix_status {
    H2K_FIX_STATUS_CHANGED = 0,   /**< files were changed (or would be, in a dry run) */
    H2K_FIX_STATUS_UNCHANGED = 1, /**< nothing needed changing */
    H2K_FIX_STATUS_SKIPPED = 2,   /**< not applicable to this guest */
    H2K_FIX_STATUS_FAILED = 3     /**< failed; see message */
} h2k_fix_status;

/** Name of a status ("changed", "unchanged", "skipped", "failed").  Static.
 *  @param status  the status
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_fix_status_name(h2k_fix_status status);

/** One changed file. */
typedef struct h2k_file_change {
    char *path;     /**< path inside the guest */
    char *action;   /**< "modified", "created", "deleted", "renamed" */
    char *before;   /**< previous contents (NULL when created) */
    char *after;    /**< new contents (NULL when deleted) */
    size_t n_notes; /**< number of entries in notes */
    char **notes;   /**< one line per change made in the file */
} h2k_file_change;

/** One command run inside the guest. */
typedef struct h2k_command_record {
    char *command;           /**< the command line, for the report */
    int exit_status;         /**< exit status of the command (-1 when it did not run) */
    char *output_tail;       /**< last lines of its output */
    double duration_seconds; /**< wall time of the command */
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
    h2k_fix_kind kind;            /**< the repair */
    h2k_fix_status status;        /**< how it ended */
    char *message;                /**< summary, or the reason of a failure/skip */
    int dry_run;                  /**< 1 when nothing was written */
    size_t n_changes;             /**< number of entries in changes */
    h2k_file_change *changes;     /**< the files changed (or that would be, in a dry run) */
    size_t n_commands;            /**< number of entries in commands */
    h2k_command_record *commands; /**< the commands run in the guest */
    double duration_seconds;      /**< wall time of the repair */
    size_t n_registry_changes;    /**< Windows: number of entries in registry_changes */
    h2k_registry_change *registry_changes; /**< Windows: registry changes, in order */
} h2k_fix_result;

/** Frees a result.  NULL is allowed.
 *  @param res  the result (NULL allowed) */
H2K_EXTERN void h2k_fix_result_free(h2k_fix_result *res);

/** A NIC of the VM as it will be on KVM. */
typedef struct h2k_fix_nic {
    const char *mac;      /**< MAC the KVM guest will have */
    const char *old_name; /**< interface name in the guest, or NULL to learn it */
    const char *new_name; /**< name to use, or NULL to keep the old one */
} h2k_fix_nic;

/** The newest version of h2k_fix_options: 1 (up to command_timeout), 2 (atomic),
 *  3 (guest_identity), 4 (virtio_win, virtio_scsi).  Every older version is still
 *  accepted. */
#define H2K_FIX_OPTIONS_VERSION 4

/** Options of h2k_offline_fixer_open().  Initialise with H2K_FIX_OPTIONS_INIT or
 *  h2k_fix_options_init(); fields are only ever added at the end.  Pointers are
 *  borrowed for the duration of h2k_offline_fixer_open(). */
typedef struct h2k_fix_options {
    unsigned version;         /**< H2K_FIX_OPTIONS_VERSION */
    unsigned fixes;           /**< h2k_fix_kind bits; default H2K_FIX_ALL */
    int dry_run;              /**< compute and report, write nothing (disks opened read-only) */
    int keep_mac;             /**< the KVM guest keeps its MACs: pin names (default 1) */
    const h2k_fix_nic *nics;  /**< the VM's NICs, or NULL (learnt from the guest) */
    size_t n_nics;            /**< number of entries in nics */
    int force_initramfs;      /**< rebuild with the guest's generator (update-initramfs, dracut,
                                   mkinitrd), even where virtio drivers are present */
    int readonly_check;       /**< open read-only (implies dry_run) */
    unsigned command_timeout; /**< seconds per in-guest command, default 1800 */
    /** (version 2) 1: all or nothing.  The repairs are written to qcow2 overlays
     *  of the disks (in the context's temporary folder) and reach the disks only
     *  through h2k_offline_fixer_commit(); a fixer closed without a commit (a
     *  cancel, an error) leaves the disks exactly as they were.  The disks must
     *  be in a format qemu-img can write back into (as for direct writes, a
     *  streamOptimized VMDK is refused at open).  Ignored in a dry run.
     *  0 (default): the disks are written directly. */
    int atomic;
    /** (version 3) the guest on these disks as the caller already detected it
     *  (h2k_guest_detect_image() on the same disks, in the same order), or NULL.
     *  When given it is copied and used as is: the fixer still inspects the disks
     *  to mount the guest's file systems, but does not detect the guest again
     *  (kernels, initramfs contents, configuration files are not re-read). */
    const h2k_guest_identity *guest_identity;
    /** (version 4) Windows: the virtio-win drivers, an ISO or a folder with its
     *  layout (DRIVER/OS/ARCH/, e.g. viostor/2k22/amd64/viostor.sys, or
     *  drivers/by-os/ARCH/OS/).  NULL: /usr/share/virtio-win when it exists,
     *  else no drivers are injected (the guest keeps SATA and e1000e). */
    const char *virtio_win;
    /** (version 4) Windows: the KVM disks are on virtio-scsi, so vioscsi (not
     *  viostor) is made the boot-start driver. */
    int virtio_scsi;
} h2k_fix_options;

/** Defaults of h2k_fix_options, for declarations: all repairs, keep MACs, 1800 s. */
#define H2K_FIX_OPTIONS_INIT                                                                       \
    {                                                                                              \
        .version = H2K_FIX_OPTIONS_VERSION, .fixes = H2K_FIX_ALL, .dry_run = 0, .keep_mac = 1,     \
        .nics = NULL, .n_nics = 0, .force_initramfs = 0, .readonly_check = 0,                      \
        .command_timeout = 1800, .atomic = 0, .guest_identity = NULL, .virtio_win = NULL,          \
        .virtio_scsi = 0                                                                           \
    }

/** Fills @p opts with the defaults of H2K_FIX_OPTIONS_INIT, as the struct was in
 *  @p version (only that version's fields are written: a caller built against an
 *  older header may pass its smaller struct).  For callers that cannot use the
 *  macro (other languages).
 *  @param opts     the struct to fill
 *  @param version  1..H2K_FIX_OPTIONS_VERSION
 *  @return 0, or H2K_ERR_INVALID_ARG when @p opts is NULL or @p version is not
 *          known (then only opts->version is set, and the call it is passed to
 *          fails naming the struct and the version). */
H2K_EXTERN int h2k_fix_options_init(h2k_fix_options *opts, unsigned version);

/** One VM's disks open in one libguestfs appliance, the guest inspected and
 *  mounted, and the results of the repairs run so far.  Used by one thread at a
 *  time (the thread of its context); h2k_ctx_cancel() on its context stops a
 *  running repair from any thread. */
typedef struct h2k_offline_fixer h2k_offline_fixer;

/** Opens the VM's disks (in VM order; @p formats may be NULL to probe) in one
 *  libguestfs appliance, inspects and mounts the guest.  The disks are written
 *  to (pass overlays to keep the originals, or set atomic); unless in a dry
 *  run, a disk qemu cannot write in place (a streamOptimized VMDK) is refused
 *  with H2K_ERR_UNSUPPORTED before the appliance starts.  The guest is
 *  detected at open, unless opts->guest_identity gives it (see
 *  h2k_offline_fixer_identity()).  Caller frees with h2k_offline_fixer_close().
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param disks  the disk image paths, in the VM's order
 *  @param formats  each disk's format name, or NULL to probe them
 *  @param n_disks  number of disks
 *  @param opts  options, or NULL for the defaults
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_offline_fixer_open(h2k_ctx *ctx, const char *const *disks,
                                      const char *const *formats, size_t n_disks,
                                      const h2k_fix_options *opts, h2k_offline_fixer **out);

/** The guest identity found at open.  Owned by the fixer.
 *  @param fx  the fixer
 *  @return the number of results */
H2K_EXTERN const h2k_guest_identity *h2k_offline_fixer_identity(const h2k_offline_fixer *fx);

/* Individual repairs (the seed's OfflineFSFix methods).  Each returns 0 with
 * *out filled (status FAILED when it failed inside the guest), or a negative
 * code when it could not run at all; each is recorded for the report. */

/** Repairs the fstab and crypttab: device names that change on KVM (sdX, hdX) become UUID=
 * (H2K_FIX_FSTAB).
 *  @param fx   the fixer (not committed)
 *  @param out  receives the result (caller frees with h2k_fix_result_free()), or NULL
 *  @return 0 (see the result's status), H2K_ERR_CANCELLED, H2K_ERR_INVALID_ARG (after a
 *          commit) or another negative h2k_code when the repair could not run */
H2K_EXTERN int h2k_offline_fixer_fix_fstab(h2k_offline_fixer *fx, h2k_fix_result **out);

/** Repairs the GRUB: root= and resume= on the kernel command line, /etc/default/grub, BLS entries,
 * device.map and grub.cfg (H2K_FIX_GRUB).
 *  @param fx   the fixer (not committed)
 *  @param out  receives the result (caller frees with h2k_fix_result_free()), or NULL
 *  @return 0 (see the result's status), H2K_ERR_CANCELLED, H2K_ERR_INVALID_ARG (after a
 *          commit) or another negative h2k_code when the repair could not run */
H2K_EXTERN int h2k_offline_fixer_fix_grub(h2k_offline_fixer *fx, h2k_fix_result **out);

/** Repairs the network configuration: interface names and MAC pins for the KVM NICs
 * (H2K_FIX_NETWORK).
 *  @param fx   the fixer (not committed)
 *  @param out  receives the result (caller frees with h2k_fix_result_free()), or NULL
 *  @return 0 (see the result's status), H2K_ERR_CANCELLED, H2K_ERR_INVALID_ARG (after a
 *          commit) or another negative h2k_code when the repair could not run */
H2K_EXTERN int h2k_offline_fixer_fix_network(h2k_offline_fixer *fx, h2k_fix_result **out);

/** Repairs the initramfs: every kernel's initramfs gets the virtio drivers, rebuilt with the
 * guest's generator when needed (H2K_FIX_INITRAMFS).
 *  @param fx   the fixer (not committed)
 *  @param out  receives the result (caller frees with h2k_fix_result_free()), or NULL
 *  @return 0 (see the result's status), H2K_ERR_CANCELLED, H2K_ERR_INVALID_ARG (after a
 *          commit) or another negative h2k_code when the repair could not run */
H2K_EXTERN int h2k_offline_fixer_regenerate_initramfs(h2k_offline_fixer *fx, h2k_fix_result **out);

/** Repairs the VMware tools: open-vm-tools or vmware-tools removed (H2K_FIX_VMWARE_TOOLS).
 *  @param fx   the fixer (not committed)
 *  @param out  receives the result (caller frees with h2k_fix_result_free()), or NULL
 *  @return 0 (see the result's status), H2K_ERR_CANCELLED, H2K_ERR_INVALID_ARG (after a
 *          commit) or another negative h2k_code when the repair could not run */
H2K_EXTERN int h2k_offline_fixer_remove_vmware_tools(h2k_offline_fixer *fx, h2k_fix_result **out);

/** Repairs the SELinux: a relabel on the next boot when SELinux is on (H2K_FIX_SELINUX).
 *  @param fx   the fixer (not committed)
 *  @param out  receives the result (caller frees with h2k_fix_result_free()), or NULL
 *  @return 0 (see the result's status), H2K_ERR_CANCELLED, H2K_ERR_INVALID_ARG (after a
 *          commit) or another negative h2k_code when the repair could not run */
H2K_EXTERN int h2k_offline_fixer_fix_selinux(h2k_offline_fixer *fx, h2k_fix_result **out);

/** Windows: injects the virtio drivers (see H2K_FIX_VIRTIO_WIN).  Refuses, changing
 *  nothing (status FAILED, the disks left byte for byte as they were), a
 *  hibernated guest (or one shut down with Fast Startup), hives that do not
 *  parse, and a virtio-win without a block driver for the guest's version and
 *  architecture (the message names them and the folders looked for).  Skipped
 *  for other guests and when no virtio-win is given or found.
 *  @param fx   the fixer (not committed)
 *  @param out  receives the result (caller frees with h2k_fix_result_free()), or NULL
 *  @return 0 (see the result's status), H2K_ERR_CANCELLED, H2K_ERR_INVALID_ARG (after a
 *          commit) or another negative h2k_code when the repair could not run */
H2K_EXTERN int h2k_offline_fixer_inject_virtio_win(h2k_offline_fixer *fx, h2k_fix_result **out);

/** 1 when the guest's boot disk driver for virtio is in place (injected by this
 *  fixer, or found already there in a second run), so the KVM domain may use
 *  virtio disks and NICs; 0 otherwise (Linux guests: always 1).
 *  @param fx  the fixer
 *  @return 1 when ready, 0 otherwise (also for a NULL fixer) */
H2K_EXTERN int h2k_offline_fixer_virtio_ready(const h2k_offline_fixer *fx);

/** Runs every repair selected in the options, in a safe order (virtio_win, fstab, network,
 *  tools, initramfs, grub, selinux) and keeps the results for the report.
 *  When the tools repair removes packages and the initramfs repair will add
 *  the virtio drivers in place, that work is prepared beside the removal in
 *  the same appliance call and put in place by the initramfs repair (dropped
 *  and redone when the removal changed the image).
 *  Returns 0 when every selected repair succeeded or was not needed, else
 *  H2K_ERR_FIXER (the others still ran).
 *  @param fx  the fixer
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_offline_fixer_run_all(h2k_offline_fixer *fx);

/** The number of results recorded so far (by run_all and the individual calls).
 *  @param fx  the fixer
 *  @return the number of results */
H2K_EXTERN size_t h2k_offline_fixer_result_count(const h2k_offline_fixer *fx);

/** Result @p i of those recorded so far.
 *  @param fx  the fixer
 *  @param i   0-based index
 *  @return the result, owned by the fixer, or NULL when out of range */
H2K_EXTERN const h2k_fix_result *h2k_offline_fixer_result_at(const h2k_offline_fixer *fx, size_t i);

/** The report of everything done, as JSON: identity, each repair, each file
 *  changed (before/after) and each command with its output tail.
 *  @param fx  the fixer
 *  @return the text (the caller frees it with free()), or NULL on allocation failure */
H2K_EXTERN char *h2k_offline_fixer_report_json(const h2k_offline_fixer *fx);

/** The same report as h2k_offline_fixer_report_json(), in Markdown.
 *  @param fx  the fixer
 *  @return the text (the caller frees it with free()), or NULL on allocation failure */
H2K_EXTERN char *h2k_offline_fixer_report_markdown(const h2k_offline_fixer *fx);

/** Trims free space (fstrim) so that freed blocks are not copied later.
 *  @param fx  the fixer
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_offline_fixer_trim(h2k_offline_fixer *fx);

/** Unmounts, flushes and shuts the appliance down; with the atomic option,
 *  then writes the repairs held in the overlays into the disks (qemu-img
 *  commit), disk by disk, without giving way to a cancel (a half-committed
 *  disk is what atomic avoids).  Without atomic, or in a dry run, it only
 *  stops the appliance (the disks were written directly).  Afterwards no
 *  repair can run (H2K_ERR_INVALID_ARG); the results and reports stay
 *  readable.  Returns 0, H2K_ERR_CANCELLED when the context was cancelled
 *  before (nothing committed), or the error of the flush or the commit.
 *  @param fx  the fixer
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_offline_fixer_commit(h2k_offline_fixer *fx);

/** Unmounts, flushes and shuts the appliance down (with the atomic option and
 *  no commit: discards the overlays, the disks unchanged) and frees the fixer.
 *  Returns 0 or an error when the guest could not be written back.  NULL is
 *  allowed.
 *  @param fx  the fixer
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_offline_fixer_close(h2k_offline_fixer *fx);

/* ------------------------------------------------------------ live fixer */

/** The newest version of h2k_live_fix_options: 1. */
#define H2K_LIVE_FIX_OPTIONS_VERSION 1

/** The repairs a live fixer runs by default: fstab, boot loader, network, initramfs. */
#define H2K_LIVE_FIX_DEFAULT (H2K_FIX_FSTAB | H2K_FIX_GRUB | H2K_FIX_NETWORK | H2K_FIX_INITRAMFS)

/** Options of h2k_live_fixer_new().  Initialise with H2K_LIVE_FIX_OPTIONS_INIT or
 *  h2k_live_fix_options_init(); fields are only ever added at the end.  The
 *  strings are copied by h2k_live_fixer_new(). */
typedef struct h2k_live_fix_options {
    unsigned version;             /**< H2K_LIVE_FIX_OPTIONS_VERSION */
    const char *host;             /**< host name or address of the running source VM */
    unsigned port;                /**< SSH port, default 22 */
    const char *user;             /**< remote user (root, or a user with sudo) */
    const char *key_file;         /**< private key file (key authentication only) */
    const char *known_hosts_file; /**< known_hosts to verify the host key against;
                                       NULL: ~/.ssh/known_hosts */
    int accept_new_host_key;      /**< 1: a host missing from known_hosts is added
                                       (a changed key is still refused); default 0 */
    int sudo;                     /**< 1: run every command through "sudo -n" */
    int dry_run;                  /**< 1: read and compute, list the writes and commands,
                                       run none of them */
    unsigned fixes;               /**< h2k_fix_kind bits; default H2K_LIVE_FIX_DEFAULT
                                       (H2K_FIX_SELINUX is reported as skipped) */
    unsigned command_timeout;     /**< seconds per remote command, default 1800 */
    unsigned connect_timeout;     /**< seconds to wait for the host to answer, default 15 */
} h2k_live_fix_options;

/** Defaults of h2k_live_fix_options, for declarations. */
#define H2K_LIVE_FIX_OPTIONS_INIT                                                                  \
    {                                                                                              \
        .version = H2K_LIVE_FIX_OPTIONS_VERSION, .host = NULL, .port = 22, .user = NULL,           \
        .key_file = NULL, .known_hosts_file = NULL, .accept_new_host_key = 0, .sudo = 0,           \
        .dry_run = 0, .fixes = H2K_LIVE_FIX_DEFAULT, .command_timeout = 1800,                      \
        .connect_timeout = 15                                                                      \
    }

/** Fills @p opts with the defaults of H2K_LIVE_FIX_OPTIONS_INIT as the struct was
 *  in @p version.
 *  @param opts     the struct to fill
 *  @param version  1..H2K_LIVE_FIX_OPTIONS_VERSION
 *  @return 0, or H2K_ERR_INVALID_ARG (NULL @p opts, unknown @p version) */
H2K_EXTERN int h2k_live_fix_options_init(h2k_live_fix_options *opts, unsigned version);

/** A running Linux source VM reached over SSH (the OpenSSH client, ssh(1), run
 *  as a subprocess with BatchMode, key authentication only and the host key
 *  verified), prepared for KVM before the cutover with the offline fixer's
 *  transforms: fstab and boot loader on stable names, NIC names pinned to their
 *  MACs, virtio drivers in the initramfs of every installed kernel, VMware tools
 *  removed on request.  Each file is read over SSH, transformed, and written back
 *  atomically (a temporary file renamed over it) after a backup
 *  (PATH.hyper2kvm-orig, kept from the first change).  Used by one thread at a
 *  time; different fixers may run in parallel threads. */
typedef struct h2k_live_fixer h2k_live_fixer;

/** Checks the options and creates a fixer; nothing is contacted yet.
 *  @param ctx   the context (errors, log, cancellation)
 *  @param opts  the options (host, user and key_file are required)
 *  @param out   receives the fixer; the caller frees it with h2k_live_fixer_free()
 *  @return 0, H2K_ERR_INVALID_ARG (a missing or unsafe value, named in the
 *          message) or H2K_ERR_NO_MEMORY */
H2K_EXTERN int h2k_live_fixer_new(h2k_ctx *ctx, const h2k_live_fix_options *opts,
                                  h2k_live_fixer **out);

/** Frees a fixer and its results.  NULL is allowed.
 *  @param lf  the fixer */
H2K_EXTERN void h2k_live_fixer_free(h2k_live_fixer *lf);

/** Connects (checking the host key, the key and, with sudo, that sudo -n works)
 *  and runs the selected repairs in order (fstab, network, VMware tools,
 *  initramfs, boot loader), keeping their results.  When the host cannot be
 *  reached, the key or host key is refused, or sudo needs a password, nothing is
 *  changed and the error names the host, the port and the cause.
 *  @param lf  the fixer
 *  @return 0 when every repair succeeded or had nothing to do;
 *          H2K_ERR_CONNECTION (host does not answer, host key unknown or
 *          changed), H2K_ERR_AUTHENTICATION (key refused, sudo refused),
 *          H2K_ERR_FIXER (a repair failed; the others still ran),
 *          H2K_ERR_CANCELLED or another negative h2k_code */
H2K_EXTERN int h2k_live_fixer_run(h2k_live_fixer *lf);

/** The number of results of the last h2k_live_fixer_run().
 *  @param lf  the fixer
 *  @return the number of results */
H2K_EXTERN size_t h2k_live_fixer_result_count(const h2k_live_fixer *lf);

/** Result @p i of the last run.
 *  @param lf  the fixer
 *  @param i   0-based index
 *  @return the result, owned by the fixer, or NULL when out of range */
H2K_EXTERN const h2k_fix_result *h2k_live_fixer_result_at(const h2k_live_fixer *lf, size_t i);

/** The report of the last run as JSON: host, port, user, dry run, and each
 *  repair with its changed files (before/after) and commands (output tails).
 *  @param lf  the fixer
 *  @return the text (the caller frees it with free()), or NULL on allocation failure */
H2K_EXTERN char *h2k_live_fixer_report_json(const h2k_live_fixer *lf);

/** The same report in Markdown.
 *  @param lf  the fixer
 *  @return the text (the caller frees it with free()), or NULL on allocation failure */
H2K_EXTERN char *h2k_live_fixer_report_markdown(const h2k_live_fixer *lf);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_FIX_H */
