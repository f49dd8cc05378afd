/* The migration result: freeing, JSON and Markdown reports, small helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/json_util.h"
#include "fix/report_md.h"
#include "orch_internal.h"

static const char *
jstr(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* Windows: the drive letters of the guest (MountedDevices) and their partitions. */
static void
md_drives(hk_buf *b, const char *identity_json)
{
    json_object *root = identity_json ? json_tokener_parse(identity_json) : NULL;
    json_object *win = NULL, *drives = NULL;
    if (root && json_object_object_get_ex(root, "windows", &win) &&
        json_object_object_get_ex(win, "drives", &drives) &&
        json_object_is_type(drives, json_type_array) && json_object_array_length(drives)) {
        hk_buf_puts(b, "\n## Windows drive letters\n\n| Letter | Partition |\n|---|---|\n");
        for (size_t i = 0; i < json_object_array_length(drives); i++) {
            json_object *d = json_object_array_get_idx(drives, i);
            const char *l = jstr(d, "letter"), *dev = jstr(d, "device");
            hk_buf_printf(b, "| %s: | %s |\n", l ? l : "?", dev ? dev : "(on no disk of this VM)");
        }
    }
    json_object_put(root);
}

/* Windows: every registry change of the repairs, as a table. */
static void
md_registry(hk_buf *b, const char *fix_report_json)
{
    json_object *root = fix_report_json ? json_tokener_parse(fix_report_json) : NULL;
    json_object *fixes = NULL;
    if (!root || !json_object_object_get_ex(root, "fixes", &fixes)) {
        json_object_put(root);
        return;
    }
    bool head = false;
    for (size_t i = 0; i < json_object_array_length(fixes); i++) {
        json_object *f = json_object_array_get_idx(fixes, i), *reg = NULL;
        if (!json_object_object_get_ex(f, "registry_changes", &reg))
            continue;
        for (size_t k = 0; k < json_object_array_length(reg); k++) {
            json_object *c = json_object_array_get_idx(reg, k);
            if (!head) {
                hk_buf_puts(b, "\n## Registry changes\n\n| Hive | Key | Value | Type | Before | "
                               "After |\n|---|---|---|---|---|---|\n");
                head = true;
            }
            const char *value = jstr(c, "value"), *before = jstr(c, "before"),
                       *after = jstr(c, "after"), *type = jstr(c, "type");
            const char *hive = jstr(c, "hive"), *key = jstr(c, "key"), *act = jstr(c, "action");
            hk_md_registry_row(b, hive, key, value, act, type, before, after);
        }
    }
    json_object_put(root);
}

void
hk_orch_add_timing(h2k_migration_result *res, const char *stage, double seconds)
{
    h2k_stage_timing *t = realloc(res->timings, (res->n_timings + 1) * sizeof(*t));
    if (!t)
        return;
    res->timings = t;
    t[res->n_timings].stage = strdup(stage);
    t[res->n_timings].seconds = seconds;
    if (t[res->n_timings].stage)
        res->n_timings++;
}

void
hk_orch_warn(h2k_ctx *ctx, h2k_migration_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hk_vasprintf(fmt, ap);
    va_end(ap);
    if (!msg)
        return;
    hk_warn(ctx, "orchestrator", "%s", msg);
    hk_strv_add(&res->warnings, &res->n_warnings, msg);
    free(msg);
}

int
hk_orch_mkdir_p(h2k_ctx *ctx, const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return hk_error_nomem(ctx);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                rc = hk_error_errno(ctx, errno, p, "cannot create the folder");
                break;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    return rc;
}

void
h2k_migration_result_free(h2k_migration_result *res)
{
    if (!res)
        return;
    free(res->failed_stage);
    free(res->error_message);
    free(res->name);
    free(res->backend);
    h2k_vm_spec_free(res->spec);
    for (size_t i = 0; i < res->n_sources; i++)
        free(res->sources[i]);
    free(res->sources);
    for (size_t i = 0; i < res->n_outputs; i++) {
        free(res->outputs[i].source_path);
        free(res->outputs[i].source_format);
        free(res->outputs[i].path);
        free(res->outputs[i].format);
    }
    free(res->outputs);
    free(res->xml_path);
    free(res->defined_name);
    free(res->identity_json);
    for (size_t i = 0; i < res->n_fixes; i++) {
        free(res->fixes[i].name);
        free(res->fixes[i].status);
        free(res->fixes[i].message);
    }
    free(res->fixes);
    free(res->fix_report_json);
    for (size_t i = 0; i < res->n_warnings; i++)
        free(res->warnings[i]);
    free(res->warnings);
    for (size_t i = 0; i < res->n_timings; i++)
        free(res->timings[i].stage);
    free(res->timings);
    h2k_boot_result_free(res->boot);
    free(res->report_json_path);
    free(res->report_md_path);
    free(res);
}

/* Adds a parsed JSON document (or null when it does not parse). */
static void
add_raw_json(json_object *o, const char *key, const char *json)
{
    json_object *v = json ? json_tokener_parse(json) : NULL;
    json_object_object_add(o, key, v);
}

char *
h2k_migration_result_to_json(const h2k_migration_result *res)
{
    if (!res)
        return NULL;
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    hk_json_add_str(o, "name", res->name);
    json_object_object_add(o, "success", json_object_new_boolean(res->success));
    hk_json_add_str(o, "backend", res->backend);
    json_object_object_add(o, "dry_run", json_object_new_boolean(res->dry_run));
    if (!res->success) {
        json_object *e = json_object_new_object();
        hk_json_add_str(e, "code", h2k_code_name(res->code));
        hk_json_add_str(e, "stage", res->failed_stage);
        hk_json_add_str(e, "message", res->error_message);
        json_object_object_add(o, "error", e);
    }
    hk_json_add_strv(o, "sources", res->sources, res->n_sources);
    if (res->spec) {
        char *sj = h2k_vm_spec_to_json(res->spec);
        add_raw_json(o, "spec", sj);
        free(sj);
    }
    json_object *outs = json_object_new_array();
    for (size_t i = 0; i < res->n_outputs; i++) {
        const h2k_migration_output *mo = &res->outputs[i];
        json_object *d = json_object_new_object();
        hk_json_add_str(d, "source", mo->source_path);
        hk_json_add_str(d, "source_format", mo->source_format);
        hk_json_add_str(d, "path", mo->path);
        hk_json_add_str(d, "format", mo->format);
        hk_json_add_u64(d, "virtual_size", mo->virtual_size);
        hk_json_add_u64(d, "size", mo->size);
        hk_json_add_str(d, "sha256", mo->sha256);
        json_object_array_add(outs, d);
    }
    json_object_object_add(o, "outputs", outs);
    hk_json_add_str(o, "xml", res->xml_path);
    hk_json_add_str(o, "defined_name", res->defined_name);
    add_raw_json(o, "identity", res->identity_json);
    json_object *fx = json_object_new_array();
    for (size_t i = 0; i < res->n_fixes; i++) {
        json_object *f = json_object_new_object();
        hk_json_add_str(f, "name", res->fixes[i].name);
        hk_json_add_str(f, "status", res->fixes[i].status);
        hk_json_add_str(f, "message", res->fixes[i].message);
        json_object_array_add(fx, f);
    }
    json_object_object_add(o, "fixes", fx);
    add_raw_json(o, "fix_report", res->fix_report_json);
    hk_json_add_strv(o, "warnings", res->warnings, res->n_warnings);
    json_object *t = json_object_new_object();
    for (size_t i = 0; i < res->n_timings; i++)
        json_object_object_add(t, res->timings[i].stage,
                               json_object_new_double(res->timings[i].seconds));
    json_object_object_add(o, "timings", t);
    json_object_object_add(o, "total_seconds", json_object_new_double(res->total_seconds));
    if (res->boot) {
        char *bj = h2k_boot_result_to_json(res->boot);
        add_raw_json(o, "boot", bj);
        free(bj);
    } else {
        json_object_object_add(o, "boot", NULL);
    }
    return hk_json_steal_string(o);
}

char *
h2k_migration_result_to_markdown(const h2k_migration_result *res)
{
    if (!res)
        return NULL;
    hk_buf b = {0};
    hk_buf_printf(&b, "# Migration of %s\n\n", res->name ? res->name : "(unnamed)");
    hk_buf_printf(&b, "| | |\n|---|---|\n| Result | %s |\n| Backend | %s |\n",
                  res->success ? (res->dry_run ? "success (dry run)" : "success") : "FAILED",
                  res->backend ? res->backend : "native");
    if (!res->success)
        hk_buf_printf(&b, "| Error | %s at stage %s: %s |\n", h2k_code_name(res->code),
                      res->failed_stage ? res->failed_stage : "?",
                      res->error_message ? res->error_message : "");
    hk_buf_printf(&b, "| Total time | %.1f s |\n", res->total_seconds);
    hk_buf_puts(&b, "\n## Sources\n\n");
    for (size_t i = 0; i < res->n_sources; i++)
        hk_buf_printf(&b, "- `%s`\n", res->sources[i]);
    if (res->n_outputs) {
        hk_buf_puts(&b, "\n## Outputs\n\n| Disk | Format | Virtual size | Size | SHA-256 |\n"
                        "|---|---|---|---|---|\n");
        for (size_t i = 0; i < res->n_outputs; i++) {
            const h2k_migration_output *mo = &res->outputs[i];
            hk_buf_printf(&b, "| `%s` | %s | %llu | %llu | `%s` |\n", mo->path, mo->format,
                          (unsigned long long)mo->virtual_size, (unsigned long long)mo->size,
                          mo->sha256);
        }
    }
    if (res->xml_path)
        hk_buf_printf(&b, "\nDomain XML: `%s`\n", res->xml_path);
    if (res->defined_name)
        hk_buf_printf(&b, "Defined in libvirt as `%s`\n", res->defined_name);
    md_drives(&b, res->identity_json);
    if (res->n_fixes) {
        hk_buf_puts(&b, "\n## Repairs\n\n| Repair | Status | Message |\n|---|---|---|\n");
        for (size_t i = 0; i < res->n_fixes; i++)
            hk_buf_printf(&b, "| %s | %s | %s |\n", res->fixes[i].name, res->fixes[i].status,
                          res->fixes[i].message ? res->fixes[i].message : "");
    }
    md_registry(&b, res->fix_report_json);
    if (res->n_warnings) {
        hk_buf_puts(&b, "\n## Warnings\n\n");
        for (size_t i = 0; i < res->n_warnings; i++)
            hk_buf_printf(&b, "- %s\n", res->warnings[i]);
    }
    if (res->boot) {
        if (res->boot->not_proven)
            hk_buf_printf(&b, "\n## Boot test\n\nNot proven: %s\n",
                          res->boot->error_message ? res->boot->error_message : "");
        else
            /* a guest that reached its probe but failed the proof (no address
               on its NIC) did boot: say so */
            hk_buf_printf(&b, "\n## Boot test\n\n%s after %.1f s (%s)%s\n",
                          res->boot->success || res->boot->proof_line ? "Booted" : "Did NOT boot",
                          res->boot->boot_seconds, res->boot->accel ? res->boot->accel : "?",
                          !res->boot->success && res->boot->proof_line
                              ? ", but the boot proof FAILED"
                              : "");
        for (size_t i = 0; i < res->boot->n_addresses; i++)
            hk_buf_printf(&b, "- address %s\n", res->boot->addresses[i]);
        if (!res->boot->success && !res->boot->not_proven) {
            if (res->boot->error_message)
                hk_buf_printf(&b, "\n%s\n", res->boot->error_message);
            if (res->boot->console_tail)
                hk_buf_printf(
                    &b, "\nConsole (last lines):\n\n```text\n%s%s```\n", res->boot->console_tail,
                    *res->boot->console_tail &&
                            res->boot->console_tail[strlen(res->boot->console_tail) - 1] != '\n'
                        ? "\n"
                        : "");
            if (res->boot->console_log_path)
                hk_buf_printf(&b, "\nThe whole serial console: `%s`\n",
                              res->boot->console_log_path);
        }
    }
    if (res->n_timings) {
        hk_buf_puts(&b, "\n## Timings\n\n| Stage | Seconds |\n|---|---|\n");
        for (size_t i = 0; i < res->n_timings; i++)
            hk_buf_printf(&b, "| %s | %.2f |\n", res->timings[i].stage, res->timings[i].seconds);
    }
    return hk_buf_steal(&b);
}
