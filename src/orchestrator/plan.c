/*
 * Plans: the one place plan files are read into an h2k_plan.  JSON text is
 * parsed here, YAML in plan_yaml.c; both give a json-c tree that
 * hk_plan_from_json() checks and turns into the plan (the vsphere and azure
 * sections in vsphere_source.c and azure_source.c).  Running a plan is
 * batch.c's job.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_util.h"
#include "hyper2kvm/h2k_fix.h"
#include "orch_internal.h"

#define PLAN_MAX_SIZE HK_PLAN_MAX_SIZE
#define PLAN_MAX_VMS 100000u
#define PLAN_MAX_ITEMS 1024u

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
    if ((rc = hk_plan_vm_azure_parse(ctx, doc, o, idx, base_dir, plan_az, plan_vs != NULL, v)) < 0)
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
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, NULL,
                         "a plan must be an object (a mapping)");
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
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "VM name \"%s\" is used twice",
                             p->vms[i].name);
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
