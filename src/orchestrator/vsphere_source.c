/*
 * vSphere as a source of the orchestrator and of batch plans: the export of a
 * run's VM with the run's context, the "vsphere" objects of plan files, and
 * the logins of batch workers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_util.h"
#include "orch_internal.h"
#include "providers/vmware/vmw_internal.h"

#define DOM "orchestrator"

/* ------------------------------------------------------------ one run */

int
hk_orch_vmware_export(h2k_ctx *ctx, h2k_vmware_client *client, const char *vm,
                      const char *transport, const char *staging, h2k_vmware_export_result **out)
{
    /* the client's calls record their errors, progress and cancel checks on
     * its context: lend it the run's for the export */
    h2k_ctx *own = client->ctx;
    client->ctx = ctx;
    hk_info(ctx, DOM, "exporting %s from %s over %s", vm, client->host,
            transport ? transport : "http");
    int rc = h2k_vmware_export_vm(client, vm, staging, transport, out);
    client->ctx = own;
    return rc;
}

char *
hk_orch_vmware_source_name(const h2k_vmware_client *client, const char *vm)
{
    return hk_asprintf("vsphere://%s/%s", client->host, vm);
}

/* ------------------------------------------------------------ plans */

void
hk_plan_vsphere_free(h2k_plan_vsphere *v)
{
    if (!v)
        return;
    free(v->host);
    free(v->user);
    free(v->password_env);
    free(v->password_file);
    free(v->datacenter);
    free(v->ca_file);
    free(v->thumbprint);
    free(v->transport);
    free(v);
}

/* "https://host[:port][/sdk]" -> "host[:port]". */
static char *
host_from_url(const char *url)
{
    const char *p = url;
    if (strncmp(p, "https://", 8) == 0)
        p += 8;
    else
        return NULL;
    size_t n = strcspn(p, "/?#");
    if (n == 0 || strchr(p + n, '@') || memchr(p, '@', n))
        return NULL;
    const char *rest = p + n;
    if (*rest && strcmp(rest, "/") != 0 && strcmp(rest, "/sdk") != 0 && strcmp(rest, "/sdk/") != 0)
        return NULL;
    return hk_strndup(p, n);
}

int
hk_plan_vsphere_parse(h2k_ctx *ctx, const char *doc, json_object *o, const char *where,
                      const char *base_dir, const h2k_plan_vsphere *base, h2k_plan_vsphere **out)
{
    *out = NULL;
    json_object *empty = NULL;
    if (!o)
        o = empty = json_object_new_object(); /* a copy of @base */
    if (!o)
        return hk_error_nomem(ctx);
    if (!json_object_is_type(o, json_type_object))
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "\"vsphere\" must be an object");
    static const char *const known[] = {"host",          "url",        "user",     "password_env",
                                        "password_file", "datacenter", "insecure", "ca_file",
                                        "thumbprint",    "transport",  "password", NULL};
    int rc = hk_plan_known_fields(ctx, doc, where, o, known);
    if (rc < 0) {
        json_object_put(empty);
        return rc;
    }
    json_object *v;
    if (json_object_object_get_ex(o, "password", &v))
        return hk_plan_field_error(ctx, doc, where, "password",
                                   "\"password\" is not allowed in a plan: use password_env or "
                                   "password_file");
    h2k_plan_vsphere *p = calloc(1, sizeof(*p));
    if (!p) {
        json_object_put(empty);
        return hk_error_nomem(ctx);
    }
    if (base && (hk_plan_dup(&p->host, base->host) < 0 || hk_plan_dup(&p->user, base->user) < 0 ||
                 hk_plan_dup(&p->password_env, base->password_env) < 0 ||
                 hk_plan_dup(&p->password_file, base->password_file) < 0 ||
                 hk_plan_dup(&p->datacenter, base->datacenter) < 0 ||
                 hk_plan_dup(&p->ca_file, base->ca_file) < 0 ||
                 hk_plan_dup(&p->thumbprint, base->thumbprint) < 0 ||
                 hk_plan_dup(&p->transport, base->transport) < 0)) {
        hk_plan_vsphere_free(p);
        json_object_put(empty);
        return hk_error_nomem(ctx);
    }
    if (base)
        p->insecure = base->insecure;
    char *url = NULL;
    if ((rc = hk_plan_str(ctx, doc, o, "host", where, NULL, &p->host)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "url", where, NULL, &url)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "user", where, NULL, &p->user)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "datacenter", where, NULL, &p->datacenter)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "thumbprint", where, NULL, &p->thumbprint)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "transport", where, NULL, &p->transport)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "ca_file", where, base_dir, &p->ca_file)) < 0)
        goto done;
    if (url) {
        if (json_object_object_get_ex(o, "host", &v)) {
            rc = hk_plan_field_error(ctx, doc, where, "url", "give \"host\" or \"url\", not both");
            goto done;
        }
        char *h = host_from_url(url);
        if (!h) {
            rc = hk_plan_field_error(ctx, doc, where, "url",
                                     "\"url\" must look like https://HOST[:PORT]/sdk, not \"%s\"",
                                     url);
            goto done;
        }
        free(p->host);
        p->host = h;
    }
    /* a password source given here replaces the inherited one */
    bool has_env = json_object_object_get_ex(o, "password_env", &v) &&
                   !json_object_is_type(v, json_type_null);
    bool has_file = json_object_object_get_ex(o, "password_file", &v) &&
                    !json_object_is_type(v, json_type_null);
    if (has_env && has_file) {
        rc = hk_plan_field_error(ctx, doc, where, "password_env",
                                 "give \"password_env\" or \"password_file\", not both");
        goto done;
    }
    if (has_env) {
        free(p->password_file);
        p->password_file = NULL;
        if ((rc = hk_plan_str(ctx, doc, o, "password_env", where, NULL, &p->password_env)) < 0)
            goto done;
    }
    if (has_file) {
        free(p->password_env);
        p->password_env = NULL;
        if ((rc = hk_plan_str(ctx, doc, o, "password_file", where, base_dir, &p->password_file)) <
            0)
            goto done;
    }
    if ((rc = hk_plan_bool(ctx, doc, o, "insecure", where, &p->insecure)) < 0)
        goto done;
    if (p->transport && strcmp(p->transport, "http") != 0 && strcmp(p->transport, "nfc") != 0 &&
        strcmp(p->transport, "vddk") != 0) {
        rc = hk_plan_field_error(ctx, doc, where, "transport",
                                 "\"transport\" must be http, nfc or vddk, not \"%s\"",
                                 p->transport);
        goto done;
    }
    rc = 0;
done:
    free(url);
    json_object_put(empty);
    if (rc < 0) {
        hk_plan_vsphere_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int
hk_plan_vsphere_check(h2k_ctx *ctx, const char *doc, const char *where, const h2k_plan_vsphere *v)
{
    if (!v->host)
        return hk_plan_field_error(ctx, doc, where, "host",
                                   "no \"host\" (or \"url\") for the server");
    if (!v->user)
        return hk_plan_field_error(ctx, doc, where, "user", "no \"user\" for the server");
    if (!v->password_env && !v->password_file)
        return hk_plan_field_error(ctx, doc, where, "password_env",
                                   "no \"password_env\" nor \"password_file\" for the server");
    return 0;
}

int
hk_plan_vm_vsphere_parse(h2k_ctx *ctx, const char *doc, json_object *o, size_t idx,
                         const char *base_dir, const h2k_plan_vsphere *plan_vs, h2k_plan_vm *vm)
{
    char where[64];
    snprintf(where, sizeof(where), "vms[%zu]", idx);
    json_object *name = NULL, *vs = NULL;
    bool has_vm = json_object_object_get_ex(o, "vm", &name);
    bool has_vs = json_object_object_get_ex(o, "vsphere", &vs) &&
                  !json_object_is_type(vs, json_type_null);
    if (!has_vm) {
        if (has_vs)
            return hk_plan_field_error(ctx, doc, where, "vsphere",
                                       "\"vsphere\" is given but not the \"vm\" to export");
        return 0;
    }
    int rc = hk_plan_vm_name(ctx, doc, where, name, vm);
    if (rc < 0)
        return rc;
    char vs_where[80];
    snprintf(vs_where, sizeof(vs_where), "%s.vsphere", where);
    if (has_vs) {
        if ((rc = hk_plan_vsphere_parse(ctx, doc, vs, vs_where, base_dir, plan_vs, &vm->vsphere)) <
            0)
            return rc;
    } else if (plan_vs) {
        if ((rc = hk_plan_vsphere_parse(ctx, doc, NULL, vs_where, base_dir, plan_vs,
                                        &vm->vsphere)) < 0)
            return rc;
    } else {
        return hk_plan_field_error(ctx, doc, where, "vsphere",
                                   "VM \"%s\" is on vSphere but neither it nor the plan has a "
                                   "\"vsphere\" object",
                                   vm->name);
    }
    return hk_plan_vsphere_check(ctx, doc, vs_where, vm->vsphere);
}

/* ------------------------------------------------------------ logins */

static bool
same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool
hk_plan_vsphere_same_server(const h2k_plan_vsphere *a, const h2k_plan_vsphere *b)
{
    return a && b && same_str(a->host, b->host) && same_str(a->user, b->user) &&
           same_str(a->password_env, b->password_env) &&
           same_str(a->password_file, b->password_file) && same_str(a->datacenter, b->datacenter) &&
           a->insecure == b->insecure && same_str(a->ca_file, b->ca_file) &&
           same_str(a->thumbprint, b->thumbprint);
}

int
hk_plan_vsphere_connect(h2k_ctx *ctx, const h2k_plan_vsphere *v, h2k_vmware_client **out)
{
    *out = NULL;
    char *password = NULL;
    int rc = hk_plan_read_secret(ctx, v->host, "password", "password_env", v->password_env,
                                 "password_file", v->password_file, &password);
    if (rc < 0)
        return rc;
    h2k_vmware_options o = H2K_VMWARE_OPTIONS_INIT;
    o.host = v->host;
    o.user = v->user;
    o.password = password;
    o.datacenter = v->datacenter;
    o.insecure = v->insecure;
    o.ca_file = v->ca_file;
    o.thumbprint = v->thumbprint;
    rc = h2k_vmware_client_new(ctx, &o, out);
    hk_plan_wipe_free(password);
    return rc;
}
