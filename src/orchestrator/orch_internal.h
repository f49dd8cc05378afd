/* Internal declarations of the orchestrator (src/orchestrator). */
#ifndef HK_ORCH_INTERNAL_H
#define HK_ORCH_INTERNAL_H

#include <stdbool.h>

#include "core/internal.h"
#include "core/util.h"
#include "hyper2kvm/h2k_disk.h"
#include "hyper2kvm/h2k_orchestrator.h"

struct hk_sched;
struct hk_sched_hooks;

/* What a batch lends each migration it runs (NULL for a migration of its
 * own): the gate of the appliance-bound stages (sched.h) and the VM's name in
 * the gate's events. */
typedef struct hk_run_env {
    struct hk_sched *sched;
    const char *vm;
} hk_run_env;

/* h2k_orchestrator_run() with @env (may be NULL: exactly h2k_orchestrator_run()). */
int hk_orch_run(h2k_ctx *ctx, const h2k_run_options *opts, const hk_run_env *env,
                h2k_migration_result **out);

/* h2k_batch_run() whose gate has @hooks (may be NULL: exactly h2k_batch_run()):
 * the tests' view of the scheduler (sched.h). */
int hk_batch_run_hooked(h2k_ctx *ctx, const h2k_plan *plan, const char *state_path, unsigned jobs,
                        h2k_batch_fn on_vm, void *userdata, const struct hk_sched_hooks *hooks);

/* Records the time of a stage in @res. */
void hk_orch_add_timing(h2k_migration_result *res, const char *stage, double seconds);

/* Adds a warning to @res (and logs it). */
void hk_orch_warn(h2k_ctx *ctx, h2k_migration_result *res, const char *fmt, ...) HK_PRINTF(3, 4);

/* ------------------------------------------- interrupted runs (leftovers.c) */

/* Writes WORK_DIR/owner (O_EXCL, O_NOFOLLOW, 0600): this process (pid, start
 * time, boot id) and the run's @target (its XML path), so that a later run can
 * tell whether the folder's run is still alive. */
int hk_orch_owner_write(h2k_ctx *ctx, const char *work_dir, const char *target);

/* Appends "done=@output" to WORK_DIR/owner once the run has completed @output
 * (best effort).  Several threads may call it for one folder: one write() each. */
void hk_orch_owner_add_done(const char *work_dir, const char *output);

/* Removes what runs of @target killed outright left: their work folders in the
 * context's temporary folder (only those whose owner is dead), the outputs they
 * completed among @target and @outputs (when @target does not exist or the dead
 * run lists it as done), and, unless a live run of @target exists, the
 * "<path>.part*" files of @outputs and @target.  @outputs may hold NULLs.
 * Never fails. */
void hk_orch_clean_leftovers(h2k_ctx *ctx, const char *target, const char *const *outputs,
                             size_t n);

/* Creates @dir and its missing parents (mode 0755). */
int hk_orch_mkdir_p(h2k_ctx *ctx, const char *dir);

/* The virt-v2v backend: converts res->spec / opts->inputs into opts->output_dir.
 * Fills res->outputs; returns 0 or a negative h2k_code with the stage set. */
int hk_orch_run_virt_v2v(h2k_ctx *ctx, const h2k_run_options *opts, const char *work_dir,
                         h2k_migration_result *res);

/* Largest plan file read (JSON or YAML). */
#define HK_PLAN_MAX_SIZE (16u << 20)

/* The plan described by the JSON tree @root (from a JSON or a YAML plan; borrowed):
 * every check of h2k_plan_parse(), errors naming @doc and the field.  Caller frees
 * *out with h2k_plan_free(). */
struct json_object;
int hk_plan_from_json(h2k_ctx *ctx, struct json_object *root, const char *base_dir, const char *doc,
                      h2k_plan **out);

/* ------------------------------------------------- vSphere (vsphere_source.c) */

/* Exports @vm with @client into @staging (h2k_vmware_export_vm), the client
 * lent @ctx for the call so that errors, progress and cancellation are the run's. */
int hk_orch_vmware_export(h2k_ctx *ctx, h2k_vmware_client *client, const char *vm,
                          const char *transport, const char *staging,
                          h2k_vmware_export_result **out);

/* "vsphere://HOST/VM"; caller frees; NULL on allocation failure. */
char *hk_orch_vmware_source_name(const h2k_vmware_client *client, const char *vm);

/* Parses a plan's "vsphere" object @o at field @where ("vsphere", "vms[2].vsphere"),
 * starting from a copy of @base (may be NULL); relative files resolve against
 * @base_dir.  Caller frees *out with hk_plan_vsphere_free(). */
int hk_plan_vsphere_parse(h2k_ctx *ctx, const char *doc, struct json_object *o, const char *where,
                          const char *base_dir, const h2k_plan_vsphere *base,
                          h2k_plan_vsphere **out);
void hk_plan_vsphere_free(h2k_plan_vsphere *v);

/* The "vm" and "vsphere" fields of the VM @idx of a plan (object @o), after its
 * "inputs": sets vm->vm and vm->vsphere (the plan's @plan_vs completed by the
 * VM's own object).  Errors name "vms[I].vm", "vms[I].vsphere[.FIELD]". */
int hk_plan_vm_vsphere_parse(h2k_ctx *ctx, const char *doc, struct json_object *o, size_t idx,
                             const char *base_dir, const h2k_plan_vsphere *plan_vs,
                             h2k_plan_vm *vm);

/* FORMAT error naming WHERE.host / .user / .password_env when one is missing. */
int hk_plan_vsphere_check(h2k_ctx *ctx, const char *doc, const char *where,
                          const h2k_plan_vsphere *v);

/* True when both name the same server, user and trust settings (one login serves both). */
bool hk_plan_vsphere_same_server(const h2k_plan_vsphere *a, const h2k_plan_vsphere *b);

/* Reads the password (environment or file) and logs in; the password is wiped. */
int hk_plan_vsphere_connect(h2k_ctx *ctx, const h2k_plan_vsphere *v, h2k_vmware_client **out);

/* --------------------------------------------------- Azure (azure_source.c) */

/* The Azure VM of a run: opts->azure_vm, else the client's configured VM (may be NULL). */
const char *hk_orch_azure_vm_name(const h2k_run_options *opts);

/* Downloads the disks of @vm with @client into @staging (h2k_azure_download_vm, the
 * client lent @ctx), and presents them like a vSphere export: the spec with local
 * paths, the fixed VHDs and an OVF descriptor beside them. */
int hk_orch_azure_export(h2k_ctx *ctx, h2k_azure_client *client, const char *vm,
                         const char *staging, h2k_vmware_export_result **out);

/* "azure://SUBSCRIPTION/RESOURCE_GROUP/VM"; caller frees; NULL on allocation failure. */
char *hk_orch_azure_source_name(const h2k_azure_client *client, const char *vm);

/* A plan's "azure" object @o (NULL: a copy of @base) at field @where; relative
 * files resolve against @base_dir.  Caller frees *out with hk_plan_azure_free(). */
int hk_plan_azure_parse(h2k_ctx *ctx, const char *doc, struct json_object *o, const char *where,
                        const char *base_dir, const h2k_plan_azure *base, h2k_plan_azure **out);
void hk_plan_azure_free(h2k_plan_azure *a);

/* The "vm" and "azure" fields of VM @idx (object @o), before its vSphere ones: when
 * the VM is on Azure (its own "azure" object, or the plan's without any "vsphere"),
 * sets vm->vm and vm->azure (checked complete); else changes nothing. */
int hk_plan_vm_azure_parse(h2k_ctx *ctx, const char *doc, struct json_object *o, size_t idx,
                           const char *base_dir, const h2k_plan_azure *plan_az,
                           bool plan_has_vsphere, h2k_plan_vm *vm);

/* Reads the client secret (environment or file) and creates a client; the secret is wiped. */
int hk_plan_azure_connect(h2k_ctx *ctx, const h2k_plan_azure *a, h2k_azure_client **out);

/* Field readers of the plan sections (plan_fields.c).  A FORMAT error of plan
 * text @doc naming the field WHERE.KEY; returns H2K_ERR_FORMAT. */
int hk_plan_field_error(h2k_ctx *ctx, const char *doc, const char *where, const char *key,
                        const char *fmt, ...) HK_PRINTF(5, 6);
/* True when @o has @key with a value other than null. */
bool hk_plan_has(struct json_object *o, const char *key);
/* Replaces *dst with a copy of the non-empty string @key of @o (relative to
 * @base_dir when that is not NULL and the value not absolute); 1 when set, 0
 * when absent or null, or the error. */
int hk_plan_str(h2k_ctx *ctx, const char *doc, struct json_object *o, const char *key,
                const char *where, const char *base_dir, char **dst);
/* Sets *dst to the boolean @key of @o (1/0) when present; 0 or the error. */
int hk_plan_bool(h2k_ctx *ctx, const char *doc, struct json_object *o, const char *key,
                 const char *where, int *dst);
/* *dst = strdup(src) when @src is not NULL; 0, or -1 when out of memory. */
int hk_plan_dup(char **dst, const char *src);
/* Wipes and frees the secret @s (NULL is fine). */
void hk_plan_wipe_free(char *s);
/* 0 when every key of the object @o is in the NULL-terminated list @known;
 * else the FORMAT error "unknown field" naming the first other key. */
int hk_plan_known_fields(h2k_ctx *ctx, const char *doc, const char *where, struct json_object *o,
                         const char *const *known);
/* Sets vm->vm to the value @name of the "vm" field of the VM at @where: a
 * non-empty string, and the VM has no "inputs"; 0 or the error. */
int hk_plan_vm_name(h2k_ctx *ctx, const char *doc, const char *where, struct json_object *name,
                    h2k_plan_vm *vm);
/* Reads a secret (the @what of @who, as "password" of a host) from the
 * environment variable @env or, when @env is NULL, the first line of @file
 * (fields @env_field, @file_field in errors); *out NULL when both are NULL.
 * Caller frees *out with hk_plan_wipe_free(). */
int hk_plan_read_secret(h2k_ctx *ctx, const char *who, const char *what, const char *env_field,
                        const char *env, const char *file_field, const char *file, char **out);

#endif
