/* Internal declarations of the orchestrator (src/orchestrator). */
#ifndef HK_ORCH_INTERNAL_H
#define HK_ORCH_INTERNAL_H

#include <stdbool.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"
#include "hyper2kvm/h2k_orchestrator.h"

/* Appends a copy of @s to a (char **, size_t) list; false on allocation failure. */
bool hk_orch_list_add(char ***list, size_t *n, const char *s);

/* Records the time of a stage in @res. */
void hk_orch_add_timing(h2k_migration_result *res, const char *stage, double seconds);

/* Adds a warning to @res (and logs it). */
void hk_orch_warn(h2k_ctx *ctx, h2k_migration_result *res, const char *fmt, ...) HK_PRINTF(3, 4);

/* sha256 of a file in hex; 0 or a negative h2k_code recorded on @ctx. */
int hk_orch_sha256_file(h2k_ctx *ctx, const char *path, char out[65]);

/* Creates @dir and its missing parents (mode 0755). */
int hk_orch_mkdir_p(h2k_ctx *ctx, const char *dir);

/* The virt-v2v backend: converts res->spec / opts->inputs into opts->output_dir.
 * Fills res->outputs; returns 0 or a negative h2k_code with the stage set. */
int hk_orch_run_virt_v2v(h2k_ctx *ctx, const h2k_run_options *opts, const char *work_dir,
                         h2k_migration_result *res);

/* The plan described by the JSON tree @root (from a JSON or a YAML plan; borrowed):
 * every check of h2k_plan_parse(), errors naming @doc and the field.  Caller frees
 * *out with h2k_plan_free(). */
struct json_object;
int hk_plan_from_json(h2k_ctx *ctx, struct json_object *root, const char *base_dir, const char *doc,
                      h2k_plan **out);

#endif
