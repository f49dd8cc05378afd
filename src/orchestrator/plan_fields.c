/*
 * Field readers shared by the "vsphere" and "azure" sections of plan files
 * (vsphere_source.c, azure_source.c): each error names the plan and the field.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "orch_internal.h"

int
hk_plan_field_error(h2k_ctx *ctx, const char *doc, const char *where, const char *key,
                    const char *fmt, ...)
{
    char field[96], msg[512];
    snprintf(field, sizeof(field), "%s.%s", where, key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, field, "%s", msg);
}

bool
hk_plan_has(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null);
}

int
hk_plan_str(h2k_ctx *ctx, const char *doc, json_object *o, const char *key, const char *where,
            const char *base_dir, char **dst)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
        return hk_plan_field_error(ctx, doc, where, key, "\"%s\" must be a non-empty string", key);
    const char *s = json_object_get_string(v);
    char *copy = base_dir && s[0] != '/' ? hk_path_join(base_dir, s) : strdup(s);
    if (!copy)
        return hk_error_nomem(ctx);
    free(*dst);
    *dst = copy;
    return 1;
}

int
hk_plan_bool(h2k_ctx *ctx, const char *doc, json_object *o, const char *key, const char *where,
             int *dst)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_boolean))
        return hk_plan_field_error(ctx, doc, where, key, "\"%s\" must be true or false", key);
    *dst = json_object_get_boolean(v) ? 1 : 0;
    return 0;
}

int
hk_plan_dup(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

void
hk_plan_wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

int
hk_plan_known_fields(h2k_ctx *ctx, const char *doc, const char *where, json_object *o,
                     const char *const *known)
{
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        size_t k = 0;
        while (known[k] && strcmp(known[k], key) != 0)
            k++;
        if (!known[k])
            return hk_plan_field_error(ctx, doc, where, key, "unknown field \"%s\"", key);
    }
    return 0;
}

int
hk_plan_vm_name(h2k_ctx *ctx, const char *doc, const char *where, json_object *name,
                h2k_plan_vm *vm)
{
    if (!json_object_is_type(name, json_type_string) || json_object_get_string_len(name) == 0)
        return hk_plan_field_error(ctx, doc, where, "vm",
                                   "\"vm\" must be the non-empty name of a VM");
    if (vm->n_inputs > 0)
        return hk_plan_field_error(ctx, doc, where, "vm",
                                   "VM \"%s\" has both \"inputs\" and \"vm\": give one source",
                                   vm->name);
    if (!(vm->vm = strdup(json_object_get_string(name))))
        return hk_error_nomem(ctx);
    return 0;
}

int
hk_plan_read_secret(h2k_ctx *ctx, const char *who, const char *what, const char *env_field,
                    const char *env, const char *file_field, const char *file, char **out)
{
    *out = NULL;
    if (env) {
        const char *e = getenv(env);
        if (!e || !*e)
            return hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, env_field,
                               "%s: the environment variable %s (the %s) is not set", who, env,
                               what);
        if (!(*out = strdup(e)))
            return hk_error_nomem(ctx);
        return 0;
    }
    if (!file)
        return 0;
    char *text = NULL;
    size_t len = 0;
    int rc = hk_read_file(ctx, file, 4096, &text, &len);
    if (rc < 0) {
        hk_error_prefix(ctx, "%s: %s file", who, what);
        return rc;
    }
    text[strcspn(text, "\r\n")] = '\0';
    if (!*text) {
        hk_plan_wipe_free(text);
        return hk_error_at(ctx, H2K_ERR_VALIDATION, file, -1, file_field, "the %s file is empty",
                           what);
    }
    *out = text;
    return 0;
}
