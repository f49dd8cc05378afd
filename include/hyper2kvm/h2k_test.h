/**
 * @file hyper2kvm/h2k_test.h
 * @brief boot testing.  Proves that a converted guest boots under KVM/qemu.
 *
 * Two testers share one options struct and one result:
 *   - h2k_qemu_test_run() starts qemu-system-x86_64 itself;
 *   - h2k_libvirt_test_run() starts a transient libvirt domain.
 *
 * Neither ever writes to the image under test: the guest runs on a throw-away
 * qcow2 overlay (backed by the image) created in the context's temporary
 * directory and removed afterwards, with qemu's snapshot mode on top.
 *
 * Success needs a POSITIVE proof that user space came up, never "no crash for
 * N seconds":
 *   - H2K_PROOF_MARKER (default): a tiny boot probe (a systemd unit, or an
 *     rc.local line on guests without systemd) is written into the overlay
 *     through libguestfs before the boot.  Once the guest reaches
 *     multi-user.target it writes "H2K-BOOT-OK \<token> \<hostname> \<addresses>"
 *     to /dev/ttyS0 and /dev/console.  The token is random per run, so an old
 *     log cannot fake a success, and the probe works even when the guest has no
 *     serial console configured.  The guest's IPv4/IPv6 addresses are reported.
 *   - H2K_PROOF_LOGIN: a "login:" prompt on the serial console (no appliance
 *     launch; the guest needs a getty on ttyS0).
 *   - H2K_PROOF_TEXT: the caller's expect_text appears on the serial console
 *     (firmware-level tests, guests printing their own marker).
 *
 * Known failures end the test early: "Kernel panic", the initramfs "ALERT!",
 * "Dropping to a shell", a dracut-initqueue timeout, systemd emergency mode,
 * a firmware with no bootable device, and OVMF's UEFI shell waiting at its
 * prompt (the console quiet for 5 s after "Shell> ": a startup.nsh it runs
 * may be the boot).
 *
 * Concurrency: each run starts its own qemu (or transient libvirt domain) on
 * its own overlay: tests on different contexts may run in parallel threads;
 * h2k_ctx_cancel() from any thread stops a running test.
 */
#ifndef HYPER2KVM_H2K_TEST_H
#define HYPER2KVM_H2K_TEST_H

#include <stddef.h>

#include "h2k_common.h"
#include "h2k_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How success is proven.  Values are only ever appended. */
typedef enum h2k_boot_proof {
    H2K_PROOF_MARKER = 0, /**< injected probe prints "H2K-BOOT-OK \<token> ..." */
    H2K_PROOF_LOGIN = 1,  /**< "login:" prompt on the serial console */
    H2K_PROOF_TEXT = 2    /**< h2k_boot_test_options.expect_text on the console */
} h2k_boot_proof;

/** Accelerator for h2k_qemu_test_run().  Values are only ever appended. */
typedef enum h2k_boot_accel {
    H2K_ACCEL_AUTO = 0, /**< KVM when /dev/kvm can actually run a guest, else TCG */
    H2K_ACCEL_KVM = 1,
    H2K_ACCEL_TCG = 2
} h2k_boot_accel;

/** The newest version of h2k_boot_test_options: 1 (up to libvirt_uri), 2 (cpu_level).
 *  Every older version is still accepted. */
#define H2K_BOOT_TEST_OPTIONS_VERSION 2

/** Options of both testers.  Initialise with H2K_BOOT_TEST_OPTIONS_INIT; a zero
 *  or NULL field takes the default noted; fields are only ever added at the end. */
typedef struct h2k_boot_test_options {
    unsigned int version;         /**< H2K_BOOT_TEST_OPTIONS_VERSION */
    const char *format;           /**< image format ("qcow2", "vmdk", ...); NULL: probed */
    unsigned int memory_mib;      /**< guest memory; 0: 2048 */
    unsigned int vcpus;           /**< virtual CPUs; 0 (the default): 2 under emulation
                                       (TCG) on a host with 2 or more CPUs, where qemu
                                       runs each vCPU in a thread and a boot gains about
                                       a quarter, else 1 */
    int uefi;                     /**< non-zero: OVMF firmware (a private copy of the
                                       variable store is used and removed) */
    const char *machine;          /**< "q35" or "pc"; NULL: q35, or pc for IDE */
    h2k_bus bus;                  /**< disk bus the guest sees: H2K_BUS_VIRTIO
                                       (virtio-blk, what a repaired guest must boot
                                       on; also H2K_BUS_UNKNOWN), H2K_BUS_SATA (AHCI,
                                       machine q35), H2K_BUS_IDE (PIIX, machine pc)
                                       or H2K_BUS_SCSI (virtio-scsi) */
    const char *nic_model;        /**< qemu NIC model; NULL: "virtio-net-pci";
                                       "none": no NIC */
    const char *mac;              /**< NIC MAC address; NULL: the default */
    unsigned int timeout_seconds; /**< give up after this; 0: 300 */
    h2k_boot_accel accel;         /**< KVM or TCG; for libvirt, domain type 'kvm'
                                       or 'qemu' */
    h2k_boot_proof proof;         /**< default H2K_PROOF_MARKER */
    const char *expect_text;      /**< with H2K_PROOF_TEXT: the text to wait for */
    const char *console_log;      /**< keep the serial log at this path; NULL: removed */
    const char *libvirt_uri;      /**< libvirt tester only; NULL: "qemu:///system" */
    unsigned int cpu_level;       /**< (version 2) the x86-64 level the guest needs, as in
                                       x86-64-v2 = 2; 0: not known.  Under emulation
                                       (TCG), a level of 1 or 2 gets a lean x86-64-v2
                                       CPU model (qemu64 with the v2 features), on
                                       which the guest boots about a fifth faster than
                                       on "max"; 0, 3 or 4 get "max".  Under KVM the
                                       guest gets the host's CPU whatever the level. */
} h2k_boot_test_options;

/** Defaults of h2k_boot_test_options: 2 GiB, automatic vCPUs, BIOS, virtio, 300 s, marker proof. */
#define H2K_BOOT_TEST_OPTIONS_INIT                                                                 \
    {                                                                                              \
        .version = H2K_BOOT_TEST_OPTIONS_VERSION, .format = NULL, .memory_mib = 2048, .vcpus = 0,  \
        .uefi = 0, .machine = NULL, .bus = H2K_BUS_VIRTIO, .nic_model = NULL, .mac = NULL,         \
        .timeout_seconds = 300, .accel = H2K_ACCEL_AUTO, .proof = H2K_PROOF_MARKER,                \
        .expect_text = NULL, .console_log = NULL, .libvirt_uri = NULL, .cpu_level = 0              \
    }

/** Fills @p opts with the defaults of H2K_BOOT_TEST_OPTIONS_INIT, as the struct was in
 *  @p version (only that version's fields are written).  For callers that cannot
 *  use the macro (other languages).
 *  @param opts     the struct to fill
 *  @param version  1..H2K_BOOT_TEST_OPTIONS_VERSION
 *  @return 0, or H2K_ERR_INVALID_ARG when @p opts is NULL or @p version is not
 *          known (then only opts->version is set, and the call it is passed to
 *          fails naming the struct and the version). */
H2K_EXTERN int h2k_boot_test_options_init(h2k_boot_test_options *opts, unsigned version);

/** Outcome of a boot test.  Free with h2k_boot_result_free(). */
typedef struct h2k_boot_result {
    int success;            /**< 1 when the proof was seen */
    int timed_out;          /**< 1 when the timeout ended the test */
    double boot_seconds;    /**< from the start of the VM to the proof (or the end) */
    char *accel;            /**< "kvm" or "tcg" (qemu tester), "libvirt" otherwise */
    char *console_log_path; /**< the kept log (options.console_log), or NULL */
    char *console_tail;     /**< last ~40 console lines, control characters removed */
    char *proof_line;       /**< the console line that proved the boot, or NULL */
    char *hostname;         /**< from the marker, or NULL */
    char **addresses;       /**< addresses from the marker (IPv4 and IPv6) */
    size_t n_addresses;     /**< number of entries in addresses */
    char *error_message;    /**< why the test failed, or NULL */
    int not_proven;         /**< 1: no test could prove (or disprove) the boot -- a guest
                                 with no boot probe (Windows); error_message says why.
                                 success is 0, and this is not a failed migration */
} h2k_boot_result;

/** Boots @p image under qemu-system-x86_64 and waits for the proof.
 *
 *  Returns 0 when the guest proved it booted; H2K_ERR_BOOT_TEST when it did not
 *  (a known failure on the console, qemu exited, or the timeout: the last
 *  console lines are then in h2k_ctx_last_error(ctx)->console_tail);
 *  H2K_ERR_CANCELLED on h2k_ctx_cancel(); H2K_ERR_INVALID_ARG, H2K_ERR_NOT_FOUND
 *  (image, qemu, OVMF missing), H2K_ERR_IO and others when the test could not
 *  be run at all.
 *
 *  *out (caller frees with h2k_boot_result_free) is set whenever the guest was
 *  started, on success and on failure; otherwise it is NULL.  qemu runs in its
 *  own process group, dies with the calling process, and is always stopped and
 *  reaped before this returns; the overlay and firmware copies are removed.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param image  the disk image to boot (never written)
 *  @param opts  options, or NULL for the defaults
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_qemu_test_run(h2k_ctx *ctx, const char *image, const h2k_boot_test_options *opts,
                                 h2k_boot_result **out);

/** The same through libvirt (opts->libvirt_uri): a transient domain of type
 *  'kvm' (or 'qemu' when /dev/kvm cannot run a guest) with the overlay as its
 *  disk and a serial log file.  The domain is destroyed whatever happens
 *  (success, failure, timeout, cancel).  H2K_ERR_CONNECTION when libvirt
 *  cannot be reached.  Same return values and ownership as h2k_qemu_test_run().
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param image  the disk image to boot (never written)
 *  @param opts  options, or NULL for the defaults
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_libvirt_test_run(h2k_ctx *ctx, const char *image,
                                    const h2k_boot_test_options *opts, h2k_boot_result **out);

/** Frees a result.  NULL is allowed.
 *  @param res  the result (NULL allowed) */
H2K_EXTERN void h2k_boot_result_free(h2k_boot_result *res);

/** The result as a JSON object (caller frees), or NULL on allocation failure.
 *  @param res  the result
 *  @return the text (the caller frees it with free()), or NULL on allocation failure */
H2K_EXTERN char *h2k_boot_result_to_json(const h2k_boot_result *res);

/** Name of a proof ("marker", "login", "text"); static, never NULL.
 *  @param proof  the proof
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_boot_proof_name(h2k_boot_proof proof);

/** Parses a proof name; returns -1 when unknown.
 *  @param name  the name
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_boot_proof_from_name(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_TEST_H */
