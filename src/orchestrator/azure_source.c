/*
 * Azure as a source of the orchestrator: the download of a run's VM with the
 * run's context, presented like a vSphere export (spec with local disk paths,
 * the disks, an OVF descriptor for the virt-v2v backend).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orch_internal.h"
#include "providers/azure/az_internal.h"
#include "providers/vmware/vmw_internal.h"

#define DOM "orchestrator"

const char *
hk_orch_azure_vm_name(const h2k_run_options *opts)
{
    if (opts->azure_vm && *opts->azure_vm)
        return opts->azure_vm;
    return opts->azure ? opts->azure->vm_name : NULL;
}

char *
hk_orch_azure_source_name(const h2k_azure_client *client, const char *vm)
{
    return hk_asprintf("azure://%s/%s/%s", client->subscription, client->resource_group,
                       vm ? vm : "");
}

int
hk_orch_azure_export(h2k_ctx *ctx, h2k_azure_client *client, const char *vm, const char *staging,
                     h2k_vmware_export_result **out)
{
    *out = NULL;
    h2k_ctx *own = client->ctx;
    client->ctx = ctx;
    hk_info(ctx, DOM, "downloading the disks of Azure VM %s", vm ? vm : client->vm_name);
    h2k_azure_download_result *dl = NULL;
    int rc = h2k_azure_download_vm(client, vm, staging, &dl);
    client->ctx = own;
    if (rc < 0)
        return rc;
    h2k_vmware_export_result *res = calloc(1, sizeof(*res));
    char **hrefs = calloc(dl->n_disks ? dl->n_disks : 1, sizeof(char *));
    if (!res || !hrefs) {
        free(res);
        free(hrefs);
        h2k_azure_download_result_free(dl);
        return hk_error_nomem(ctx);
    }
    res->vm_name = dl->vm_name;
    dl->vm_name = NULL;
    res->output_dir = dl->output_dir;
    dl->output_dir = NULL;
    res->n_disks = dl->n_disks;
    res->disk_paths = dl->disk_paths;
    dl->disk_paths = NULL;
    dl->n_disks = 0;
    res->spec = dl->vm->spec;
    dl->vm->spec = NULL;
    res->bytes_downloaded = dl->bytes_downloaded;
    res->bytes_resumed = dl->bytes_resumed;
    res->used_snapshot = dl->used_snapshot;
    res->transport = strdup("azure");
    res->ovf_path = hk_asprintf("%s/%s.ovf", res->output_dir, res->vm_name);
    h2k_azure_download_result_free(dl);
    if (!res->transport || !res->ovf_path)
        rc = hk_error_nomem(ctx);
    for (size_t i = 0; rc == 0 && i < res->n_disks; i++) {
        const char *b = strrchr(res->disk_paths[i], '/');
        if (!(hrefs[i] = strdup(b ? b + 1 : res->disk_paths[i])))
            rc = hk_error_nomem(ctx);
    }
    if (rc == 0)
        rc = hk_vmw_write_ovf(ctx, res->spec, (const char *const *)hrefs,
                              "http://technet.microsoft.com/en-us/library/bb676673.aspx",
                              res->ovf_path);
    for (size_t i = 0; i < res->n_disks; i++)
        free(hrefs[i]);
    free(hrefs);
    if (rc < 0) {
        h2k_vmware_export_result_free(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* ------------------------------------------------------------ plans */

void
hk_plan_azure_free(h2k_plan_azure *a)
{
    if (!a)
        return;
    free(a->subscription_id);
    free(a->resource_group);
    free(a->tenant_id);
    free(a->client_id);
    free(a->client_secret_env);
    free(a->client_secret_file);
    free(a->authority_host);
    free(a->resource_manager);
    free(a->ca_file);
    free(a);
}

int
hk_plan_azure_parse(h2k_ctx *ctx, const char *doc, json_object *o, const char *where,
                    const char *base_dir, const h2k_plan_azure *base, h2k_plan_azure **out)
{
    *out = NULL;
    if (o && !json_object_is_type(o, json_type_object))
        return hk_error_at(ctx, H2K_ERR_FORMAT, doc, -1, where, "\"azure\" must be an object");
    static const char *const known[] = {"subscription_id",   "resource_group",
                                        "tenant_id",         "client_id",
                                        "client_secret_env", "client_secret_file",
                                        "managed_identity",  "authority_host",
                                        "resource_manager",  "ca_file",
                                        "insecure",          "snapshot",
                                        "client_secret",     NULL};
    if (o) {
        int rc = hk_plan_known_fields(ctx, doc, where, o, known);
        if (rc < 0)
            return rc;
        if (hk_plan_has(o, "client_secret"))
            return hk_plan_field_error(ctx, doc, where, "client_secret",
                                       "\"client_secret\" is not allowed in a plan: use "
                                       "client_secret_env or client_secret_file");
    }
    h2k_plan_azure *p = calloc(1, sizeof(*p));
    if (!p)
        return hk_error_nomem(ctx);
    int rc = 0;
    if (base && (hk_plan_dup(&p->subscription_id, base->subscription_id) < 0 ||
                 hk_plan_dup(&p->resource_group, base->resource_group) < 0 ||
                 hk_plan_dup(&p->tenant_id, base->tenant_id) < 0 ||
                 hk_plan_dup(&p->client_id, base->client_id) < 0 ||
                 hk_plan_dup(&p->client_secret_env, base->client_secret_env) < 0 ||
                 hk_plan_dup(&p->client_secret_file, base->client_secret_file) < 0 ||
                 hk_plan_dup(&p->authority_host, base->authority_host) < 0 ||
                 hk_plan_dup(&p->resource_manager, base->resource_manager) < 0 ||
                 hk_plan_dup(&p->ca_file, base->ca_file) < 0)) {
        hk_plan_azure_free(p);
        return hk_error_nomem(ctx);
    }
    if (base) {
        p->managed_identity = base->managed_identity;
        p->insecure = base->insecure;
        p->snapshot = base->snapshot;
    }
    if (!o) {
        *out = p;
        return 0;
    }
    /* a credential given here replaces the inherited one */
    int n_cred = hk_plan_has(o, "client_secret_env") + hk_plan_has(o, "client_secret_file") +
                 hk_plan_has(o, "managed_identity");
    if (n_cred > 1) {
        rc = hk_plan_field_error(ctx, doc, where, "client_secret_env",
                                 "give one of \"client_secret_env\", \"client_secret_file\" and "
                                 "\"managed_identity\"");
        goto done;
    }
    if (n_cred) {
        free(p->client_secret_env);
        free(p->client_secret_file);
        p->client_secret_env = p->client_secret_file = NULL;
        p->managed_identity = 0;
    }
    if ((rc = hk_plan_str(ctx, doc, o, "subscription_id", where, NULL, &p->subscription_id)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "resource_group", where, NULL, &p->resource_group)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "tenant_id", where, NULL, &p->tenant_id)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "client_id", where, NULL, &p->client_id)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "client_secret_env", where, NULL, &p->client_secret_env)) <
            0 ||
        (rc = hk_plan_str(ctx, doc, o, "client_secret_file", where, base_dir,
                          &p->client_secret_file)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "authority_host", where, NULL, &p->authority_host)) < 0 ||
        (rc = hk_plan_str(ctx, doc, o, "resource_manager", where, NULL, &p->resource_manager)) <
            0 ||
        (rc = hk_plan_str(ctx, doc, o, "ca_file", where, base_dir, &p->ca_file)) < 0 ||
        (rc = hk_plan_bool(ctx, doc, o, "managed_identity", where, &p->managed_identity)) < 0 ||
        (rc = hk_plan_bool(ctx, doc, o, "insecure", where, &p->insecure)) < 0 ||
        (rc = hk_plan_bool(ctx, doc, o, "snapshot", where, &p->snapshot)) < 0)
        goto done;
done:
    if (rc < 0) {
        hk_plan_azure_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static int
plan_azure_check(h2k_ctx *ctx, const char *doc, const char *where, const h2k_plan_azure *a)
{
    if (!a->subscription_id)
        return hk_plan_field_error(ctx, doc, where, "subscription_id", "no \"subscription_id\"");
    if (!a->resource_group)
        return hk_plan_field_error(ctx, doc, where, "resource_group", "no \"resource_group\"");
    if (a->managed_identity)
        return 0;
    if (!a->tenant_id)
        return hk_plan_field_error(ctx, doc, where, "tenant_id", "no \"tenant_id\"");
    if (!a->client_id)
        return hk_plan_field_error(ctx, doc, where, "client_id", "no \"client_id\"");
    if (!a->client_secret_env && !a->client_secret_file)
        return hk_plan_field_error(ctx, doc, where, "client_secret_env",
                                   "no \"client_secret_env\", \"client_secret_file\" nor "
                                   "\"managed_identity\"");
    return 0;
}

int
hk_plan_vm_azure_parse(h2k_ctx *ctx, const char *doc, json_object *o, size_t idx,
                       const char *base_dir, const h2k_plan_azure *plan_az, bool plan_has_vsphere,
                       h2k_plan_vm *vm)
{
    char where[64];
    snprintf(where, sizeof(where), "vms[%zu]", idx);
    json_object *name = NULL, *az = NULL;
    bool has_vm = json_object_object_get_ex(o, "vm", &name);
    bool has_az = hk_plan_has(o, "azure");
    bool has_vs = hk_plan_has(o, "vsphere");
    if (has_az && has_vs)
        return hk_plan_field_error(ctx, doc, where, "azure",
                                   "VM \"%s\" has both \"azure\" and \"vsphere\": give one source",
                                   vm->name);
    /* an Azure VM: its own "azure", or only the plan's (no "vsphere" anywhere) */
    bool azure = has_az || (has_vm && plan_az && !has_vs && !plan_has_vsphere);
    if (has_vm && plan_az && plan_has_vsphere && !has_az && !has_vs)
        return hk_plan_field_error(
            ctx, doc, where, "vm",
            "the plan has \"vsphere\" and \"azure\": say which VM \"%s\" is on", vm->name);
    if (!azure)
        return 0;
    if (!has_vm)
        return hk_plan_field_error(ctx, doc, where, "azure",
                                   "\"azure\" is given but not the \"vm\" to download");
    int rc = hk_plan_vm_name(ctx, doc, where, name, vm);
    if (rc < 0)
        return rc;
    char az_where[80];
    snprintf(az_where, sizeof(az_where), "%s.azure", where);
    json_object_object_get_ex(o, "azure", &az);
    rc = hk_plan_azure_parse(ctx, doc, has_az ? az : NULL, az_where, base_dir, plan_az, &vm->azure);
    if (rc < 0)
        return rc;
    return plan_azure_check(ctx, doc, az_where, vm->azure);
}

int
hk_plan_azure_connect(h2k_ctx *ctx, const h2k_plan_azure *a, h2k_azure_client **out)
{
    *out = NULL;
    char *secret = NULL;
    int rc = hk_plan_read_secret(ctx, "azure", "client secret", "client_secret_env",
                                 a->client_secret_env, "client_secret_file", a->client_secret_file,
                                 &secret);
    if (rc < 0)
        return rc;
    h2k_azure_config cfg = H2K_AZURE_CONFIG_INIT;
    cfg.subscription_id = a->subscription_id;
    cfg.resource_group = a->resource_group;
    cfg.auth = a->managed_identity ? H2K_AZURE_AUTH_MANAGED_IDENTITY : H2K_AZURE_AUTH_CLIENT_SECRET;
    cfg.tenant_id = a->tenant_id;
    cfg.client_id = a->client_id;
    cfg.client_secret = secret;
    cfg.authority_host = a->authority_host;
    cfg.resource_manager = a->resource_manager;
    cfg.ca_file = a->ca_file;
    cfg.insecure = a->insecure;
    cfg.running = a->snapshot ? H2K_AZURE_RUNNING_SNAPSHOT : H2K_AZURE_RUNNING_REFUSE;
    rc = h2k_azure_client_new(ctx, &cfg, out);
    hk_plan_wipe_free(secret);
    return rc;
}
