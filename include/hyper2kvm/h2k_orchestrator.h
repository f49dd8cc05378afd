/*
 * hyper2kvm: the orchestrator (high-level API).  One call migrates one VM:
 *
 *   inputs (disks, .ova, .ovf, .vmx) -> h2k_vm_spec -> probe every disk ->
 *   qcow2 overlays in a private work folder (the sources are never written) ->
 *   offline repairs in ONE appliance -> trim -> copy to OUTPUT_DIR/<name>-diskN.<fmt>
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

#ifdef __cplusplus
extern "C" {
#endif

/* Version 1 ends with "trim"; version 2 adds the vSphere source (vmware ...
 * keep_export).  h2k_orchestrator_run() accepts both and reads a version 1
 * struct only up to "trim". */
#define H2K_RUN_OPTIONS_VERSION 3

/** Options of h2k_orchestrator_run().  Initialise with H2K_RUN_OPTIONS_INIT;
 *  every pointer is borrowed for the duration of the call.  Give either
 *  inputs or a vSphere source (vmware and vmware_vm), not both. */
typedef struct h2k_run_options {
    unsigned version;          /**< H2K_RUN_OPTIONS_VERSION */
    const char *const *inputs; /**< disk images, or one .ova/.ovf/.vmx */
    size_t n_inputs;
    const char *output_dir;      /**< created if missing (not needed for dry runs) */
    const char *name;            /**< VM name; NULL: the descriptor's, or the first file's */
    const char *output_format;   /**< "qcow2" (NULL) or "raw" */
    int compress;                /**< zstd-compressed qcow2 */
    unsigned fixes;              /**< h2k_fix_kind bits (default H2K_FIX_ALL); 0: no
                                      repair and no appliance */
    int dry_run;                 /**< repairs computed, nothing written but the report */
    int keep_mac;                /**< the KVM guest keeps the source MACs (default 1) */
    const char *const *nic_macs; /**< NIC MACs for a spec synthesised from bare disks */
    size_t n_nic_macs;
    const h2k_network_mapping *network_map; /**< for the XML; may be NULL */
    size_t n_network_map;
    int test_boot;           /**< boot the first output disk (qemu, marker proof) */
    unsigned boot_timeout;   /**< seconds; 0: 600 */
    const char *define_uri;  /**< define the domain at this libvirt URI, or NULL */
    const char *report_path; /**< JSON report path; NULL: OUTPUT_DIR/<name>.report.json
                                  (Markdown beside it, extension .md) */
    int keep_partial;        /**< on failure keep the outputs already finalised */
    const char *backend;     /**< "native" (NULL) or "virt-v2v" */
    unsigned copy_threads;   /**< disks copied at once; 0: 2 */
    int trim;                /**< fstrim before the copy (default 1) */
    /* version 2 */
    h2k_vmware_client *vmware;    /**< export the VM from this vSphere client (used by this
                                       call only; its context is borrowed for the export, so
                                       errors, progress and cancellation are @ctx's) */
    const char *vmware_vm;        /**< name of the VM on the server (with vmware) */
    const char *vmware_transport; /**< "http" (NULL), "nfc" or "vddk" */
    int keep_export;              /**< keep the staging folder OUTPUT_DIR/.<name>.export (the
                                       exported files; default: removed when the run ends) */
    /* version 3 */
    const char *virtio_win;       /**< Windows guests: virtio-win ISO or folder (see
                                       h2k_fix_options.virtio_win); NULL: /usr/share/virtio-win
                                       when present */
} h2k_run_options;

#define H2K_RUN_OPTIONS_INIT                                                                       \
    {                                                                                              \
        H2K_RUN_OPTIONS_VERSION, NULL, 0, NULL, NULL, NULL, 0, 0x7f, 0, 1, NULL, 0, NULL,          \
            0, 0, 0, NULL, NULL, 0, NULL, 0, 1, NULL, NULL, NULL, 0, NULL                          \
    }

/** One output disk. */
typedef struct h2k_migration_output {
    char *source_path;   /**< the disk it came from (vSphere: "[datastore] folder/disk.vmdk") */
    char *source_format; /**< "vmdk", "vhdx", ... */
    char *path;          /**< final output path */
    char *format;        /**< "qcow2" or "raw" */
    uint64_t virtual_size;
    uint64_t size;   /**< bytes allocated by the output */
    char sha256[65]; /**< hex digest of the output file */
} h2k_migration_output;

/** Time spent in one stage. */
typedef struct h2k_stage_timing {
    char *stage;
    double seconds;
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
    int dry_run;
    h2k_vm_spec *spec; /**< the source VM (owned) */
    size_t n_sources;
    char **sources; /**< the inputs as given ("vsphere://HOST/VM" for a vSphere source) */
    size_t n_outputs;
    h2k_migration_output *outputs;
    char *xml_path;      /**< OUTPUT_DIR/<name>.xml, or NULL */
    char *defined_name;  /**< libvirt domain name when defined, or NULL */
    char *identity_json; /**< guest identity (JSON object), or NULL */
    size_t n_fixes;
    h2k_migration_fix *fixes;
    char *fix_report_json; /**< the fixer's full report (files changed, commands), or NULL */
    size_t n_warnings;
    char **warnings;
    size_t n_timings;
    h2k_stage_timing *timings;
    h2k_boot_result *boot;  /**< boot test outcome, or NULL when not run */
    char *report_json_path; /**< reports written, or NULL */
    char *report_md_path;
    double total_seconds;
} h2k_migration_result;

/** Migrates one VM (see the file comment).  On success the outputs, the XML and
 *  the report are under their final names.  On failure or cancel, the error
 *  names the stage (h2k_ctx_last_error()->stage), the work folder and every
 *  temporary file are removed and no output is left under a final name (unless
 *  keep_partial); a report of the failure is still written when the output
 *  folder exists.  *out (may be NULL) is set on success and on failure once
 *  the options were accepted; caller frees it with h2k_migration_result_free().
 *  Progress goes to the context's callback with the stage names above. */
H2K_EXTERN int h2k_orchestrator_run(h2k_ctx *ctx, const h2k_run_options *opts,
                                    h2k_migration_result **out);

/** Frees a result.  NULL is allowed. */
H2K_EXTERN void h2k_migration_result_free(h2k_migration_result *res);

/** The result as JSON / Markdown.  Caller frees with free(); NULL on allocation failure. */
H2K_EXTERN char *h2k_migration_result_to_json(const h2k_migration_result *res);
H2K_EXTERN char *h2k_migration_result_to_markdown(const h2k_migration_result *res);

/* ------------------------------------------------------------------ batch */

/** A vSphere server a plan's VMs come from.  Strings owned by the plan.  The
 *  password is never in the plan: it is read when a worker logs in, from the
 *  environment variable @password_env or the first line of @password_file. */
typedef struct h2k_plan_vsphere {
    char *host;          /**< "host[:port]" (or "url": "https://host[:port]/sdk") */
    char *user;
    char *password_env;  /**< exactly one of password_env and password_file */
    char *password_file; /**< resolved against the plan's folder */
    char *datacenter;    /**< or NULL */
    int insecure;        /**< do not verify the certificate (0 or 1) */
    char *ca_file;       /**< or NULL; resolved against the plan's folder */
    char *thumbprint;    /**< or NULL */
    char *transport;     /**< "http", "nfc", "vddk", or NULL ("http") */
} h2k_plan_vsphere;

/** One VM of a plan.  Strings owned by the plan. */
typedef struct h2k_plan_vm {
    char *name; /**< unique in the plan */
    size_t n_inputs;
    char **inputs;       /**< resolved against the plan's folder */
    char *output_dir;    /**< NULL: the plan's output_dir/<name> */
    char *output_format; /**< or NULL */
    int compress;        /**< -1: the plan default */
    int fixes;           /**< h2k_fix_kind bits, -1: the plan default */
    int dry_run;         /**< -1: the plan default */
    int test_boot;       /**< -1: the plan default */
    size_t n_nic_macs;
    char **nic_macs;
    char *vm;                  /**< name of the VM on vSphere, or NULL (local inputs) */
    h2k_plan_vsphere *vsphere; /**< with vm: the server (the plan's "vsphere" object
                                    completed by the VM's own), else NULL */
} h2k_plan_vm;

/** A batch plan: {"output_dir": D, "jobs": N, "defaults": {...}, "vsphere": {...},
 *  "vms": [{"name": N, "inputs": [...] | "vm": NAME, "vsphere": {...}, "output_dir",
 *  "format", "compress", "fixes": "all"|"none"|"a,b", "dry_run", "test_boot",
 *  "macs": [...]}]}.  A "vsphere" object: {"host" | "url", "user", "password_env" |
 *  "password_file", "datacenter", "insecure", "ca_file", "thumbprint", "transport"};
 *  a VM's own object completes or overrides the plan's, field by field.  A VM has
 *  either "inputs" or "vm" (exported from vSphere, then migrated like local
 *  inputs; each batch worker keeps one login per server). */
typedef struct h2k_plan {
    char *path;       /**< the plan file, or NULL */
    char *output_dir; /**< default output folder (VMs go in <output_dir>/<name>) */
    unsigned jobs;    /**< 0: 1 */
    int compress;
    unsigned fixes;
    int dry_run;
    int test_boot;
    size_t n_vms;
    h2k_plan_vm *vms;
    h2k_plan_vsphere *vsphere; /**< the plan's "vsphere" object, or NULL */
} h2k_plan;

/** Parses a JSON plan from memory; @base_dir resolves relative paths (may be NULL);
 *  @name_for_errors names it in messages.  Errors name the field
 *  ("vms[1].inputs").  Caller frees *out with h2k_plan_free(). */
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
 *  16 MiB.  Errors name @name_for_errors, the line and column, and the field
 *  (h2k_error.field).  Caller frees *out with h2k_plan_free(). */
H2K_EXTERN int h2k_plan_parse_yaml(h2k_ctx *ctx, const char *text, size_t len, const char *base_dir,
                                   const char *name_for_errors, h2k_plan **out);

/** Parses a plan file: YAML when its name ends in .yaml or .yml, JSON when in
 *  .json, otherwise JSON if the text starts with '{' and YAML if not.
 *  Relative paths in it are resolved against the file's folder. */
H2K_EXTERN int h2k_plan_parse_file(h2k_ctx *ctx, const char *path, h2k_plan **out);

/** Frees a plan.  NULL is allowed. */
H2K_EXTERN void h2k_plan_free(h2k_plan *plan);

/** State of one VM of a batch. */
typedef enum h2k_vm_state {
    H2K_VM_PENDING = 0,
    H2K_VM_RUNNING = 1,
    H2K_VM_DONE = 2,
    H2K_VM_FAILED = 3
} h2k_vm_state;

/** Name of a state ("pending", "running", "done", "failed").  Static. */
H2K_EXTERN const char *h2k_vm_state_name(h2k_vm_state st);

/** One entry of a batch state file. */
typedef struct h2k_batch_entry {
    char *name;
    h2k_vm_state state;
    int code;       /**< h2k_code of a failure, else 0 */
    char *message;  /**< failure message, or NULL */
    double seconds; /**< duration of the last run */
} h2k_batch_entry;

/** A batch state file (PLAN.state.json). */
typedef struct h2k_batch_state {
    size_t n_entries;
    h2k_batch_entry *entries;
} h2k_batch_state;

/** Loads a state file; a missing file gives an empty state.  Caller frees
 *  *out with h2k_batch_state_free(). */
H2K_EXTERN int h2k_batch_state_load(h2k_ctx *ctx, const char *path, h2k_batch_state **out);

/** Saves a state file atomically (temporary file, fsync, rename). */
H2K_EXTERN int h2k_batch_state_save(h2k_ctx *ctx, const char *path, const h2k_batch_state *state);

/** Finds the entry of @name, or NULL.  Owned by @state. */
H2K_EXTERN h2k_batch_entry *h2k_batch_state_find(h2k_batch_state *state, const char *name);

/** Sets the entry of @name (added when absent).  @message is copied (may be NULL). */
H2K_EXTERN int h2k_batch_state_set(h2k_batch_state *state, const char *name, h2k_vm_state st,
                                   int code, const char *message, double seconds);

/** Frees a state.  NULL is allowed. */
H2K_EXTERN void h2k_batch_state_free(h2k_batch_state *state);

/** Called after each VM of a batch (from the thread that ran it, serialised). */
typedef void (*h2k_batch_fn)(void *userdata, const h2k_plan_vm *vm, int rc,
                             const h2k_migration_result *res);

/** Runs a plan: VMs already "done" in @state_path are skipped, the others run
 *  with at most @jobs at once (0: the plan's), each on its own context; the
 *  state file is saved after each VM.  h2k_ctx_cancel(@ctx) stops the batch
 *  (running VMs are cancelled and cleaned up; they stay "pending").  Returns 0
 *  when every VM is done, H2K_ERR_GENERIC when some failed, H2K_ERR_CANCELLED. */
H2K_EXTERN int h2k_batch_run(h2k_ctx *ctx, const h2k_plan *plan, const char *state_path,
                             unsigned jobs, h2k_batch_fn on_vm, void *userdata);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_ORCHESTRATOR_H */
