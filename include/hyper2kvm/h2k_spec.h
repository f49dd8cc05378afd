/**
 * @file hyper2kvm/h2k_spec.h
 * @brief the description of a source virtual machine (h2k_vm_spec).
 *
 * Produced by the OVF, OVA and VMX readers (h2k_disk.h) and by the platform
 * providers; consumed by the orchestrator, the libvirt writer and the boot
 * testers.  All strings and arrays in a spec are owned by the spec and freed
 * with h2k_vm_spec_free().
 *
 * Growing a spec: h2k_vm_spec_add_disk(), h2k_vm_spec_add_nic() and
 * h2k_vm_spec_add_removable() append one element (allocated by the library, so
 * that h2k_vm_disk, h2k_vm_nic and h2k_vm_removable may gain fields at their
 * end in later versions).  Code that must run against a newer library than the
 * one it was built with reads the elements through h2k_vm_spec_disk_at() and
 * friends rather than by indexing the arrays.  Strings put into a spec must be
 * allocated with malloc() (the spec frees them).
 *
 * Concurrency: a spec is plain data: any number of threads may read one spec;
 * one that is being changed must not be read or changed by another thread.
 */
#ifndef HYPER2KVM_H2K_SPEC_H
#define HYPER2KVM_H2K_SPEC_H

#include "h2k_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A disk image format: of the sources (probed) and of the outputs
 *  (h2k_convert_options.output_format, h2k_run_options.output_format,
 *  h2k_domain_options.disk_format, h2k_plan_vm.output_format).  Names:
 *  h2k_disk_format_name() and h2k_disk_format_from_name() (h2k_disk.h).
 *  Values are only ever appended. */
typedef enum h2k_disk_format {
    H2K_FORMAT_UNKNOWN = 0,
    H2K_FORMAT_RAW = 1,
    H2K_FORMAT_VMDK = 2,
    H2K_FORMAT_VHD = 3,
    H2K_FORMAT_VHDX = 4,
    H2K_FORMAT_QCOW2 = 5
} h2k_disk_format;

/** The firmware a VM boots with.  Values are only ever appended. */
typedef enum h2k_firmware {
    H2K_FIRMWARE_UNKNOWN = 0,
    H2K_FIRMWARE_BIOS = 1,
    H2K_FIRMWARE_UEFI = 2
} h2k_firmware;

/** A disk controller (bus).  The one bus enum of the API: the source VM's
 *  controllers (h2k_vm_disk.bus), the bus of a boot test
 *  (h2k_boot_test_options.bus) and of the written domain
 *  (h2k_domain_options.disk_bus).  On KVM, H2K_BUS_SCSI is virtio-scsi.
 *  Values are only ever appended. */
typedef enum h2k_bus {
    H2K_BUS_UNKNOWN = 0,
    H2K_BUS_IDE = 1,
    H2K_BUS_SATA = 2,
    H2K_BUS_SCSI = 3,
    H2K_BUS_NVME = 4,
    H2K_BUS_VIRTIO = 5,
    H2K_BUS_FLOPPY = 6
} h2k_bus;

/** One hard disk of the VM. */
typedef struct h2k_vm_disk {
    char *path;     /**< local path of the disk file, resolved against the
                         descriptor's folder; NULL when unknown */
    char *file_ref; /**< the name as the descriptor records it */
    h2k_bus bus;    /**< controller type */
    char
        *controller_model; /**< "pvscsi", "lsilogic", "lsisas1068", "buslogic", "ahci"... or NULL */
    int controller_index;  /**< controller number (scsiN), -1 if unknown */
    int unit;              /**< unit/slot on the controller, -1 if unknown */
    uint64_t capacity;     /**< virtual size in bytes, 0 if unknown */
    uint64_t populated_size;   /**< bytes of data (OVF populatedSize), 0 if unknown */
    char *format_hint;         /**< e.g. "vmdk-streamOptimized" from the OVF format URI, or NULL */
    char *compression;         /**< OVF File compression ("gzip"), or NULL */
    char *container_path;      /**< OVA holding the disk when read in place, or NULL */
    uint64_t container_offset; /**< byte offset of the disk inside container_path */
    uint64_t container_size;   /**< byte size of the disk inside container_path */
} h2k_vm_disk;

/** A CD-ROM or floppy drive. */
typedef struct h2k_vm_removable {
    char *kind;  /**< "cdrom" or "floppy" */
    h2k_bus bus; /**< H2K_BUS_IDE, H2K_BUS_SATA, H2K_BUS_SCSI or H2K_BUS_FLOPPY */
    int slot;    /**< slot number as virt-v2v counts it (ide0:0 = 0, ide1:0 = 2), -1 if unknown */
    char *path;  /**< image file name, or NULL */
} h2k_vm_removable;

/** A network interface. */
typedef struct h2k_vm_nic {
    char *mac;     /**< "00:50:56:..." lower case, or NULL when generated later */
    char *network; /**< network or port group name, or NULL */
    int is_bridge; /**< 1 when @c network names a bridge/port group (OVF), 0 for a network */
    char *model;   /**< "vmxnet3", "e1000", "e1000e", "vlance", ... or NULL */
} h2k_vm_nic;

/** The source VM. */
typedef struct h2k_vm_spec {
    char *name;                /**< display name */
    char *uuid;                /**< BIOS UUID if known, or NULL */
    char *source_type;         /**< "ovf", "ova", "vmx", "vsphere", ... */
    char *source_path;         /**< descriptor file, or NULL */
    uint64_t memory_bytes;     /**< memory size in bytes, 0 if unknown */
    unsigned vcpus;            /**< number of virtual CPUs, 0 if unknown */
    unsigned cores_per_socket; /**< 0 if unknown */
    h2k_firmware firmware;     /**< BIOS, UEFI or unknown */
    int secure_boot;           /**< 1 when UEFI secure boot is enabled */
    char *os_type;             /**< VMware guestOS id or OVF osType, or NULL */
    size_t n_disks;            /**< number of entries in disks */
    h2k_vm_disk *disks; /**< the hard disks, in the VM's order (grow with h2k_vm_spec_add_disk()) */
    size_t n_removables; /**< number of entries in removables */
    h2k_vm_removable
        *removables;  /**< CD-ROM and floppy drives (grow with h2k_vm_spec_add_removable()) */
    size_t n_nics;    /**< number of entries in nics */
    h2k_vm_nic *nics; /**< network interfaces (grow with h2k_vm_spec_add_nic()) */
    int vtpm;         /**< 1 when the source VM has a virtual TPM (VMX vtpm.present,
                           vSphere VirtualTPM device); its contents are not carried */
} h2k_vm_spec;

/** Allocates an empty spec (all counts 0, unknown values).  Caller frees with
 *  h2k_vm_spec_free().  Returns NULL on allocation failure.
 *  @return the new spec, or NULL */
H2K_EXTERN h2k_vm_spec *h2k_vm_spec_new(void);

/** Frees a spec and everything in it.  NULL is allowed.
 *  @param spec  the VM description */
H2K_EXTERN void h2k_vm_spec_free(h2k_vm_spec *spec);

/** Appends an empty disk to @p spec: every field zero or NULL, bus
 *  H2K_BUS_UNKNOWN, controller_index and unit -1.
 *  @param spec  the spec
 *  @param out   receives the new disk (owned by the spec; valid until the next
 *               h2k_vm_spec_add_disk() on it or h2k_vm_spec_free()), or NULL
 *  @return 0, H2K_ERR_INVALID_ARG (NULL @p spec) or H2K_ERR_NO_MEMORY (the spec
 *          is then unchanged) */
H2K_EXTERN int h2k_vm_spec_add_disk(h2k_vm_spec *spec, h2k_vm_disk **out);

/** Appends an empty CD-ROM or floppy drive (bus H2K_BUS_UNKNOWN, slot -1).
 *  @param spec  the spec
 *  @param out   receives the new drive (owned by the spec; valid until the next
 *               h2k_vm_spec_add_removable() on it or h2k_vm_spec_free()), or NULL
 *  @return 0, H2K_ERR_INVALID_ARG or H2K_ERR_NO_MEMORY (the spec is then unchanged) */
H2K_EXTERN int h2k_vm_spec_add_removable(h2k_vm_spec *spec, h2k_vm_removable **out);

/** Appends an empty network interface (every field zero or NULL).
 *  @param spec  the spec
 *  @param out   receives the new NIC (owned by the spec; valid until the next
 *               h2k_vm_spec_add_nic() on it or h2k_vm_spec_free()), or NULL
 *  @return 0, H2K_ERR_INVALID_ARG or H2K_ERR_NO_MEMORY (the spec is then unchanged) */
H2K_EXTERN int h2k_vm_spec_add_nic(h2k_vm_spec *spec, h2k_vm_nic **out);

/** Disk @p i of @p spec.
 *  @param spec  the spec (NULL allowed)
 *  @param i     0-based index
 *  @return the disk, owned by the spec, or NULL when @p i is out of range */
H2K_EXTERN const h2k_vm_disk *h2k_vm_spec_disk_at(const h2k_vm_spec *spec, size_t i);

/** Removable drive @p i of @p spec.
 *  @param spec  the spec (NULL allowed)
 *  @param i     0-based index
 *  @return the drive, owned by the spec, or NULL when @p i is out of range */
H2K_EXTERN const h2k_vm_removable *h2k_vm_spec_removable_at(const h2k_vm_spec *spec, size_t i);

/** NIC @p i of @p spec.
 *  @param spec  the spec (NULL allowed)
 *  @param i     0-based index
 *  @return the NIC, owned by the spec, or NULL when @p i is out of range */
H2K_EXTERN const h2k_vm_nic *h2k_vm_spec_nic_at(const h2k_vm_spec *spec, size_t i);

/** Name of a bus ("ide", "sata", "scsi", "nvme", "virtio", "floppy", "unknown"). Static.
 *  @param bus  the bus
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_bus_name(h2k_bus bus);

/** Parses a bus name as h2k_bus_name() spells it ("ide", "sata", "scsi", "nvme",
 *  "virtio", "floppy").
 *  @param name  the name, or NULL
 *  @return the h2k_bus, or -1 when @p name is NULL or unknown ("unknown" included) */
H2K_EXTERN int h2k_bus_from_name(const char *name);

/** Name of a firmware ("bios", "uefi", "unknown").  Static.
 *  @param fw  the firmware
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_firmware_name(h2k_firmware fw);

/** The spec as a JSON object (snake_case keys).  Caller frees with free();
 *  NULL on allocation failure.
 *  @param spec  the VM description
 *  @return the text (the caller frees it with free()), or NULL on allocation failure */
H2K_EXTERN char *h2k_vm_spec_to_json(const h2k_vm_spec *spec);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_SPEC_H */
