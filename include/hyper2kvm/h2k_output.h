/*
 * hyper2kvm: output to libvirt (the domain XML writer and domain definition).
 *
 * h2k_domain_xml() turns a source VM description (h2k_vm_spec), optionally
 * refined by what guest detection found (h2k_guest_identity), and the paths of
 * the converted disks into a libvirt domain XML document.  The output is
 * deterministic: the same inputs and options give the same bytes, so it can be
 * compared with golden files.  h2k_output_write_file() stores it atomically and
 * h2k_output_define() defines it persistently in a libvirt daemon.
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
    H2K_NET_NETWORK = 0, /**< a libvirt virtual network (<interface type='network'>) */
    H2K_NET_BRIDGE = 1   /**< a host bridge (<interface type='bridge'>) */
} h2k_net_kind;

/** One entry of a network map: NICs whose source network (h2k_vm_nic.network)
 *  equals @source_name are attached to @target.  A NULL @source_name matches
 *  every NIC no earlier entry matched (a catch-all).  The first match wins. */
typedef struct h2k_network_mapping {
    const char *source_name; /**< source network or port group name, or NULL */
    h2k_net_kind kind;       /**< network or bridge */
    const char *target;      /**< libvirt network name or host bridge name */
} h2k_network_mapping;

/** Bus of the hard disks. */
typedef enum h2k_disk_bus_choice {
    H2K_DISK_BUS_AUTO = 0,   /**< virtio, but SATA for Windows guests (their virtio
                                  drivers may be missing) unless windows_virtio is set */
    H2K_DISK_BUS_VIRTIO = 1, /**< virtio-blk for every guest */
    H2K_DISK_BUS_SATA = 2    /**< SATA (AHCI) for every guest */
} h2k_disk_bus_choice;

#define H2K_DOMAIN_OPTIONS_VERSION 1

/** Options of h2k_domain_xml().  Initialise with H2K_DOMAIN_OPTIONS_INIT;
 *  every pointer is borrowed for the duration of the call. */
typedef struct h2k_domain_options {
    unsigned version;          /**< H2K_DOMAIN_OPTIONS_VERSION */
    const char *domain_type;   /**< "kvm" or "qemu" (TCG, no KVM); NULL: "kvm" when
                                    /dev/kvm can be opened, else "qemu" */
    const char *machine;       /**< "q35" (NULL) or "pc" */
    const char *name;          /**< domain name; NULL: the spec's name.  A '/'
                                    becomes '_' and control characters become '_' */
    h2k_firmware firmware;     /**< UNKNOWN: the spec's, else the identity's, else BIOS */
    int secure_boot;           /**< -1: as the spec says; 0 off; 1 on (UEFI only) */
    const char *ovmf_code;     /**< NULL: /usr/share/OVMF/OVMF_CODE_4M.fd, or
                                    OVMF_CODE_4M.ms.fd with secure boot */
    const char *ovmf_vars;     /**< NVRAM template; NULL: /usr/share/OVMF/OVMF_VARS_4M.fd,
                                    or OVMF_VARS_4M.ms.fd (Microsoft keys) with secure boot */
    const char *nvram_path;    /**< the VM's own copy of the UEFI variables; NULL:
                                    <output_dir>/<name>_VARS.fd, or left to libvirt
                                    when output_dir is NULL too */
    const char *output_dir;    /**< folder of the converted VM (for the default nvram path) */
    const char *disk_format;   /**< "qcow2" or "raw" for every disk; NULL: "raw" for
                                    *.raw, *.img and *.bin, else "qcow2" */
    const char *disk_cache;    /**< "none" (NULL: with io='native'), "writeback",
                                    "writethrough", "directsync" or "unsafe" */
    h2k_disk_bus_choice disk_bus;
    int windows_virtio;        /**< 1: the Windows guest has virtio drivers (virtio
                                    disks and NICs); 0: SATA disks and e1000e NICs */
    const h2k_network_mapping *network_map; /**< may be NULL */
    size_t n_network_map;
    const char *default_network; /**< network for unmapped NICs; NULL: "default" */
    int graphics;              /**< 1: VNC on 127.0.0.1 (autoport) and a video card; 0: none */
} h2k_domain_options;

#define H2K_DOMAIN_OPTIONS_INIT                                                               \
    { H2K_DOMAIN_OPTIONS_VERSION, NULL, NULL, NULL, H2K_FIRMWARE_UNKNOWN, -1, NULL, NULL,     \
      NULL, NULL, NULL, NULL, H2K_DISK_BUS_AUTO, 0, NULL, 0, NULL, 1 }

/** Writes the libvirt domain XML of a VM.
 *
 *  @spec gives the name, UUID (used when well formed), memory (KiB, 1 GiB when
 *  unknown), vCPUs (and topology), firmware, CD-ROM drives (one empty SATA or
 *  IDE drive each) and NICs (MAC kept, model virtio, attached per the network
 *  map).  @id may be NULL; when given, its type (Windows: Hyper-V
 *  enlightenments, local clock, VGA), architecture and firmware are used.
 *  @disk_paths (@n_disks entries, at least one) are the converted disks, in
 *  boot order: the first one gets boot order 1.  @opts may be NULL for
 *  defaults.  Every value is escaped by libxml2; a disk path, network or bridge
 *  name that is not valid UTF-8 or holds control characters is refused.
 *
 *  On success the caller owns *xml_out (free()).  Errors: H2K_ERR_INVALID_ARG
 *  (NULL arguments, no disks, bad option), H2K_ERR_VALIDATION (empty name,
 *  value unfit for XML), H2K_ERR_UNSUPPORTED (architecture other than x86),
 *  H2K_ERR_NO_MEMORY. */
H2K_EXTERN int h2k_domain_xml(h2k_ctx *ctx, const h2k_vm_spec *spec,
                              const h2k_guest_identity *id, const char *const *disk_paths,
                              size_t n_disks, const h2k_domain_options *opts, char **xml_out);

/** Writes @xml to @path atomically: a temporary file beside it, fsync, then
 *  rename over @path (mode 0600, whatever the umask).  Errors: H2K_ERR_INVALID_ARG, H2K_ERR_IO,
 *  H2K_ERR_NOT_FOUND (missing folder). */
H2K_EXTERN int h2k_output_write_file(h2k_ctx *ctx, const char *path, const char *xml);

/** Defines @xml persistently in the libvirt daemon at @uri ("qemu:///system",
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
 *  Errors: H2K_ERR_CONNECTION (cannot connect; the message names @uri),
 *  H2K_ERR_AUTHENTICATION, H2K_ERR_VALIDATION (libvirt refused the XML; its
 *  message is kept), H2K_ERR_EXISTS (a domain with that name or UUID exists),
 *  H2K_ERR_GENERIC (other libvirt failures), H2K_ERR_INVALID_ARG. */
H2K_EXTERN int h2k_output_define(h2k_ctx *ctx, const char *uri, const char *xml,
                                 char **name_out);

/** Replaces libvirt's process-wide error handler (which prints every libvirt
 *  error on stderr) by one that prints nothing.  For programs, such as the
 *  hyper2kvm CLI, that report errors through h2k_ctx_last_error() alone.
 *  Affects the whole process: libraries should leave this to the application. */
H2K_EXTERN void h2k_output_quiet_libvirt_stderr(void);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_OUTPUT_H */
