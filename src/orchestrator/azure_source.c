/*
 * Azure as a source of the orchestrator: the download of a run's VM with the
 * run's context, presented like a vSphere export (spec with local disk paths,
 * the disks, an OVF descriptor for the virt-v2v backend).
 */
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
                              "http://technet.microsoft.com/en-us/library/bb676673.aspx", res->ovf_path);
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
