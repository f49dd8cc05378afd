/* Batches: plan files, the resumable state file, and the bounded-parallel runner. */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json_util.h"
#include "hyper2kvm/h2k_fix.h"
#include "orch_internal.h"

#define PLAN_MAX_SIZE (16u << 20)
#define PLAN_MAX_VMS 100000u
#define PLAN_MAX_ITEMS 1024u

/* ----------------------------------------------------------------- plan */

void
h2k_plan_free(h2k_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n_vms; i++) {
        h2k_plan_vm *v = &plan->vms[i];
        free(v->name);
        for (size_t k = 0; k < v->n_inputs; k++)
            free(v->inputs[k]);
        free(v->inputs);
        for (size_t k = 0; k < v->n_nic_macs; k++)
            free(v->nic_macs[k]);
        free(v->nic_macs);
        free(v->output_dir);
        free(v->vm);
        free(v->virtio_win);
        hk_plan_vsphere_free(v->vsphere);
        hk_plan_azure_free(v->azure);
    }
    hk_plan_vsphere_free(plan->vsphere);
    hk_plan_azure_free(plan->azure);
    free(plan->virtio_win);
    free(plan->vms);
    free(plan->path);
    free(plan->output_dir);
    free(plan);
}

/* Reads an optional boolean; -1 when absent. */
static int
get_bool(h2k_ctx *ctx, const char *doc, json_object *o, const char *key, const char *where,
         int *out)
{
    json_object *v;
    *out = -1;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_boolean))
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "\"%s\" must be true or false",
                           key);
    *out = json_object_get_boolean(v) ? 1 : 0;
    return 0;
}

static int
get_string(h2k_ctx *ctx, const char *doc, json_object *o, const char *key, const char *where,
           const char **out)
{
    json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "\"%s\" must be a non-empty string",
                           key);
    *out = json_object_get_string(v);
    return 0;
}

/* "all", "none", "fstab,grub" or an array of names. */
static int
get_fixes(h2k_ctx *ctx, const char *doc, json_object *o, const char *where, int *out)
{
    json_object *v;
    *out = -1;
    if (!json_object_object_get_ex(o, "fixes", &v) || json_object_is_type(v, json_type_null))
        return 0;
    hk_buf b = {0};
    if (json_object_is_type(v, json_type_string)) {
        hk_buf_puts(&b, json_object_get_string(v));
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *e = json_object_array_get_idx(v, i);
            if (!json_object_is_type(e, json_type_string)) {
                hk_buf_free(&b);
                return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where,
                                   "\"fixes\" entries must be strings");
            }
            hk_buf_printf(&b, "%s%s", i ? "," : "", json_object_get_string(e));
        }
    } else {
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where,
                           "\"fixes\" must be a string or an array");
    }
    char *s = hk_buf_steal(&b);
    if (!s)
        return hk_error_nomem(ctx);
    int bits;
    if (strcmp(s, "all") == 0)
        bits = H2K_FIX_ALL;
    else if (strcmp(s, "none") == 0 || *s == '\0')
        bits = 0;
    else
        bits = h2k_fix_kinds_parse(s);
    int rc = 0;
    if (bits < 0)
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "unknown repair in \"%s\"", s);
    free(s);
    *out = bits;
    return rc;
}

static char *
resolve(const char *base_dir, const char *p)
{
    if (p[0] == '/' || !base_dir)
        return strdup(p);
    return hk_path_join(base_dir, p);
}

/* A list of strings (array, or one string when @allow_single). */
static int
get_list(h2k_ctx *ctx, const char *doc, json_object *o, const char *key, const char *where,
         const char *base_dir, char ***out, size_t *n_out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (json_object_is_type(v, json_type_string)) {
        char *p = base_dir ? resolve(base_dir, json_object_get_string(v))
                           : strdup(json_object_get_string(v));
        if (!p || !(*out = calloc(1, sizeof(char *)))) {
            free(p);
            return hk_error_nomem(ctx);
        }
        (*out)[0] = p;
        *n_out = 1;
        return 0;
    }
    if (!json_object_is_type(v, json_type_array))
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "\"%s\" must be an array", key);
    size_t n = json_object_array_length(v);
    if (n > PLAN_MAX_ITEMS)
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "too many \"%s\" (%zu)", key, n);
    if (n == 0)
        return 0;
    *out = calloc(n, sizeof(char *));
    if (!*out)
        return hk_error_nomem(ctx);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string) || json_object_get_string_len(e) == 0)
            return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where,
                               "\"%s\"[%zu] must be a non-empty string", key, i);
        const char *s = json_object_get_string(e);
        (*out)[i] = base_dir ? resolve(base_dir, s) : strdup(s);
        if (!(*out)[i])
            return hk_error_nomem(ctx);
        *n_out = i + 1;
    }
    return 0;
}

static int
parse_vm(h2k_ctx *ctx, const char *doc, json_object *o, size_t idx, const char *base_dir,
         const h2k_plan_vsphere *plan_vs, const h2k_plan_azure *plan_az, h2k_plan_vm *v)
{
    char where[64];
    snprintf(where, sizeof(where), "vms[%zu]", idx);
    if (!json_object_is_type(o, json_type_object))
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "a VM must be an object");
    const char *s;
    int rc;
    if ((rc = get_string(ctx, doc, o, "name", where, &s)) < 0)
        return rc;
    if (!s)
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "a VM needs a \"name\"");
    if (strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "bad VM name \"%s\"", s);
    if (!(v->name = strdup(s)))
        return hk_error_nomem(ctx);
    if ((rc = get_list(ctx, doc, o, "inputs", where, base_dir, &v->inputs, &v->n_inputs)) < 0)
        return rc;
    if ((rc = hk_plan_vm_azure_parse(ctx, doc, o, idx, base_dir, plan_az, plan_vs != NULL, v)) <
        0)
        return rc;
    if (!v->azure && (rc = hk_plan_vm_vsphere_parse(ctx, doc, o, idx, base_dir, plan_vs, v)) < 0)
        return rc;
    if (v->n_inputs == 0 && !v->vm)
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "VM \"%s\" has no \"inputs\"",
                           v->name);
    if ((rc = get_list(ctx, doc, o, "macs", where, NULL, &v->nic_macs, &v->n_nic_macs)) < 0)
        return rc;
    if ((rc = get_string(ctx, doc, o, "output_dir", where, &s)) < 0)
        return rc;
    if (s && !(v->output_dir = resolve(base_dir, s)))
        return hk_error_nomem(ctx);
    if ((rc = get_string(ctx, doc, o, "virtio_win", where, &s)) < 0)
        return rc;
    if (s && !(v->virtio_win = resolve(base_dir, s)))
        return hk_error_nomem(ctx);
    if ((rc = get_string(ctx, doc, o, "format", where, &s)) < 0)
        return rc;
    if (s && strcmp(s, "qcow2") != 0 && strcmp(s, "raw") != 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "\"format\" must be qcow2 or raw");
    if (s)
        v->output_format = h2k_disk_format_from_name(s);
    if ((rc = get_bool(ctx, doc, o, "compress", where, &v->compress)) < 0 ||
        (rc = get_bool(ctx, doc, o, "dry_run", where, &v->dry_run)) < 0 ||
        (rc = get_bool(ctx, doc, o, "test_boot", where, &v->test_boot)) < 0 ||
        (rc = get_fixes(ctx, doc, o, where, &v->fixes)) < 0)
        return rc;
    return 0;
}

int
h2k_plan_parse(h2k_ctx *ctx, const char *json, size_t len, const char *base_dir,
               const char *name_for_errors, h2k_plan **out)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!json || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_plan_parse: NULL argument");
    *out = NULL;
    const char *doc = name_for_errors ? name_for_errors : "plan";
    if (len > PLAN_MAX_SIZE || len > INT32_MAX)
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, NULL, "plan too large");
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return hk_error_nomem(ctx);
    json_object *root = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t at = tok->char_offset;
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        json_object_put(root);
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, (int64_t)at, NULL, "invalid JSON: %s",
                           json_tokener_error_desc(jerr));
    }
    int rc = hk_plan_from_json(ctx, root, base_dir, doc, out);
    json_object_put(root);
    return rc;
}

int
hk_plan_from_json(h2k_ctx *ctx, json_object *root, const char *base_dir, const char *doc,
                  h2k_plan **out)
{
    int rc = 0;
    h2k_plan *p = calloc(1, sizeof(*p));
    if (!p)
        return hk_error_nomem(ctx);
    p->fixes = H2K_FIX_ALL;
    p->jobs = 1;
    json_object *vms = NULL, *v = NULL, *defs = NULL, *names = NULL;
    const char *s;
    if (!json_object_is_type(root, json_type_object)) {
        rc =
            hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, NULL, "a plan must be an object (a mapping)");
        goto done;
    }
    if ((rc = get_string(ctx, doc, root, "output_dir", "output_dir", &s)) < 0)
        goto done;
    if (s && !(p->output_dir = resolve(base_dir, s))) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    if (json_object_object_get_ex(root, "jobs", &v)) {
        int64_t j = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || j < 1 || j > 64) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, "jobs",
                             "\"jobs\" must be an integer from 1 to 64");
            goto done;
        }
        p->jobs = (unsigned)j;
    }
    if (json_object_object_get_ex(root, "defaults", &defs)) {
        int b;
        if (!json_object_is_type(defs, json_type_object)) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, "defaults",
                             "\"defaults\" must be an object");
            goto done;
        }
        if ((rc = get_bool(ctx, doc, defs, "compress", "defaults", &b)) < 0)
            goto done;
        p->compress = b > 0;
        if ((rc = get_bool(ctx, doc, defs, "dry_run", "defaults", &b)) < 0)
            goto done;
        p->dry_run = b > 0;
        if ((rc = get_bool(ctx, doc, defs, "test_boot", "defaults", &b)) < 0)
            goto done;
        p->test_boot = b > 0;
        if ((rc = get_fixes(ctx, doc, defs, "defaults", &b)) < 0)
            goto done;
        const char *vw = NULL;
        if ((rc = get_string(ctx, doc, defs, "virtio_win", "defaults", &vw)) < 0)
            goto done;
        if (vw && !(p->virtio_win = resolve(base_dir, vw))) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
        if (b >= 0)
            p->fixes = (unsigned)b;
    }
    if (json_object_object_get_ex(root, "vsphere", &v) && !json_object_is_type(v, json_type_null) &&
        (rc = hk_plan_vsphere_parse(ctx, doc, v, "vsphere", base_dir, NULL, &p->vsphere)) < 0)
        goto done;
    if (json_object_object_get_ex(root, "azure", &v) && !json_object_is_type(v, json_type_null) &&
        (rc = hk_plan_azure_parse(ctx, doc, v, "azure", base_dir, NULL, &p->azure)) < 0)
        goto done;
    if (!json_object_object_get_ex(root, "vms", &vms) ||
        !json_object_is_type(vms, json_type_array)) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, "vms", "a plan needs a \"vms\" array");
        goto done;
    }
    size_t n = json_object_array_length(vms);
    if (n == 0 || n > PLAN_MAX_VMS) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, "vms", "a plan needs 1 to %u VMs, not %zu",
                         PLAN_MAX_VMS, n);
        goto done;
    }
    if (!(p->vms = calloc(n, sizeof(*p->vms)))) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    /* the names seen so far, in a hash table (a json-c object): a plan of
       100,000 VMs is checked in linear time */
    names = json_object_new_object();
    if (!names) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        p->n_vms = i + 1;
        if ((i & 1023) == 0 && (rc = hk_check_cancel(ctx)) < 0)
            goto done;
        if ((rc = parse_vm(ctx, doc, json_object_array_get_idx(vms, i), i, base_dir, p->vsphere,
                           p->azure, &p->vms[i])) < 0)
            goto done;
        if (json_object_object_get_ex(names, p->vms[i].name, NULL)) {
            char where[64];
            snprintf(where, sizeof(where), "vms[%zu].name", i);
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where,
                             "VM name \"%s\" is used twice", p->vms[i].name);
            goto done;
        }
        if (json_object_object_add(names, p->vms[i].name, NULL) != 0) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
        if (!p->vms[i].output_dir && !p->output_dir) {
            char where[64];
            snprintf(where, sizeof(where), "vms[%zu].output_dir", i);
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where,
                             "no \"output_dir\" for VM \"%s\" nor for the plan", p->vms[i].name);
            goto done;
        }
    }
done:
    json_object_put(names);
    if (rc < 0) {
        h2k_plan_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* YAML by the extension (.yaml, .yml); JSON for .json; else YAML unless the
 * text starts with '{'. */
static bool
plan_is_yaml(const char *path, const char *text, size_t len)
{
    if (hk_endswith_nocase(path, ".yaml") || hk_endswith_nocase(path, ".yml"))
        return true;
    if (hk_endswith_nocase(path, ".json"))
        return false;
    size_t i = 0;
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
        i = 3;
    while (i < len && text[i] && strchr(" \t\r\n", text[i]))
        i++;
    return i == len || text[i] != '{';
}

int
h2k_plan_parse_file(h2k_ctx *ctx, const char *path, h2k_plan **out)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!path || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_plan_parse_file: NULL argument");
    char *text = NULL, *dir = NULL, *abs = hk_abspath(path);
    size_t len = 0;
    int rc = hk_read_file(ctx, path, PLAN_MAX_SIZE, &text, &len);
    if (rc == 0) {
        dir = abs ? hk_dirname(abs) : NULL;
        if (!dir)
            rc = hk_error_nomem(ctx);
    }
    if (rc == 0)
        rc = plan_is_yaml(path, text, len) ? h2k_plan_parse_yaml(ctx, text, len, dir, path, out)
                                           : h2k_plan_parse(ctx, text, len, dir, path, out);
    if (rc == 0) {
        (*out)->path = abs;
        abs = NULL;
    }
    free(text);
    free(dir);
    free(abs);
    return rc;
}

/* ---------------------------------------------------------------- state */

const char *
h2k_vm_state_name(h2k_vm_state st)
{
    switch (st) {
    case H2K_VM_PENDING:
        return "pending";
    case H2K_VM_RUNNING:
        return "running";
    case H2K_VM_DONE:
        return "done";
    case H2K_VM_FAILED:
        return "failed";
    }
    return "pending";
}

static int
state_from_name(const char *s)
{
    for (int i = H2K_VM_PENDING; i <= H2K_VM_FAILED; i++)
        if (strcmp(s, h2k_vm_state_name((h2k_vm_state)i)) == 0)
            return i;
    return -1;
}

void
h2k_batch_state_free(h2k_batch_state *state)
{
    if (!state)
        return;
    for (size_t i = 0; i < state->n_entries; i++) {
        free(state->entries[i].name);
        free(state->entries[i].message);
    }
    free(state->entries);
    free(state);
}

h2k_batch_entry *
h2k_batch_state_find(h2k_batch_state *state, const char *name)
{
    if (!state || !name)
        return NULL;
    for (size_t i = 0; i < state->n_entries; i++)
        if (strcmp(state->entries[i].name, name) == 0)
            return &state->entries[i];
    return NULL;
}

int
h2k_batch_state_set(h2k_batch_state *state, const char *name, h2k_vm_state st, int code,
                    const char *message, double seconds)
{
    if (!state || !name)
        return H2K_ERR_INVALID_ARG;
    h2k_batch_entry *e = h2k_batch_state_find(state, name);
    if (!e) {
        h2k_batch_entry *ne = realloc(state->entries, (state->n_entries + 1) * sizeof(*ne));
        if (!ne)
            return H2K_ERR_NO_MEMORY;
        state->entries = ne;
        e = &ne[state->n_entries];
        memset(e, 0, sizeof(*e));
        if (!(e->name = strdup(name)))
            return H2K_ERR_NO_MEMORY;
        state->n_entries++;
    }
    char *m = message ? strdup(message) : NULL;
    if (message && !m)
        return H2K_ERR_NO_MEMORY;
    free(e->message);
    e->message = m;
    e->state = st;
    e->code = code;
    e->seconds = seconds;
    return 0;
}

int
h2k_batch_state_load(h2k_ctx *ctx, const char *path, h2k_batch_state **out)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!path || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_batch_state_load: NULL argument");
    *out = NULL;
    h2k_batch_state *st = calloc(1, sizeof(*st));
    if (!st)
        return hk_error_nomem(ctx);
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        *out = st;
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    int rc = hk_read_file(ctx, path, PLAN_MAX_SIZE, &text, &len);
    json_object *root = NULL, *vms = NULL;
    if (rc < 0)
        goto done;
    root = json_tokener_parse(text);
    if (!root || !json_object_object_get_ex(root, "vms", &vms) ||
        !json_object_is_type(vms, json_type_array)) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, -1, "vms",
                         "not a batch state file (no \"vms\" array)");
        goto done;
    }
    for (size_t i = 0; i < json_object_array_length(vms); i++) {
        json_object *e = json_object_array_get_idx(vms, i), *v;
        const char *name = NULL, *state = NULL, *msg = NULL;
        int code = 0;
        double secs = 0;
        if (json_object_object_get_ex(e, "name", &v) && json_object_is_type(v, json_type_string))
            name = json_object_get_string(v);
        if (json_object_object_get_ex(e, "state", &v) && json_object_is_type(v, json_type_string))
            state = json_object_get_string(v);
        if (json_object_object_get_ex(e, "message", &v) && json_object_is_type(v, json_type_string))
            msg = json_object_get_string(v);
        if (json_object_object_get_ex(e, "code", &v))
            code = json_object_get_int(v);
        if (json_object_object_get_ex(e, "seconds", &v))
            secs = json_object_get_double(v);
        int sv = state ? state_from_name(state) : -1;
        if (!name || sv < 0) {
            char where[64];
            snprintf(where, sizeof(where), "vms[%zu]", i);
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, -1, where,
                             "an entry needs a name and a known state");
            goto done;
        }
        /* a VM "running" when the batch stopped did not finish */
        if (sv == H2K_VM_RUNNING)
            sv = H2K_VM_PENDING;
        if (h2k_batch_state_set(st, name, (h2k_vm_state)sv, code, msg, secs) < 0) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
    }
done:
    json_object_put(root);
    free(text);
    if (rc < 0) {
        h2k_batch_state_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

int
h2k_batch_state_save(h2k_ctx *ctx, const char *path, const h2k_batch_state *state)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!path || !state)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_batch_state_save: NULL argument");
    json_object *root = json_object_new_object();
    json_object *arr = json_object_new_array();
    if (!root || !arr) {
        json_object_put(root);
        json_object_put(arr);
        return hk_error_nomem(ctx);
    }
    json_object_object_add(root, "version", json_object_new_int(1));
    for (size_t i = 0; i < state->n_entries; i++) {
        const h2k_batch_entry *e = &state->entries[i];
        json_object *o = json_object_new_object();
        hk_json_add_str(o, "name", e->name);
        hk_json_add_str(o, "state", h2k_vm_state_name(e->state));
        json_object_object_add(o, "code", json_object_new_int(e->code));
        hk_json_add_str(o, "message", e->message);
        json_object_object_add(o, "seconds", json_object_new_double(e->seconds));
        json_object_array_add(arr, o);
    }
    json_object_object_add(root, "vms", arr);
    char *text = hk_json_steal_string(root);
    if (!text)
        return hk_error_nomem(ctx);
    int rc = h2k_output_write_file(ctx, path, text);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- batch */

typedef struct batch {
    h2k_ctx *ctx;
    const h2k_plan *plan;
    const char *state_path;
    h2k_batch_state *state;
    pthread_mutex_t lock;
    size_t next;
    size_t n_failed;
    int save_rc;
    h2k_batch_fn on_vm;
    void *userdata;
} batch;

typedef struct batch_worker {
    batch *b;
    h2k_ctx *ctx;
    pthread_t tid;
    int started;
    h2k_vmware_client *vmw;           /* this worker's login, kept for its next VMs */
    const h2k_plan_vsphere *vmw_server; /* the server it is logged in to */
} batch_worker;

static void
run_one(batch_worker *w, const h2k_plan_vm *vm)
{
    batch *b = w->b;
    const h2k_plan *p = b->plan;
    char *out_dir = vm->output_dir ? strdup(vm->output_dir) : hk_path_join(p->output_dir, vm->name);
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = (const char *const *)vm->inputs;
    o.n_inputs = vm->n_inputs;
    o.output_dir = out_dir;
    o.name = vm->name;
    o.output_format = vm->output_format;
    o.compress = vm->compress >= 0 ? vm->compress : p->compress;
    o.fixes = vm->fixes >= 0 ? (unsigned)vm->fixes : p->fixes;
    o.dry_run = vm->dry_run >= 0 ? vm->dry_run : p->dry_run;
    o.test_boot = vm->test_boot >= 0 ? vm->test_boot : p->test_boot;
    o.nic_macs = (const char *const *)vm->nic_macs;
    o.n_nic_macs = vm->n_nic_macs;
    o.virtio_win = vm->virtio_win ? vm->virtio_win : p->virtio_win;
    h2k_migration_result *res = NULL;
    double t0 = hk_now();
    h2k_ctx_clear_error(w->ctx);
    int rc = out_dir ? 0 : H2K_ERR_NO_MEMORY;
    h2k_azure_client *azc = NULL;
    if (rc == 0 && vm->azure) {
        /* a client per VM: its token is fetched when the download starts */
        if ((rc = hk_plan_azure_connect(w->ctx, vm->azure, &azc)) < 0)
            hk_error_set_stage(w->ctx, "export");
        o.inputs = NULL;
        o.n_inputs = 0;
        o.azure = azc;
        o.azure_vm = vm->vm;
    } else if (rc == 0 && vm->vm) {
        /* one login per worker and server, kept for the worker's next VMs */
        if (w->vmw && !hk_plan_vsphere_same_server(w->vmw_server, vm->vsphere)) {
            h2k_vmware_client_free(w->vmw);
            w->vmw = NULL;
        }
        if (!w->vmw && (rc = hk_plan_vsphere_connect(w->ctx, vm->vsphere, &w->vmw)) < 0)
            hk_error_set_stage(w->ctx, "export");
        w->vmw_server = vm->vsphere;
        o.inputs = NULL;
        o.n_inputs = 0;
        o.vmware = w->vmw;
        o.vmware_vm = vm->vm;
        o.vmware_transport = vm->vsphere->transport;
    }
    if (rc == 0)
        rc = h2k_orchestrator_run(w->ctx, &o, &res);
    h2k_azure_client_free(azc);
    double secs = hk_now() - t0;
    bool cancelled = rc == H2K_ERR_CANCELLED || h2k_ctx_is_cancelled(b->ctx);
    pthread_mutex_lock(&b->lock);
    if (cancelled && rc < 0)
        h2k_batch_state_set(b->state, vm->name, H2K_VM_PENDING, 0, NULL, secs);
    else if (rc < 0)
        h2k_batch_state_set(b->state, vm->name, H2K_VM_FAILED, rc,
                            h2k_ctx_last_error(w->ctx)->message, secs);
    else
        h2k_batch_state_set(b->state, vm->name, H2K_VM_DONE, 0, NULL, secs);
    if (rc < 0 && !cancelled)
        b->n_failed++;
    if (b->state_path && h2k_batch_state_save(w->ctx, b->state_path, b->state) < 0)
        b->save_rc = H2K_ERR_IO;
    if (b->on_vm)
        b->on_vm(b->userdata, vm, rc, res);
    pthread_mutex_unlock(&b->lock);
    h2k_migration_result_free(res);
    free(out_dir);
}

static void *
batch_thread(void *arg)
{
    batch_worker *w = arg;
    batch *b = w->b;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        const h2k_plan_vm *vm = NULL;
        while (b->next < b->plan->n_vms && !h2k_ctx_is_cancelled(w->ctx)) {
            const h2k_plan_vm *cand = &b->plan->vms[b->next++];
            h2k_batch_entry *e = h2k_batch_state_find(b->state, cand->name);
            if (e && e->state == H2K_VM_DONE)
                continue; /* finished in an earlier run */
            vm = cand;
            h2k_batch_state_set(b->state, vm->name, H2K_VM_RUNNING, 0, NULL, 0);
            if (b->state_path)
                h2k_batch_state_save(w->ctx, b->state_path, b->state);
            break;
        }
        pthread_mutex_unlock(&b->lock);
        if (!vm)
            break;
        run_one(w, vm);
    }
    h2k_vmware_client_free(w->vmw);
    w->vmw = NULL;
    return NULL;
}

static void
forward_log(void *ud, h2k_log_level level, const char *domain, const char *msg)
{
    batch_worker *w = ud;
    hk_log(w->b->ctx, level, domain, "%s", msg);
}

int
h2k_batch_run(h2k_ctx *ctx, const h2k_plan *plan, const char *state_path, unsigned jobs,
              h2k_batch_fn on_vm, void *userdata)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!plan)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_batch_run: no plan");
    batch b;
    memset(&b, 0, sizeof(b));
    b.ctx = ctx;
    b.plan = plan;
    b.state_path = state_path;
    b.on_vm = on_vm;
    b.userdata = userdata;
    int rc = 0;
    if (state_path) {
        if ((rc = h2k_batch_state_load(ctx, state_path, &b.state)) < 0)
            return rc;
    } else if (!(b.state = calloc(1, sizeof(*b.state)))) {
        return hk_error_nomem(ctx);
    }
    if (jobs == 0)
        jobs = plan->jobs ? plan->jobs : 1;
    if (jobs > 64)
        jobs = 64;
    pthread_mutex_init(&b.lock, NULL);
    batch_worker *ws = calloc(jobs, sizeof(*ws));
    if (!ws) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    for (unsigned t = 0; t < jobs; t++) {
        ws[t].b = &b;
        if (h2k_ctx_new(&ws[t].ctx) < 0)
            break;
        h2k_ctx_set_tmpdir(ws[t].ctx, h2k_ctx_tmpdir(ctx));
        if (hk_ctx_copy_allowed_roots(ctx, ws[t].ctx) < 0) {
            h2k_ctx_free(ws[t].ctx);
            ws[t].ctx = NULL;
            break;
        }
        h2k_ctx_set_log(ws[t].ctx, forward_log, &ws[t], H2K_LOG_WARNING);
        if (pthread_create(&ws[t].tid, NULL, batch_thread, &ws[t]) != 0)
            break;
        ws[t].started = 1;
    }
    for (unsigned t = 0; t < jobs; t++) {
        if (!ws[t].started)
            continue;
        for (;;) {
            if (h2k_ctx_is_cancelled(ctx))
                for (unsigned k = 0; k < jobs; k++)
                    if (ws[k].ctx)
                        h2k_ctx_cancel(ws[k].ctx);
            if (pthread_tryjoin_np(ws[t].tid, NULL) == 0)
                break;
            usleep(50 * 1000);
        }
    }
    for (unsigned t = 0; t < jobs; t++)
        h2k_ctx_free(ws[t].ctx);
    free(ws);
    if (h2k_ctx_is_cancelled(ctx))
        rc = hk_error(ctx, H2K_ERR_CANCELLED, "batch cancelled");
    else if (b.save_rc < 0)
        rc = hk_error_at(ctx, H2K_ERR_IO, state_path, -1, NULL, "cannot save the state file");
    else if (b.n_failed)
        rc = hk_error(ctx, H2K_ERR_GENERIC, "%zu of %zu VMs failed", b.n_failed, plan->n_vms);
done:
    pthread_mutex_destroy(&b.lock);
    h2k_batch_state_free(b.state);
    return rc;
}
