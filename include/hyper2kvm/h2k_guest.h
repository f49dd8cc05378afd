/**
 * @file hyper2kvm/h2k_guest.h
 * @brief guest operating system detection (mid-level API).
 *
 * h2k_guest_detect_dir() reads a mounted guest file system directly;
 * h2k_guest_detect_image() inspects disk images with libguestfs (all disks of
 * a VM in one appliance launch).  Both fill an h2k_guest_identity.
 *
 * Concurrency: a detector follows its context (one thread at a time); the
 * detect calls do not change it.  Detectors on different contexts may run in
 * parallel threads (each image inspection launches its own appliance).
 */
#ifndef HYPER2KVM_H2K_GUEST_H
#define HYPER2KVM_H2K_GUEST_H

#include "h2k_common.h"
#include "h2k_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The kind of guest operating system. */
typedef enum h2k_guest_type {
    H2K_GUEST_UNKNOWN = 0,
    H2K_GUEST_LINUX = 1,
    H2K_GUEST_WINDOWS = 2
} h2k_guest_type;

/** Name of a guest type ("linux", "windows", "unknown").  Static.
 *  @param type  the guest type
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_guest_type_name(h2k_guest_type type);

/** An installed kernel. */
typedef struct h2k_guest_kernel {
    char *version;         /**< "6.1.0-18-amd64" */
    char *kernel_path;     /**< "/boot/vmlinuz-6.1.0-18-amd64" */
    char *initrd_path;     /**< "/boot/initrd.img-6.1.0-18-amd64", or NULL when missing */
    int has_virtio_blk;    /**< 1 when the module is installed (or built in) */
    int has_virtio_scsi;   /**< 1 when virtio_scsi is installed (or built in) */
    int has_virtio_net;    /**< 1 when virtio_net is installed (or built in) */
    int has_virtio_pci;    /**< 1 when virtio_pci is installed (or built in) */
    int initrd_has_virtio; /**< 1 when the initramfs holds virtio_blk (or it is built in),
                                0 when it does not, -1 when not checked */
} h2k_guest_kernel;

/** A file system the guest mounts. */
typedef struct h2k_guest_mount {
    char *mountpoint; /**< "/", "/boot", ... */
    char *device;     /**< device as the inspection names it ("/dev/sda1", "/dev/vg/root") */
} h2k_guest_mount;

/** A network adapter of a Windows guest, from the current control set's
 *  `Services\\Tcpip\\Parameters\\Interfaces\\{GUID}` and the network class entry
 *  (`Control\\Class\\{4D36E972-...}\\NNNN`) naming the same GUID. */
typedef struct h2k_win_adapter {
    char *guid;         /**< interface GUID, "{6C6F...}" (NetCfgInstanceId) */
    char *description;  /**< the adapter's DriverDesc ("vmxnet3 Ethernet Adapter"), or NULL */
    int dhcp;           /**< 1: DHCP (EnableDHCP=1), 0: static */
    size_t n_addresses; /**< number of entries in addresses and prefixes */
    char **addresses;   /**< static IPv4 addresses (IPAddress), none for DHCP */
    int *prefixes;      /**< prefix length of each address (from SubnetMask) */
    char *gateway;      /**< first DefaultGateway, or NULL */
    size_t n_dns;       /**< number of entries in dns */
    char **dns;         /**< NameServer entries (static DNS servers) */
} h2k_win_adapter;

/** What only a Windows guest has (h2k_guest_identity.windows).  Strings owned. */
typedef struct h2k_windows_info {
    char *product_name;      /**< ProductName, "Windows Server 2022 Standard" */
    int major_version;       /**< 6 for Windows 7/8/8.1, 10 for 10/11/2016-2025 */
    int minor_version;       /**< 1 for Windows 7, 2 for 8, 3 for 8.1, 0 for 10 and later */
    int build;               /**< CurrentBuild, 0 when absent (Windows 7 registries may lack it) */
    int server;              /**< 1: server (InstallationType "Server"/"Server Core"), 0: client */
    char *installation_type; /**< "Client", "Server", "Server Core", or NULL */
    char *edition;           /**< EditionID ("ServerStandard", "Professional"), or NULL */
    char *os_short;          /**< virtio-win's short name: "w7", "w10", "w11", "2k19", "2k22"... */
    char *arch;              /**< virtio-win's architecture folder: "amd64" or "x86" */
    char *system_root;       /**< guest path of %SystemRoot% ("/Windows") */
    char *current_control_set; /**< "ControlSet001" (from `Select\\Current`) */
    size_t n_drives;           /**< number of entries in drive_letters and drive_devices */
    char **drive_letters;      /**< "C", "D"... (from MountedDevices) */
    char **drive_devices;      /**< the partition of each letter ("/dev/sda2"), resolved from the
                                    MBR disk signature and offset or the GPT partition GUID;
                                    NULL when it is on no disk of this VM */
    int hibernated;            /**< 1 when hiberfil.sys holds a hibernation image (hibernated, or
                                    shut down with Fast Startup): the guest cannot be changed */
    int fast_startup;          /**< 1 when Fast Startup is on (`Power\\HiberbootEnabled`=1) */
    int vmware_tools;          /**< 1 when VMware Tools is in the Uninstall key */
    char *vmware_tools_product_code; /**< its MSI product code "{GUID}", or NULL */
    size_t n_adapters;               /**< number of entries in adapters */
    h2k_win_adapter *adapters;       /**< the network adapters (array of n_adapters), owned */
} h2k_windows_info;

/** What a guest is.  Every string is owned by the identity. */
typedef struct h2k_guest_identity {
    h2k_guest_type type;       /**< Linux, Windows or unknown */
    char *os_id;               /**< "debian", "rhel", "ubuntu", "sles", "windows"... */
    char *os_version;          /**< "12", "9.3", "22.04"... */
    char *os_pretty;           /**< "Debian GNU/Linux 12 (bookworm)" */
    char *distro_family;       /**< "debian", "redhat", "suse", "arch", "windows", or NULL */
    int major_version;         /**< OS major version, 0 if unknown */
    int minor_version;         /**< OS minor version, 0 if unknown */
    char *architecture;        /**< "x86_64", "i386", "aarch64" */
    h2k_firmware firmware;     /**< from the partition table (ESP) and the source metadata */
    char *init_system;         /**< "systemd", "upstart", "sysv", or NULL */
    char *package_manager;     /**< "apt", "dnf", "yum", "zypper", "pacman", or NULL */
    char *hostname;            /**< the guest's host name, or NULL */
    char *root_device;         /**< the root file system's device */
    size_t n_mounts;           /**< number of entries in mounts */
    h2k_guest_mount *mounts;   /**< the file systems the guest mounts */
    size_t n_kernels;          /**< number of entries in kernels */
    h2k_guest_kernel *kernels; /**< the installed kernels */
    int vmware_tools;     /**< 1 when VMware tools (open-vm-tools or vmware-tools) are installed */
    char *selinux;        /**< "enforcing", "permissive", "disabled", or NULL */
    char *network_config; /**< network stack found: "ifupdown", "netplan", "NetworkManager",
                               "ifcfg", "wicked", "systemd-networkd" (comma-separated) */
    /** Windows facts (registry, hibernation file, drive letters); NULL for
     *  other guests and for detection from a directory. */
    h2k_windows_info *windows;
} h2k_guest_identity;

/** Frees an identity.  NULL is allowed.
 *  @param id  the guest identity */
H2K_EXTERN void h2k_guest_identity_free(h2k_guest_identity *id);

/** The identity as a JSON object (snake_case keys).  Caller frees with free().
 *  @param id  the guest identity
 *  @return the text (the caller frees it with free()), or NULL on allocation failure */
H2K_EXTERN char *h2k_guest_identity_to_json(const h2k_guest_identity *id);

/** The seed's GuestDetector.  Today it holds only its context: it exists so that
 *  programs (and bindings) written against the seed's classes map one to one,
 *  and so that options a detector will carry come without an API change.  The
 *  detect calls do not change it; same concurrency as its context. */
typedef struct h2k_guest_detector h2k_guest_detector;

/** Creates a detector bound to @p ctx (which must outlive it).  Caller frees
 *  with h2k_guest_detector_free().
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_guest_detector_new(h2k_ctx *ctx, h2k_guest_detector **out);

/** Frees a detector.  NULL is allowed.
 *  @param det  the detector */
H2K_EXTERN void h2k_guest_detector_free(h2k_guest_detector *det);

/** Detects the guest in a mounted (or unpacked) root file system, from its
 *  files alone: os-release, redhat-release, SuSE-release, debian_version,
 *  lsb-release, the init system and the package manager.  No libguestfs.
 *  Caller owns *out.  H2K_ERR_GUEST_DETECTION when nothing identifies an OS.
 *  @param det  the detector
 *  @param root_dir  the guest's root folder
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_guest_detect_dir(const h2k_guest_detector *det, const char *root_dir,
                                    h2k_guest_identity **out);

/** Inspects the disk images of one VM with libguestfs (read-only, one appliance
 *  launch for all of them).  @p formats may be NULL (probed) or give each disk's
 *  format name.  A disk with no OS, several OSes (multi-boot) or an unknown OS is
 *  H2K_ERR_GUEST_DETECTION.  Caller owns *out.
 *  @param det  the detector
 *  @param disks  the disk image paths, in the VM's order
 *  @param formats  each disk's format name, or NULL to probe them
 *  @param n_disks  number of disks
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_guest_detect_image(const h2k_guest_detector *det, const char *const *disks,
                                      const char *const *formats, size_t n_disks,
                                      h2k_guest_identity **out);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_GUEST_H */
