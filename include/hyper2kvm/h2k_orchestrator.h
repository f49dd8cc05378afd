/**
 * @file hyper2kvm/h2k_orchestrator.h
 * @brief the orchestrator (high-level API).  One call migrates one VM:
 *
 *   inputs (disks, .ova, .ovf, .vmx) -> h2k_vm_spec -> probe every disk ->
 *   qcow2 overlays in a private work folder (the sources are never written) ->
 *   offline repairs in ONE appliance -> trim -> copy to OUTPUT_DIR/\<name>-diskN.\<fmt>
 *   -> libvirt XML -> optional define -> optional boot test -> report.
 *
 * The source may also be a VM on vSphere (h2k_run_options.vmware): the VM is
 * first exported with h2k_vmware_export_vm() into a staging folder under
 * OUTPUT_DIR, then goes through the same pipeline with the VM's description
 * (name, firmware, NICs and their MACs) from the server.
 *
 * Stages, as named in progress events and in h2k_error.stage: "export" (vSphere
 * sources; its transfers report progress as "download"), "probe", "fix",
 * "trim", "copy", "xml", "define", "boot", "report".
 *
 * A batch runs the migrations of a plan file (JSON or YAML) with bounded parallelism
 * and a state file, updated atomically after each VM, so that an interrupted
 * batch resumes without redoing finished VMs.
 *
 * Concurrency: h2k_orchestrator_run() uses its context alone: migrations on
 * different contexts may run in parallel threads (h2k_batch_run() does so).
 * h2k_ctx_cancel() may come from any thread.  Plans, states and results are
 * plain data: readable from several threads at once, changed by one.
 */
#ifndef HYPER2KVM_H2K_ORCHESTRATOR_H
#define HYPER2KVM_H2K_ORCHESTRATOR_H

#include <stddef.h>
#include <stdint.h>

#include "h2k_common.h"
#include "h2k_output.h"
#include "h2k_spec.h"
#include "h2k_test.h"
#include "h2k_vmware.h"
#include "h2k_azure.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The newest version of h2k_run_options: 1 (up to trim), 2 (the vSphere source,
 *  vmware .. keep_export), 3 (input_format, output_mode), 4 (virtio_win), 5 (the
 *  Azure source, azure and azure_vm).  Every older version is still accepted (an
 *  older struct is read only up to its last field). */
#define H2K_RUN_OPTIONS_VERSION 5

/** Options of h2k_orchestrator_run().  Initialise with H2K_RUN_OPTIONS_INIT;
 *  every pointer is borrowed for the duration of the call.  Give either
 *  inputs or a vSphere source (vmware and vmware_vm), not both.  Fields are
 *  only ever added at the end. */
typedef struct h2k_run_options {
    unsigned version;              /**< H2K_RUN_OPTIONS_VERSION */
    const char *const *inputs;     /**< disk images, or one .ova/.ovf/.vmx */
    size_t n_inputs;               /**< number of entries in inputs */
    const char *output_dir;        /**< created if missing (not needed for dry runs) */
    const char *name;              /**< VM name; NULL: the descriptor's, or the first file's */
    h2k_disk_format output_format; /**< H2K_FORMAT_QCOW2 (also H2K_FORMAT_UNKNOWN, the
                                        default) or H2K_FORMAT_RAW */
    int compress;                  /**< zstd-compressed qcow2 */
    unsigned fixes;                /**< h2k_fix_kind bits (default H2K_FIX_ALL); 0: no
                                        repair and no appliance */
    int dry_run;                   /**< repairs computed, nothing written but the report */
    int keep_mac;                  /**< the KVM guest keeps the source MACs (default 1) */
    const char *const *nic_macs;   /**< NIC MACs for a spec synthesised from bare disks */
    size_t n_nic_macs;             /**< number of entries in nic_macs */
    const h2k_network_mapping *network_map; /**< for the XML; may be NULL */
    size_t n_network_map;                   /**< number of entries in network_map */
    int test_boot;           /**< boot the first output disk (qemu, marker proof); a VM
                                  with a NIC must also bring an address up on it.  A
                                  single-disk Linux guest gets the probe from the repair
                                  stage's appliance (no second launch) and boots an
                                  overlay of the repaired disk the output was copied
                                  from; the output never holds the probe.  When
                                  the proof fails the guest's serial console is
                                  kept as OUTPUT_DIR/\<name>.boot-console.log
                                  (0600, h2k_boot_result.console_log_path) */
    unsigned boot_timeout;   /**< seconds; 0: 600 */
    const char *define_uri;  /**< define the domain at this libvirt URI, or NULL */
    const char *report_path; /**< JSON report path; NULL: OUTPUT_DIR/\<name>.report.json
                                  (Markdown beside it, extension .md) */
    int keep_partial;        /**< on failure keep the outputs already finalised */
    const char *backend;     /**< "native" (NULL) or "virt-v2v" */
    unsigned copy_threads;   /**< disks copied at once; 0: 2 */
    int trim;                /**< fstrim before the copy (default 1) */
    /* version 2 */
    h2k_vmware_client *vmware; /**< (version 2) export the VM from this vSphere client (used by this
                                    call only; its context is borrowed for the export, so
                                    errors, progress and cancellation are @c ctx's) */
    const char *vmware_vm;     /**< (version 2) name of the VM on the server (with vmware) */
    const char *vmware_transport; /**< (version 2) "http" (NULL), "nfc" or "vddk" */
    int keep_export; /**< (version 2) keep the staging folder OUTPUT_DIR/.\<name>.export (the
                          exported files; default: removed when the run ends) */
    /* version 3 */
    const char *input_format; /**< format of every input disk ("raw", "vmdk", "vhd", "vhdx",
                                   "qcow2"), or NULL to detect it.  A disk whose name, descriptor
                                   or container claims VMDK/VHD/VHDX/qcow2 but whose content has
                                   no such signature is refused unless this says "raw". */
    unsigned output_mode;     /**< permission bits of the disks, report and XML written
                                   (e.g. 0640); 0 (default): 0600.  Never wider than the
                                   source's, whatever the umask. */
    /* version 4 */
    const char *virtio_win; /**< Windows guests: virtio-win ISO or folder (see
                                 h2k_fix_options.virtio_win); NULL: /usr/share/virtio-win
                                 when present */
    /* version 5 */
    h2k_azure_client *azure; /**< download the VM's managed disks with this Azure client
                                  (h2k_azure_download_vm(), the run's context lent to it like
                                  a vSphere client's); not with inputs or vmware */
    const char *azure_vm;    /**< name of the VM in the client's resource group (NULL: the
                                  client's configured VM) */
} h2k_run_options;

/** Defaults of h2k_run_options: qcow2, every repair, keep MACs, trim, no boot test. */
#define H2K_RUN_OPTIONS_INIT                                                                       \
    {                                                                                              \
        .version = H2K_RUN_OPTIONS_VERSION, .inputs = NULL, .n_inputs = 0, .output_dir = NULL,     \
        .name = NULL, .output_format = H2K_FORMAT_UNKNOWN, .compress = 0, .fixes = 0x7f,           \
        .dry_run = 0, .keep_mac = 1, .nic_macs = NULL, .n_nic_macs = 0, .network_map = NULL,       \
        .n_network_map = 0, .test_boot = 0, .boot_timeout = 0, .define_uri = NULL,                 \
        .report_path = NULL, .keep_partial = 0, .backend = NULL, .copy_threads = 0, .trim = 1,     \
        .vmware = NULL, .vmware_vm = NULL, .vmware_transport = NULL, .keep_export = 0,             \
        .input_format = NULL, .output_mode = 0, .virtio_win = NULL, .azure = NULL,                 \
        .azure_vm = NULL                                                                           \
    }

/** Fills @p opts with the defaults of H2K_RUN_OPTIONS_INIT, as the struct was in
 *  @p version (only that version's fields are written).  For callers that cannot
 *  use the macro (other languages).
 *  @param opts     the struct to fill
 *  @param version  1..H2K_RUN_OPTIONS_VERSION
 *  @return 0, or H2K_ERR_INVALID_ARG when @p opts is NULL or @p version is not
 *          known (then only opts->version is set, and the call it is passed to
 *          fails naming the struct and the version). */
H2K_EXTERN int h2k_run_options_init(h2k_run_options *opts, unsigned version);

/** One output disk. */
typedef struct h2k_migration_output {
    char *source_path;     /**< the disk it came from (vSphere: "[datastore] folder/disk.vmdk") */
    char *source_format;   /**< "vmdk", "vhdx", ... */
    char *path;            /**< final output path */
    char *format;          /**< "qcow2" or "raw" */
    uint64_t virtual_size; /**< guest-visible size in bytes */
    uint64_t size;         /**< bytes allocated by the output */
    char sha256[65];       /**< hex digest of the output file */
} h2k_migration_output;

/** Time spent in one stage. */
typedef struct h2k_stage_timing {
    char *stage;    /**< the stage name */
    double seconds; /**< wall time spent in it */
} h2k_stage_timing;

/** Outcome of one repair. */
typedef struct h2k_migration_fix {
    char *name;    /**< "fstab", "grub", ... */
    char *status;  /**< "changed", "unchanged", "skipped", "failed" */
    char *message; /**< or NULL */
} h2k_migration_fix;

/** Result of h2k_orchestrator_run().  Free with h2k_migration_result_free(). */
typedef struct h2k_migration_result {
    int success;         /**< 1 when every stage asked for succeeded */
    int code;            /**< 0 or the negative h2k_code of the failure */
    char *failed_stage;  /**< stage of the failure, or NULL */
    char *error_message; /**< or NULL */
    char *name;          /**< VM name */
    char *backend;       /**< "native" or "virt-v2v" */
    int dry_run;         /**< 1 for a dry run */
    h2k_vm_spec *spec;   /**< the source VM (owned) */
    size_t n_sources;    /**< number of entries in sources */
    char **sources;      /**< the inputs as given ("vsphere://HOST/VM" for a vSphere source) */
    size_t n_outputs;    /**< number of entries in outputs */
    h2k_migration_output *outputs; /**< the output disks */
    char *xml_path;                /**< OUTPUT_DIR/\<name>.xml, or NULL */
    char *defined_name;            /**< libvirt domain name when defined, or NULL */
    char *identity_json;           /**< guest identity (JSON object), or NULL */
    size_t n_fixes;                /**< number of entries in fixes */
    h2k_migration_fix *fixes;      /**< the outcome of each repair */
    char *fix_report_json;     /**< the fixer's full report (files changed, commands), or NULL */
    size_t n_warnings;         /**< number of entries in warnings */
    char **warnings;           /**< warnings of the run */
    size_t n_timings;          /**< number of entries in timings */
    h2k_stage_timing *timings; /**< time spent per stage */
    h2k_boot_result *boot;     /**< boot test outcome, or NULL when not run */
    char *report_json_path;    /**< reports written, or NULL */
    char *report_md_path;      /**< the Markdown report written, or NULL */
    double total_seconds;      /**< wall time of the run */
} h2k_migration_result;

/** Migrates one VM (see the file comment).  On success the outputs, the XML and
 *  the report are under their final names.  On failure or cancel, the error
 *  names the stage (h2k_ctx_last_error()->stage), the work folder and every
 *  temporary file are removed and no output is left under a final name (unless
 *  keep_partial); a report of the failure is still written when the output
 *  folder exists.  *out (may be NULL) is set on success and on failure once
 *  the options were accepted; caller frees it with h2k_migration_result_free().
 *  Progress goes to the context's callback with the stage names above.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param opts  the options (required: they name the inputs)
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_orchestrator_run(h2k_ctx *ctx, const h2k_run_options *opts,
                                    h2k_migration_result **out);

/** Frees a result.  NULL is allowed.
 *  @param res  the result (NULL allowed) */
H2K_EXTERN void h2k_migration_result_free(h2k_migration_result *res);

/** The result as JSON (the report's form).
 *  @param res  the result
 *  @return the text (the caller frees it with free()), or NULL on allocation failure */
H2K_EXTERN char *h2k_migration_result_to_json(const h2k_migration_result *res);

/** The result as Markdown (the report's form).
 *  @param res  the result
 *  @return the text (the caller frees it with free()), or NULL on allocation failure */
H2K_EXTERN char *h2k_migration_result_to_markdown(const h2k_migration_result *res);

/* ------------------------------------------------------------------ batch */

/** A vSphere server a plan's VMs come from.  Strings owned by the plan.  The
 *  password is never in the plan: it is read when a worker logs in, from the
 *  environment variable @c password_env or the first line of @c password_file. */
typedef struct h2k_plan_vsphere {
    char *host;          /**< "host[:port]" (or "url": "https://host[:port]/sdk") */
    char *user;          /**< user name */
    char *password_env;  /**< exactly one of password_env and password_file */
    char *password_file; /**< resolved against the plan's folder */
    char *datacenter;    /**< or NULL */
    int insecure;        /**< do not verify the certificate (0 or 1) */
    char *ca_file;       /**< or NULL; resolved against the plan's folder */
    char *thumbprint;    /**< or NULL */
    char *transport;     /**< "http", "nfc", "vddk", or NULL ("http") */
} h2k_plan_vsphere;

/** An Azure resource group a plan's VMs come from.  Strings owned by the plan.
 *  The client secret is never in the plan: it is read when a worker connects,
 *  from the environment variable @c client_secret_env or the first line of
 *  @c client_secret_file (or a managed identity is used). */
typedef struct h2k_plan_azure {
    char *subscription_id; /**< subscription id (required) */
    char *resource_group;  /**< resource group of the VMs (required) */
    char *tenant_id;       /**< tenant (directory) id; required unless managed_identity */
    char *client_id; /**< service principal's application id; required unless managed_identity */
    char *client_secret_env;  /**< one of client_secret_env, client_secret_file, */
    char *client_secret_file; /**< (resolved against the plan's folder) */
    int managed_identity;     /**< or a managed identity (0 or 1) */
    char *authority_host;     /**< or NULL (public cloud) */
    char *resource_manager;   /**< or NULL (public cloud) */
    char *ca_file;            /**< or NULL; resolved against the plan's folder */
    int insecure;             /**< do not verify certificates (0 or 1) */
    int snapshot;             /**< copy running VMs through snapshots (0 or 1) */
} h2k_plan_azure;

/** One VM of a plan.  Strings owned by the plan. */
typedef struct h2k_plan_vm {
    char *name;                    /**< unique in the plan */
    size_t n_inputs;               /**< number of entries in inputs */
    char **inputs;                 /**< resolved against the plan's folder */
    char *output_dir;              /**< NULL: the plan's output_dir/\<name> */
    h2k_disk_format output_format; /**< H2K_FORMAT_QCOW2 or H2K_FORMAT_RAW; UNKNOWN: the default */
    int compress;                  /**< -1: the plan default */
    int fixes;                     /**< h2k_fix_kind bits, -1: the plan default */
    int dry_run;                   /**< -1: the plan default */
    int test_boot;                 /**< -1: the plan default */
    size_t n_nic_macs;             /**< number of entries in nic_macs */
    char **nic_macs;               /**< MACs of the NICs (for VMs from bare disks) */
    char *vm;                      /**< name of the VM on vSphere, or NULL (local inputs) */
    h2k_plan_vsphere *vsphere;     /**< with vm: the server (the plan's "vsphere" object
                                        completed by the VM's own), else NULL */
    h2k_plan_azure *azure;         /**< with vm, for an Azure VM: its resource group (the plan's
                                        "azure" object completed by the VM's own), else NULL */
    char *virtio_win; /**< Windows guests: the VM's "virtio_win" ISO or folder (resolved
                           against the plan's folder), or NULL: the plan's
                           h2k_plan.virtio_win (see h2k_run_options.virtio_win) */
} h2k_plan_vm;

/** A batch plan: {"output_dir": D, "jobs": N, "defaults": {...}, "vsphere": {...},
 *  "vms": [{"name": N, "inputs": [...] | "vm": NAME, "vsphere": {...}, "output_dir",
 *  "format", "compress", "fixes": "all"|"none"|"a,b", "dry_run", "test_boot",
 *  "macs": [...], "virtio_win": ISO|DIR}]}; "defaults" takes "compress", "fixes",
 *  "dry_run", "test_boot" and "virtio_win".  A "vsphere" object: {"host" | "url",
 *  "user", "password_env" | "password_file", "datacenter", "insecure", "ca_file",
 *  "thumbprint", "transport"}; a VM's own object completes or overrides the plan's,
 *  field by field.  A VM has either "inputs" or "vm" (exported from vSphere, then
 *  migrated like local inputs; each batch worker keeps one login per server).  An
 *  "azure" object {"subscription_id", "resource_group", "tenant_id", "client_id",
 *  "client_secret_env" | "client_secret_file" | "managed_identity": true,
 *  "authority_host", "resource_manager", "ca_file", "insecure", "snapshot"} (in the
 *  plan and/or a VM, completed field by field like "vsphere") makes a VM's "vm" an
 *  Azure VM: its managed disks are downloaded, then migrated like local inputs. */
typedef struct h2k_plan {
    char *path;                /**< the plan file, or NULL */
    char *output_dir;          /**< default output folder (VMs go in \<output_dir>/\<name>) */
    unsigned jobs;             /**< slots for appliance-bound stages (see h2k_batch_run()); 0: 1 */
    int compress;              /**< default of compress (0 or 1) */
    unsigned fixes;            /**< default h2k_fix_kind bits */
    int dry_run;               /**< default of dry_run (0 or 1) */
    int test_boot;             /**< default of test_boot (0 or 1) */
    size_t n_vms;              /**< number of entries in vms */
    h2k_plan_vm *vms;          /**< the VMs, in the plan's order */
    h2k_plan_vsphere *vsphere; /**< the plan's "vsphere" object, or NULL */
    h2k_plan_azure *azure;     /**< the plan's "azure" object, or NULL */
    char *virtio_win;          /**< default virtio-win ISO or folder for Windows guests
                                    ("defaults": {"virtio_win": P}, resolved against the plan's
                                    folder), or NULL: /usr/share/virtio-win when present */
} h2k_plan;

/** Parses a JSON plan from memory; @p base_dir resolves relative paths (may be NULL);
 *  @p name_for_errors names it in messages.  Errors name the field
 *  ("vms[1].inputs").  Caller frees *out with h2k_plan_free().
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param json  the JSON text (need not be NUL-terminated)
 *  @param len  length of the text in bytes
 *  @param base_dir  folder that relative paths are resolved against, or NULL
 *  @param name_for_errors  name of the document in messages, or NULL
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_plan_parse(h2k_ctx *ctx, const char *json, size_t len, const char *base_dir,
                              const char *name_for_errors, h2k_plan **out);

/** Parses a plan written in YAML: the same fields, defaults and checks as
 *  h2k_plan_parse(), the same h2k_plan for the same plan.  Scalars follow the
 *  YAML 1.2 core schema: quoted ones are strings; plain ones are null (empty,
 *  ~, null), true/false, integers, floats, or strings (so "yes" and MAC
 *  addresses stay strings).  Refused with H2K_ERR_FORMAT: more than one
 *  document, nesting deeper than 64, more than 1,000,000 values once aliases
 *  are expanded (aliases are copies of their anchor and count as such), merge
 *  keys (<<), duplicate keys, tags other than the standard ones, texts over
 *  16 MiB.  Errors name @p name_for_errors, the line and column, and the field
 *  (h2k_error.field).  Caller frees *out with h2k_plan_free().
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param text  the YAML text (need not be NUL-terminated)
 *  @param len  length of the text in bytes
 *  @param base_dir  folder that relative paths are resolved against, or NULL
 *  @param name_for_errors  name of the document in messages, or NULL
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_plan_parse_yaml(h2k_ctx *ctx, const char *text, size_t len, const char *base_dir,
                                   const char *name_for_errors, h2k_plan **out);

/** Parses a plan file: YAML when its name ends in .yaml or .yml, JSON when in
 *  .json, otherwise JSON if the text starts with '{' and YAML if not.
 *  Relative paths in it are resolved against the file's folder.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param path  the file
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_plan_parse_file(h2k_ctx *ctx, const char *path, h2k_plan **out);

/** Frees a plan.  NULL is allowed.
 *  @param plan  the plan */
H2K_EXTERN void h2k_plan_free(h2k_plan *plan);

/** State of one VM of a batch. */
typedef enum h2k_vm_state {
    H2K_VM_PENDING = 0,
    H2K_VM_RUNNING = 1,
    H2K_VM_DONE = 2,
    H2K_VM_FAILED = 3
} h2k_vm_state;

/** Name of a state ("pending", "running", "done", "failed").  Static.
 *  @param st  the state
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_vm_state_name(h2k_vm_state st);

/** One entry of a batch state file. */
typedef struct h2k_batch_entry {
    char *name;         /**< the VM's name in the plan */
    h2k_vm_state state; /**< where the VM is */
    int code;           /**< h2k_code of a failure, else 0 */
    char *message;      /**< failure message, or NULL */
    double seconds;     /**< duration of the last run */
} h2k_batch_entry;

/** A batch state file (PLAN.state.json). */
typedef struct h2k_batch_state {
    size_t n_entries;         /**< number of entries in entries */
    h2k_batch_entry *entries; /**< one entry per VM seen */
} h2k_batch_state;

/** Loads a state file; a missing file gives an empty state.  Caller frees
 *  *out with h2k_batch_state_free().
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param path  the file
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_batch_state_load(h2k_ctx *ctx, const char *path, h2k_batch_state **out);

/** Saves a state file atomically (temporary file, fsync, rename).
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param path  the file
 *  @param state  the batch state
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_batch_state_save(h2k_ctx *ctx, const char *path, const h2k_batch_state *state);

/** Finds the entry of @p name, or NULL.  Owned by @p state.
 *  @param state  the batch state
 *  @param name  the name
 *  @return the entry, or NULL */
H2K_EXTERN h2k_batch_entry *h2k_batch_state_find(h2k_batch_state *state, const char *name);

/** Sets the entry of @p name (added when absent).  @p message is copied (may be NULL).
 *  @param state  the batch state
 *  @param name  the name
 *  @param st  the state
 *  @param code  an h2k_code (0 or negative)
 *  @param message  the message
 *  @param seconds  duration of the run
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_batch_state_set(h2k_batch_state *state, const char *name, h2k_vm_state st,
                                   int code, const char *message, double seconds);

/** Frees a state.  NULL is allowed.
 *  @param state  the batch state */
H2K_EXTERN void h2k_batch_state_free(h2k_batch_state *state);

/** Called after each VM of a batch (from the thread that ran it, serialised). */
typedef void (*h2k_batch_fn)(void *userdata, const h2k_plan_vm *vm, int rc,
                             const h2k_migration_result *res);

/** Runs a plan: VMs already "done" in @p state_path are skipped, the others run
 *  each on its own context, up to 2 x @p jobs at once (0: the plan's), of which
 *  at most @p jobs are in their appliance-bound stages (the repair appliance,
 *  the boot test, virt-v2v) while the others export, probe, make overlays,
 *  copy and write their XML and reports; the state file is saved after each
 *  VM.  h2k_ctx_cancel(@p ctx) stops the batch, VMs waiting for an appliance
 *  slot included (running VMs are cancelled and cleaned up; they stay
 *  "pending").  Returns 0 when every VM is done, H2K_ERR_GENERIC when some
 *  failed, H2K_ERR_CANCELLED.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param plan  the plan
 *  @param state_path  the state file (PLAN.state.json), created or updated
 *  @param jobs  VMs in appliance-bound stages at once; 0: the plan's
 *  @param on_vm  called after each VM, or NULL
 *  @param userdata  as given with the callback
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_batch_run(h2k_ctx *ctx, const h2k_plan *plan, const char *state_path,
                             unsigned jobs, h2k_batch_fn on_vm, void *userdata);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_ORCHESTRATOR_H */
