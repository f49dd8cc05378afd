/*
 * Fuzz target: the vSphere SOAP response parser (faults included) and the
 * parsers of what a server returns: VM listings, VM hardware, task info,
 * HttpNfcLease info and manifests.  The first byte picks the method the
 * response is for and the HTTP status.
 */
#include "fuzz_common.h"

#include <string.h>

#include "providers/vmware/vmw_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct walk {
    h2k_ctx *ctx;
} walk;

static int
each_object(void *ud, const xmlNode *obj)
{
    walk *w = ud;
    h2k_vmware_vm_info info;
    if (hk_vmw_parse_vm_info(w->ctx, obj, &info) == 0)
        hk_vmw_vm_info_clear(&info);
    hk_vmw_vm vm;
    if (hk_vmw_parse_vm(w->ctx, "fuzz", obj, &vm) == 0) {
        char *j = h2k_vm_spec_to_json(vm.spec);
        free(j);
        hk_vmw_vm_clear(&vm);
    }
    xmlNodePtr ti = hk_vmw_obj_prop(obj, "info");
    char *res = NULL;
    hk_vmw_parse_task_info(w->ctx, "fuzz", "task", ti, &res);
    free(res);
    hk_vmw_device_url *u = NULL;
    size_t n = 0;
    if (hk_vmw_parse_lease_info(w->ctx, "fuzz", ti, &u, &n) == 0)
        hk_vmw_device_urls_free(u, n);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"RetrievePropertiesEx", "ContinueRetrievePropertiesEx",
                                          "HttpNfcLeaseGetManifest", "Login"};
    if (size < 1)
        return 0;
    h2k_ctx *ctx = fuzz_ctx();
    if (!ctx)
        return 0;
    const char *method = methods[data[0] & 3];
    long status = (data[0] & 4) ? 500 : 200;
    hk_vmw_response r = {0};
    char *fault = NULL;
    if (hk_vmw_soap_parse(ctx, (const char *)data + 1, size - 1, status, "fuzz", method, "secret",
                          &r, &fault) == 0) {
        walk w = {ctx};
        size_t count = 0;
        char *token = NULL;
        hk_vmw_walk_result(ctx, hk_vmw_child(r.result, "returnval"), each_object, &w, &count,
                           &token);
        free(token);
        hk_vmw_manifest_entry *m = NULL;
        size_t n = 0;
        if (hk_vmw_parse_manifest(ctx, "fuzz", r.result, &m, &n) == 0)
            hk_vmw_manifest_free(m, n);
        hk_vmw_response_clear(&r);
    } else if (strstr(h2k_ctx_last_error(ctx)->message, "secret")) {
        abort(); /* the secret must never reach an error message */
    }
    free(fault);
    h2k_ctx_free(ctx);
    return 0;
}
