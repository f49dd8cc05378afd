/*
 * hyper2kvm: the Azure client (Azure Resource Manager + managed disk export).
 *
 * Talks the Azure Resource Manager REST API over HTTPS with libcurl and json-c:
 * it gets an OAuth2 token (client credentials of a service principal, or a
 * managed identity), lists the VMs of a resource group, describes one (size ->
 * vCPUs and memory, OS type, firmware, disks with their LUNs, NICs with their
 * MACs, power state) and downloads its managed disks: beginGetAccess grants a
 * read SAS URL to the page blob holding the disk as a fixed VHD; only the
 * allocated page ranges are fetched (parallel ranged GETs into a sparse local
 * file); endGetAccess revokes the grant, also after a failure or a cancel.
 *
 * ARM calls use pinned api-versions, follow 202 + Location /
 * Azure-AsyncOperation until done (honouring Retry-After), and retry 429, 500,
 * 502, 503 and 504 with back-off.  Error bodies {"error":{"code","message"}}
 * are mapped: 401/403 H2K_ERR_AUTHENTICATION, 404 H2K_ERR_NOT_FOUND,
 * 400/409 H2K_ERR_VALIDATION, others H2K_ERR_CONNECTION.
 *
 * Secrets: the client secret, the access token and every SAS URL stay in
 * memory only (wiped on free) and never reach logs, error messages, results,
 * command lines or child environments; a SAS URL is named without its query.
 * TLS peers are verified (system store, or the ca_file given) unless
 * insecure is set explicitly, which logs a warning.
 *
 * A client is used by one thread at a time (like its h2k_ctx); several
 * clients, each with its own context, may run in parallel threads.
 */
#ifndef HYPER2KVM_H2K_AZURE_H
#define HYPER2KVM_H2K_AZURE_H

#include "h2k_common.h"
#include "h2k_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct h2k_azure_client h2k_azure_client;

/** How the client authenticates. */
typedef enum h2k_azure_auth {
    H2K_AZURE_AUTH_CLIENT_SECRET = 0,   /**< service principal: tenant, client id, secret */
    H2K_AZURE_AUTH_MANAGED_IDENTITY = 1 /**< the instance metadata service's identity */
} h2k_azure_auth;

/** What a download does with a VM that is running. */
typedef enum h2k_azure_running {
    H2K_AZURE_RUNNING_REFUSE = 0,  /**< fail with H2K_ERR_VALIDATION (default) */
    H2K_AZURE_RUNNING_SNAPSHOT = 1 /**< copy an incremental snapshot of each disk, taken
                                        for the download and deleted after it */
} h2k_azure_running;

#define H2K_AZURE_CONFIG_VERSION 1

/** Connection settings.  Initialise with H2K_AZURE_CONFIG_INIT; strings are
 *  copied by h2k_azure_client_new(). */
typedef struct h2k_azure_config {
    unsigned version;              /**< H2K_AZURE_CONFIG_VERSION */
    const char *subscription_id;   /**< subscription of the VMs (required) */
    const char *resource_group;    /**< resource group of the VMs (required) */
    const char *vm_name;           /**< default VM of h2k_azure_download_vm(), or NULL */
    h2k_azure_auth auth;           /**< client secret (default) or managed identity */
    const char *tenant_id;         /**< directory (tenant) id, client-secret auth */
    const char *client_id;         /**< application (client) id; with a managed identity,
                                        selects a user-assigned identity (may be NULL) */
    const char *client_secret;     /**< secret (copied, wiped on free, never logged) */
    const char *authority_host;    /**< "https://login.microsoftonline.com" when NULL */
    const char *resource_manager;  /**< "https://management.azure.com" when NULL */
    const char *identity_endpoint; /**< managed identity token URL; NULL: the instance
                                        metadata service (169.254.169.254) */
    const char *ca_file;           /**< PEM bundle of trusted CAs, or NULL for the system store */
    int insecure;                  /**< explicit opt-in: do not verify certificates (warns) */
    unsigned timeout_seconds;      /**< connect / request timeout, longest stall of a
                                        transfer; 0 = 60 */
    unsigned max_retries;          /**< retries of a throttled or failing call; 0 = 5 */
    unsigned parallel_streams;     /**< ranged GETs at once, 1..16; 0 = 4 */
    h2k_azure_running running;     /**< policy for running VMs */
} h2k_azure_config;

#define H2K_AZURE_CONFIG_INIT                                                                      \
    {                                                                                              \
        .version = H2K_AZURE_CONFIG_VERSION                                                        \
    }

/** Checks @cfg and creates a client.  No network call is made yet: the first
 *  call that needs a token gets one (and keeps it until shortly before it expires).
 *  On success the caller owns *out and frees it with h2k_azure_client_free().
 *  Errors: H2K_ERR_INVALID_ARG (a required setting missing, naming it).
 *  @param ctx  context of every call of the client; must outlive it
 *  @param cfg  settings (copied)
 *  @param out  the new client
 *  @return 0 or a negative h2k_code */
H2K_EXTERN int h2k_azure_client_new(h2k_ctx *ctx, const h2k_azure_config *cfg,
                                    h2k_azure_client **out);

/** Wipes the secret and the token and frees the client.  NULL is allowed.
 *  @param client  the client, or NULL */
H2K_EXTERN void h2k_azure_client_free(h2k_azure_client *client);

/** Gets a token now (also a way to check the credentials).
 *  @param client  the client
 *  @return 0, H2K_ERR_AUTHENTICATION (the message carries the directory's
 *          AADSTS code and text), H2K_ERR_CONNECTION (network, TLS) */
H2K_EXTERN int h2k_azure_authenticate(h2k_azure_client *client);

/** One managed disk of a VM. */
typedef struct h2k_azure_disk {
    char *name;              /**< disk resource name */
    char *id;                /**< full resource id */
    int lun;                 /**< data disk LUN, -1 for the OS disk */
    uint64_t size_bytes;     /**< diskSizeBytes */
    char *disk_state;        /**< "Unattached", "Attached", "Reserved", "ActiveSAS", ... or NULL */
    char *hyperv_generation; /**< "V1" (BIOS), "V2" (UEFI) or NULL */
    char *os_type;           /**< "Linux", "Windows" or NULL */
} h2k_azure_disk;

/** One network interface of a VM. */
typedef struct h2k_azure_nic {
    char *name;       /**< NIC resource name */
    char *id;         /**< full resource id */
    char *mac;        /**< "00:0d:3a:.." lower case with colons, or NULL */
    char *private_ip; /**< first IP configuration's private address, or NULL */
    int primary;      /**< 1 for the VM's primary NIC */
} h2k_azure_nic;

/** A VM as Azure describes it. */
typedef struct h2k_azure_vm {
    char *name;            /**< VM resource name */
    char *id;              /**< full resource id */
    char *location;        /**< region, e.g. "westeurope" */
    char *vm_size;         /**< e.g. "Standard_D2s_v5" */
    char *os_type;         /**< "Linux", "Windows" or NULL */
    char *security_type;   /**< "TrustedLaunch", "ConfidentialVM" or NULL */
    char *power_state;     /**< "running", "deallocated", "stopped", ... or NULL when unknown */
    unsigned vcpus;        /**< of the size, 0 when unknown */
    uint64_t memory_bytes; /**< of the size, 0 when unknown */
    size_t n_disks;        /**< number of entries in disks */
    h2k_azure_disk *disks; /**< the OS disk first, then data disks by LUN */
    size_t n_nics;         /**< number of entries in nics */
    h2k_azure_nic *nics;   /**< the network interfaces (array of n_nics) */
    h2k_vm_spec *spec;     /**< the same as a spec (source_type "azure"; disk paths NULL,
                                file_ref the disk name, unit the LUN); owned */
} h2k_azure_vm;

/** Frees a VM description.  NULL is allowed.
 *  @param vm  the description, or NULL */
H2K_EXTERN void h2k_azure_vm_free(h2k_azure_vm *vm);

/** Lists the VMs of the resource group (every page), with their size,
 *  OS type and power state.  Disks and NICs are not filled in (n 0).
 *  @param client  the client
 *  @param vms     array of *n VMs; caller frees with h2k_azure_vm_list_free()
 *  @param n       number of VMs
 *  @return 0 or a negative h2k_code */
H2K_EXTERN int h2k_azure_list_vms(h2k_azure_client *client, h2k_azure_vm **vms, size_t *n);

/** Frees a list returned by h2k_azure_list_vms().  NULL is allowed.
 *  @param vms  the list, or NULL
 *  @param n    number of VMs in it */
H2K_EXTERN void h2k_azure_vm_list_free(h2k_azure_vm *vms, size_t n);

/** Describes the VM @p vm_name (NULL: the configured VM): size (vCPUs and
 *  memory from the region's size list), OS type, firmware (UEFI for a
 *  hyperVGeneration V2 OS disk or a TrustedLaunch / ConfidentialVM security
 *  type, with secure boot when the VM's UEFI settings enable it), every
 *  managed disk, every NIC with its MAC, the power state.
 *  Errors: H2K_ERR_NOT_FOUND (no such VM: the message names it and the group).
 *  @param client   the client
 *  @param vm_name  name of the VM, or NULL for the configured one
 *  @param out      receives the description
 *  @return 0 or a negative h2k_code; the caller owns *out (h2k_azure_vm_free()) */
H2K_EXTERN int h2k_azure_describe_vm(h2k_azure_client *client, const char *vm_name,
                                     h2k_azure_vm **out);

/** Result of a download.  Free with h2k_azure_download_result_free(). */
typedef struct h2k_azure_download_result {
    char *vm_name;             /**< name of the VM downloaded */
    char *output_dir;          /**< absolute path of the folder written */
    size_t n_disks;            /**< number of entries in disk_paths */
    char **disk_paths;         /**< OUTPUT_DIR/\<disk name>.vhd, fixed VHDs, OS disk first */
    h2k_azure_vm *vm;          /**< the description; spec disks carry the local paths */
    uint64_t disk_bytes;       /**< sum of the blobs' sizes */
    uint64_t allocated_bytes;  /**< sum of their allocated page ranges */
    uint64_t bytes_downloaded; /**< bytes received in this call */
    uint64_t bytes_resumed;    /**< allocated bytes kept from an interrupted download */
    int used_snapshot;         /**< 1 when snapshots were copied instead of the disks */
} h2k_azure_download_result;

/** Downloads every managed disk of @p vm_name (NULL: the configured VM) into
 *  @p output_dir (created if missing).  For each disk: beginGetAccess (or, for a
 *  running VM with policy H2K_AZURE_RUNNING_SNAPSHOT, an incremental snapshot
 *  and its grant), HEAD for the size, Get Page Ranges, the allocated ranges
 *  fetched with parallel ranged GETs into "NAME.vhd.part" (sparse), checked
 *  (length, VHD footer of a fixed disk of that size) and renamed to
 *  "NAME.vhd"; endGetAccess (and the snapshot's deletion) always follows,
 *  also on failure and cancel.  An interrupted download keeps
 *  "NAME.vhd.part" and its progress file "NAME.vhd.part.state": the next
 *  call for the same, unchanged disk fetches only what is missing.
 *  Errors: H2K_ERR_VALIDATION for a running VM (the message names the policy
 *  that allows a snapshot copy), H2K_ERR_EXISTS when NAME.vhd exists,
 *  H2K_ERR_FORMAT for a blob that is not a fixed VHD, H2K_ERR_CANCELLED.
 *  Progress: the context's callback, stage "download" (bytes).
 *  @param client      the client
 *  @param vm_name     name of the VM, or NULL for the configured one
 *  @param output_dir  folder the disks are written to
 *  @param out         receives the result (h2k_azure_download_result_free()), or NULL
 *  @return 0 or a negative h2k_code; the caller owns *out (may be NULL) */
H2K_EXTERN int h2k_azure_download_vm(h2k_azure_client *client, const char *vm_name,
                                     const char *output_dir, h2k_azure_download_result **out);

/** Frees a download result.  NULL is allowed.
 *  @param res  the result, or NULL */
H2K_EXTERN void h2k_azure_download_result_free(h2k_azure_download_result *res);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_AZURE_H */
