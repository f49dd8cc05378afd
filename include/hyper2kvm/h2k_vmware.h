/**
 * @file hyper2kvm/h2k_vmware.h
 * @brief the vSphere client (vCenter Server or a standalone ESXi host).
 *
 * Talks the vSphere Web Services API (vim25 SOAP over HTTPS) with libcurl and
 * libxml2: it logs in, lists and describes virtual machines through the
 * PropertyCollector, and exports a VM's disks to a local folder by one of
 * three transports:
 *
 *  - "http": the datastore file service (https://HOST/folder/PATH?dcPath=..&dsName=..),
 *    the disk descriptor and every extent it names, in parallel, resuming
 *    partial downloads with HTTP Range requests;
 *  - "nfc":  ExportVm -> HttpNfcLease: streamOptimized VMDKs, checked against
 *    the lease manifest (SHA-1 and size);
 *  - "vddk": nbdkit's vddk plugin, when VMware's VDDK library is available.
 *
 * A client is used by one thread at a time (like its h2k_ctx); several
 * clients, each with its own context, may run in parallel threads.
 *
 * The password is kept in memory only, wiped when the client is freed, and
 * never written to logs, error messages, command lines or results.
 */
#ifndef HYPER2KVM_H2K_VMWARE_H
#define HYPER2KVM_H2K_VMWARE_H

#include "h2k_common.h"
#include "h2k_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A logged-in session with a vCenter Server or ESXi host (see the file
 *  comment for concurrency). */
typedef struct h2k_vmware_client h2k_vmware_client;

/** What an export does with a powered-on VM. */
typedef enum h2k_vmware_powered_on {
    H2K_VMWARE_POWERED_ON_REFUSE = 0,  /**< fail with H2K_ERR_VALIDATION (default) */
    H2K_VMWARE_POWERED_ON_SNAPSHOT = 1 /**< take a snapshot and copy its (frozen) disks;
                                            "http" and "vddk" transports only */
} h2k_vmware_powered_on;

/** The newest version of h2k_vmware_options (1). */
#define H2K_VMWARE_OPTIONS_VERSION 1

/** Connection options.  Initialise with H2K_VMWARE_OPTIONS_INIT or
 *  h2k_vmware_options_init(); fields are only ever added at the end.  Strings
 *  are copied by h2k_vmware_client_new(). */
typedef struct h2k_vmware_options {
    unsigned version;          /**< H2K_VMWARE_OPTIONS_VERSION */
    const char *host;          /**< "vcenter.example.com", "host:port" or "[v6addr]:port" */
    const char *user;          /**< user name, e.g. "administrator@vsphere.local" */
    const char *password;      /**< password (copied, wiped on free, never logged) */
    const char *datacenter;    /**< restrict to this datacenter, or NULL for all */
    int insecure;              /**< explicit opt-in: do not verify the server certificate
                                    (a warning is logged) */
    const char *ca_file;       /**< PEM bundle of trusted CAs, or NULL for the system store */
    const char *thumbprint;    /**< pin the server certificate: SHA-1 or SHA-256 of its DER
                                    form as hex pairs "AA:BB:..." (colons optional); replaces
                                    CA and host name verification */
    unsigned timeout_seconds;  /**< connect / SOAP call timeout, and the longest stall of a
                                    download; 0 = 60 */
    unsigned max_objects;      /**< PropertyCollector page size (maxObjects); 0 = 100 */
    unsigned parallel_streams; /**< parallel file downloads, 1..16; 0 = 4 */
    h2k_vmware_powered_on powered_on; /**< policy for powered-on VMs on export */
    int keep_snapshot;       /**< keep the snapshot taken for an export (default: removed) */
    const char *vddk_libdir; /**< VDDK library directory ("vddk" transport), or NULL */
} h2k_vmware_options;

/** Defaults of h2k_vmware_options: certificate verified, 60 s, 4 streams, powered-on VMs refused.
 */
#define H2K_VMWARE_OPTIONS_INIT                                                                    \
    {                                                                                              \
        .version = H2K_VMWARE_OPTIONS_VERSION, .host = NULL, .user = NULL, .password = NULL,       \
        .datacenter = NULL, .insecure = 0, .ca_file = NULL, .thumbprint = NULL,                    \
        .timeout_seconds = 0, .max_objects = 0, .parallel_streams = 0,                             \
        .powered_on = H2K_VMWARE_POWERED_ON_REFUSE, .keep_snapshot = 0, .vddk_libdir = NULL        \
    }

/** Fills @p opts with the defaults of H2K_VMWARE_OPTIONS_INIT, as the struct was in
 *  @p version (only that version's fields are written).  For callers that cannot
 *  use the macro (other languages).
 *  @param opts     the struct to fill
 *  @param version  1..H2K_VMWARE_OPTIONS_VERSION
 *  @return 0, or H2K_ERR_INVALID_ARG when @p opts is NULL or @p version is not
 *          known (then only opts->version is set, and the call it is passed to
 *          fails naming the struct and the version). */
H2K_EXTERN int h2k_vmware_options_init(h2k_vmware_options *opts, unsigned version);

/** Connects to @p o->host: checks the certificate (CA store, @p o->ca_file,
 *  @p o->thumbprint or, when @p o->insecure, nothing), retrieves the service
 *  content and logs in (the session cookie stays in the client).
 *  On success the caller owns *out and frees it with h2k_vmware_client_free().
 *  Errors: H2K_ERR_INVALID_ARG (bad options), H2K_ERR_CONNECTION (network, TLS:
 *  the message names the host and how to trust it), H2K_ERR_AUTHENTICATION
 *  (login refused).  Messages name the host and the SOAP method, never the password.
 *  @p ctx must outlive the client.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param o  the options
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_vmware_client_new(h2k_ctx *ctx, const h2k_vmware_options *o,
                                     h2k_vmware_client **out);

/** Logs out, wipes the password and frees the client.  NULL is allowed.
 *  @param client  the vSphere client */
H2K_EXTERN void h2k_vmware_client_free(h2k_vmware_client *client);

/** The server's API type: "VirtualCenter" or "HostAgent" (ESXi).  Owned by the client.
 *  @param client  the vSphere client
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_vmware_client_api_type(const h2k_vmware_client *client);

/** One VM of the inventory. */
typedef struct h2k_vmware_vm_info {
    char *name;        /**< display name */
    char *power_state; /**< "poweredOn", "poweredOff" or "suspended" */
    char *uuid;        /**< BIOS UUID (config.uuid), or NULL */
    char *path;        /**< configuration file, "[datastore] folder/vm.vmx", or NULL */
    char *moref;       /**< managed object id, e.g. "vm-42" */
} h2k_vmware_vm_info;

/** Lists every VM (of the datacenter, when one was given), in the order the
 *  server returns them, following the PropertyCollector's pages.
 *  The caller owns *vms and frees it with h2k_vmware_vm_list_free(*vms, *n).
 *  @param client  the vSphere client
 *  @param vms  receives the array (caller frees with h2k_vmware_vm_list_free())
 *  @param n  receives the number of VMs
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_vmware_list_vms(h2k_vmware_client *client, h2k_vmware_vm_info **vms, size_t *n);

/** Frees a list returned by h2k_vmware_list_vms().  NULL is allowed.
 *  @param vms  the list (NULL allowed)
 *  @param n  its length */
H2K_EXTERN void h2k_vmware_vm_list_free(h2k_vmware_vm_info *vms, size_t n);

/** Describes the VM named @p vm_name: CPUs, memory, firmware, guest id, UUID,
 *  disks (file_ref "[datastore] folder/disk.vmdk", capacity, controller model
 *  and unit; path NULL until exported), CD-ROMs and NICs (model, MAC, network
 *  or port group name).  source_type is "vsphere".  H2K_ERR_NOT_FOUND when no
 *  VM has that name, H2K_ERR_VALIDATION when several do.
 *  The caller owns *out (h2k_vm_spec_free()).
 *  @param client  the vSphere client
 *  @param vm_name  the VM's display name
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_vmware_describe(h2k_vmware_client *client, const char *vm_name,
                                   h2k_vm_spec **out);

/** Result of an export.  Free with h2k_vmware_export_result_free(). */
typedef struct h2k_vmware_export_result {
    char *vm_name;             /**< the VM exported */
    char *transport;           /**< "http", "nfc" or "vddk" */
    char *output_dir;          /**< absolute path of the folder written */
    size_t n_disks;            /**< number of entries in disks */
    char **disk_paths;         /**< local path of each disk, in the VM's order ("http": the
                                    VMDK descriptor, its extents beside it; "nfc": a
                                    streamOptimized VMDK; "vddk": a raw image) */
    char *ovf_path;            /**< OVF descriptor of what was exported, beside the disks */
    h2k_vm_spec *spec;         /**< the VM's description with local disk paths */
    uint64_t bytes_downloaded; /**< bytes received in this call */
    uint64_t bytes_resumed;    /**< bytes of partial files kept from an earlier attempt */
    int used_snapshot;         /**< 1 when a snapshot was taken for the copy */
} h2k_vmware_export_result;

/** Exports the VM named @p vm_name into @p output_dir (created if missing) with
 *  @p transport ("http", "nfc", "vddk"; NULL = "http").  Files are written as
 *  "NAME.part" and renamed when complete; "http" resumes a ".part" left by an
 *  interrupted export (HTTP Range) when the server file is unchanged.  Progress
 *  goes to the context's callback, stage "download" (bytes).  A powered-on VM
 *  is refused with H2K_ERR_VALIDATION unless the client's policy is
 *  H2K_VMWARE_POWERED_ON_SNAPSHOT.  "nfc": the lease is completed on success
 *  and aborted on any failure.  "vddk" without @c o->vddk_libdir or nbdkit's vddk
 *  plugin is H2K_ERR_UNSUPPORTED naming what is missing.  Cancellation
 *  (h2k_ctx_cancel) stops the transfers and keeps the partial files.
 *  The caller owns *out (may be NULL when not wanted).
 *  @param client  the vSphere client
 *  @param vm_name  the VM's display name
 *  @param output_dir  the local folder (created if missing)
 *  @param transport  "http", "nfc" or "vddk"; NULL: "http"
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_vmware_export_vm(h2k_vmware_client *client, const char *vm_name,
                                    const char *output_dir, const char *transport,
                                    h2k_vmware_export_result **out);

/** Frees an export result.  NULL is allowed.
 *  @param res  the result (NULL allowed) */
H2K_EXTERN void h2k_vmware_export_result_free(h2k_vmware_export_result *res);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_VMWARE_H */
