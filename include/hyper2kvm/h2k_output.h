/**
 * @file hyper2kvm/h2k_output.h
 * @brief output to libvirt (the domain XML writer and domain definition).
 *
 * h2k_domain_xml() turns a source VM description (h2k_vm_spec), optionally
 * refined by what guest detection found (h2k_guest_identity), and the paths of
 * the converted disks into a libvirt domain XML document.  The output is
 * deterministic: the same inputs and options give the same bytes, so it can be
 * compared with golden files.  h2k_output_write_file() stores it atomically and
 * h2k_output_define() defines it persistently in a libvirt daemon.
 *
 * Concurrency: h2k_domain_xml() and h2k_output_write_file() keep no state and
 * may run in parallel threads, each on its own context; h2k_output_define()
 * opens its own libvirt connection per call.  h2k_output_quiet_libvirt_stderr()
 * changes process-wide libvirt state: call it once, before starting threads.
 */
#ifndef HYPER2KVM_H2K_OUTPUT_H
#define HYPER2KVM_H2K_OUTPUT_H

#include "h2k_common.h"
#include "h2k_guest.h"
#include "h2k_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a NIC is attached on the KVM host. */
typedef enum h2k_net_kind {
    H2K_NET_NETWORK = 0, /**< a libvirt virtual network (\<interface type='network'>) */
    H2K_NET_BRIDGE = 1   /**< a host bridge (\<interface type='bridge'>) */
} h2k_net_kind;

/** One entry of a network map: NICs whose source network (h2k_vm_nic.network)
 *  equals @c source_name are attached to @c target.  A NULL @c source_name matches
 *  every NIC no earlier entry matched (a catch-all).  The first match wins. */
typedef struct h2k_network_mapping {
    const char *source_name; /**< source network or port group name, or NULL */
    h2k_net_kind kind;       /**< network or bridge */
    const char *target;      /**< libvirt network name or host bridge name */
} h2k_network_mapping;

/** The newest version of h2k_domain_options (1). */
#define H2K_DOMAIN_OPTIONS_VERSION 1

/** Options of h2k_domain_xml().  Initialise with H2K_DOMAIN_OPTIONS_INIT;
 *  every pointer is borrowed for the duration of the call; fields are only ever
 *  added at the end. */
typedef struct h2k_domain_options {
    unsigned version;            /**< H2K_DOMAIN_OPTIONS_VERSION */
    const char *domain_type;     /**< "kvm" or "qemu" (TCG, no KVM); NULL: "kvm" when
                                      /dev/kvm can be opened, else "qemu" */
    const char *machine;         /**< "q35" (NULL) or "pc" */
    const char *name;            /**< domain name; NULL: the spec's name.  A '/'
                                      becomes '_' and control characters become '_' */
    h2k_firmware firmware;       /**< UNKNOWN: the spec's, else the identity's, else BIOS */
    int secure_boot;             /**< -1: as the spec says; 0 off; 1 on (UEFI only) */
    const char *ovmf_code;       /**< NULL: /usr/share/OVMF/OVMF_CODE_4M.fd, or
                                      OVMF_CODE_4M.ms.fd with secure boot */
    const char *ovmf_vars;       /**< NVRAM template; NULL: /usr/share/OVMF/OVMF_VARS_4M.fd,
                                      or OVMF_VARS_4M.ms.fd (Microsoft keys) with secure boot */
    const char *nvram_path;      /**< the VM's own copy of the UEFI variables; NULL:
                                      \<output_dir>/\<name>_VARS.fd, or left to libvirt
                                      when output_dir is NULL too */
    const char *output_dir;      /**< folder of the converted VM (for the default nvram path) */
    h2k_disk_format disk_format; /**< H2K_FORMAT_QCOW2 or H2K_FORMAT_RAW for every disk;
                                    H2K_FORMAT_UNKNOWN (default): raw for *.raw, *.img
                                    and *.bin, else qcow2 */
    const char *disk_cache;      /**< "none" (NULL: with io='native'), "writeback",
                                      "writethrough", "directsync" or "unsafe" */
    h2k_bus disk_bus;            /**< bus of the hard disks: H2K_BUS_UNKNOWN (default,
                                      automatic: virtio, but SATA for Windows guests, whose
                                      virtio drivers may be missing, unless windows_virtio
                                      is set), H2K_BUS_VIRTIO or H2K_BUS_SATA for every guest */
    int windows_virtio;          /**< 1: the Windows guest has virtio drivers (virtio
                                      disks and NICs); 0: SATA disks and e1000e NICs */
    const h2k_network_mapping *network_map; /**< may be NULL */
    size_t n_network_map;                   /**< number of entries in network_map */
    const char *default_network;            /**< network for unmapped NICs; NULL: "default" */
    int graphics; /**< 1: VNC on 127.0.0.1 (autoport) and a video card; 0: none */
} h2k_domain_options;

/** Defaults of h2k_domain_options: q35, firmware and secure boot as the VM has them,
 *  automatic disk bus, graphics on. */
#define H2K_DOMAIN_OPTIONS_INIT                                                                    \
    {                                                                                              \
        .version = H2K_DOMAIN_OPTIONS_VERSION, .domain_type = NULL, .machine = NULL, .name = NULL, \
        .firmware = H2K_FIRMWARE_UNKNOWN, .secure_boot = -1, .ovmf_code = NULL, .ovmf_vars = NULL, \
        .nvram_path = NULL, .output_dir = NULL, .disk_format = H2K_FORMAT_UNKNOWN,                 \
        .disk_cache = NULL, .disk_bus = H2K_BUS_UNKNOWN, .windows_virtio = 0, .network_map = NULL, \
        .n_network_map = 0, .default_network = NULL, .graphics = 1                                 \
    }

/** Fills @p opts with the defaults of H2K_DOMAIN_OPTIONS_INIT, as the struct was in
 *  @p version (only that version's fields are written).  For callers that cannot
 *  use the macro (other languages).
 *  @param opts     the struct to fill
 *  @param version  1..H2K_DOMAIN_OPTIONS_VERSION
 *  @return 0, or H2K_ERR_INVALID_ARG when @p opts is NULL or @p version is not
 *          known (then only opts->version is set, and the call it is passed to
 *          fails naming the struct and the version). */
H2K_EXTERN int h2k_domain_options_init(h2k_domain_options *opts, unsigned version);

/** Writes the libvirt domain XML of a VM.
 *
 *  @p spec gives the name, UUID (used when well formed), memory (KiB, 1 GiB when
 *  unknown), vCPUs (and topology), firmware, CD-ROM drives (one empty SATA or
 *  IDE drive each) and NICs (MAC kept, model virtio, attached per the network
 *  map).  @p id may be NULL; when given, its type (Windows: Hyper-V
 *  enlightenments, local clock, VGA), architecture and firmware are used.
 *  @p disk_paths (@p n_disks entries, at least one) are the converted disks, in
 *  boot order: the first one gets boot order 1.  @p opts may be NULL for
 *  defaults.  Every value is escaped by libxml2; a disk path, network or bridge
 *  name that is not valid UTF-8 or holds control characters is refused.
 *
 *  On success the caller owns *xml_out (free()).  Errors: H2K_ERR_INVALID_ARG
 *  (NULL arguments, no disks, bad option), H2K_ERR_VALIDATION (empty name,
 *  value unfit for XML), H2K_ERR_UNSUPPORTED (architecture other than x86),
 *  H2K_ERR_NO_MEMORY.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param spec  the VM description
 *  @param id  the guest identity
 *  @param disk_paths  the converted disks, in boot order
 *  @param n_disks  number of disks
 *  @param opts  options, or NULL for the defaults
 *  @param xml_out  receives the XML (caller frees with free())
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_domain_xml(h2k_ctx *ctx, const h2k_vm_spec *spec, const h2k_guest_identity *id,
                              const char *const *disk_paths, size_t n_disks,
                              const h2k_domain_options *opts, char **xml_out);

/** Writes @p xml to @p path atomically: a temporary file beside it, fsync, then
 *  rename over @p path (mode 0600, whatever the umask).  Errors: H2K_ERR_INVALID_ARG, H2K_ERR_IO,
 *  H2K_ERR_NOT_FOUND (missing folder).
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param path  the file
 *  @param xml  the domain XML
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_output_write_file(h2k_ctx *ctx, const char *path, const char *xml);

/** Defines @p xml persistently in the libvirt daemon at @p uri ("qemu:///system",
 *  "test:///default", ...; NULL lets libvirt choose), validated against
 *  libvirt's schema (VIR_DOMAIN_DEFINE_VALIDATE).  A domain with the same name
 *  or UUID is never replaced.  On success *name_out (if not NULL) gets the
 *  domain name (caller frees).
 *
 *  libvirt errors on the connection go to the context's log (domain "libvirt")
 *  through a per-connection handler; no process-wide libvirt state is changed.
 *  A failure to connect is reported by libvirt's global handler, which prints
 *  on stderr unless the application set one (see
 *  h2k_output_quiet_libvirt_stderr()).
 *
 *  Errors: H2K_ERR_CONNECTION (cannot connect; the message names @p uri),
 *  H2K_ERR_AUTHENTICATION, H2K_ERR_VALIDATION (libvirt refused the XML; its
 *  message is kept), H2K_ERR_EXISTS (a domain with that name or UUID exists),
 *  H2K_ERR_GENERIC (other libvirt failures), H2K_ERR_INVALID_ARG.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param uri  libvirt connection URI, or NULL
 *  @param xml  the domain XML
 *  @param name_out  receives the domain name (caller frees), or NULL
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_output_define(h2k_ctx *ctx, const char *uri, const char *xml, char **name_out);

/** Replaces libvirt's process-wide error handler (which prints every libvirt
 *  error on stderr) by one that prints nothing.  For programs, such as the
 *  hyper2kvm CLI, that report errors through h2k_ctx_last_error() alone.
 *  Affects the whole process: libraries should leave this to the application. */
H2K_EXTERN void h2k_output_quiet_libvirt_stderr(void);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_OUTPUT_H */
