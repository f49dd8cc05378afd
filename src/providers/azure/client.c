/*
 * Azure client: settings, list and describe.
 *   VMs:        GET .../virtualMachines?api-version=2024-07-01 (pages: nextLink)
 *   VM:         GET .../virtualMachines/NAME, .../NAME/instanceView
 *   sizes:      GET /subscriptions/S/providers/Microsoft.Compute/locations/L/vmSizes
 *   disk, NIC:  GET {id}?api-version=2023-10-02 / 2024-05-01
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/azure/az_internal.h"

static void
wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Names that go into resource paths: letters, digits and ._()- only. */
static bool
name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 90)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._()-", *p)))
            return false;
    return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* "https://host[:port]" with no path, query or credentials; trailing '/' dropped. */
static char *
base_url(const char *s, bool allow_http)
{
    bool https = hk_startswith(s, "https://");
    if (!https && !(allow_http && hk_startswith(s, "http://")))
        return NULL;
    const char *h = s + (https ? 8 : 7);
    size_t n = strcspn(h, "/?#@");
    if (n == 0 || h[n] == '@' || h[n] == '?' || h[n] == '#')
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)h[i] <= 0x20 || h[i] == 0x7f)
            return NULL;
    const char *rest = h + n;
    if (!allow_http && *rest && strcmp(rest, "/") != 0)
        return NULL;
    if (allow_http) /* the identity endpoint keeps its path */
        return strdup(s);
    return hk_strndup(s, (size_t)(rest - s));
}

H2K_EXTERN int
h2k_azure_client_new(h2k_ctx *ctx, const h2k_azure_config *cfg, h2k_azure_client **out)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!cfg || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "azure: no settings given");
    *out = NULL;
    if (cfg->version != H2K_AZURE_CONFIG_VERSION)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "version",
                           "azure: settings version %u is not %u (use H2K_AZURE_CONFIG_INIT)",
                           cfg->version, H2K_AZURE_CONFIG_VERSION);
    if (!name_ok(cfg->subscription_id))
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "subscription_id",
                           "azure: a subscription id is required (letters, digits, '-')");
    if (!name_ok(cfg->resource_group))
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "resource_group",
                           "azure: a resource group name is required (letters, digits, ._()-)");
    if (cfg->vm_name && !name_ok(cfg->vm_name))
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "vm_name",
                           "azure: malformed VM name");
    if (cfg->auth != H2K_AZURE_AUTH_CLIENT_SECRET && cfg->auth != H2K_AZURE_AUTH_MANAGED_IDENTITY)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "auth", "azure: unknown auth mode");
    if (cfg->auth == H2K_AZURE_AUTH_CLIENT_SECRET) {
        if (!name_ok(cfg->tenant_id))
            return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "tenant_id",
                               "azure: a tenant id is required with a client secret");
        if (!cfg->client_id || !*cfg->client_id || strlen(cfg->client_id) > 256)
            return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "client_id",
                               "azure: a client id is required with a client secret");
        if (!cfg->client_secret || !*cfg->client_secret)
            return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "client_secret",
                               "azure: no client secret given");
    }
    if (cfg->parallel_streams > 16)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "parallel_streams",
                           "azure: parallel_streams must be 1..16");
    h2k_azure_client *c = calloc(1, sizeof(*c));
    if (!c)
        return hk_error_nomem(ctx);
    c->ctx = ctx;
    c->auth = cfg->auth;
    c->insecure = cfg->insecure ? 1 : 0;
    c->timeout = cfg->timeout_seconds ? cfg->timeout_seconds : 60;
    c->max_retries = cfg->max_retries ? cfg->max_retries : 5;
    c->streams = cfg->parallel_streams ? cfg->parallel_streams : 4;
    c->running = cfg->running;
    c->poll_min = 1.0;
    const char *auth_host = cfg->authority_host ? cfg->authority_host
                                                : "https://login.microsoftonline.com";
    const char *arm = cfg->resource_manager ? cfg->resource_manager
                                            : "https://management.azure.com";
    const char *idp = cfg->identity_endpoint
                          ? cfg->identity_endpoint
                          : "http://169.254.169.254/metadata/identity/oauth2/token";
    c->authority = base_url(auth_host, false);
    c->arm = base_url(arm, false);
    c->identity_endpoint = base_url(idp, true);
    int rc = 0;
    if (!c->authority)
        rc = hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "authority_host",
                         "azure: the authority host must be https://HOST[:PORT], not \"%.100s\"",
                         auth_host);
    else if (!c->arm)
        rc = hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "resource_manager",
                         "azure: the resource manager must be https://HOST[:PORT], not \"%.100s\"",
                         arm);
    else if (!c->identity_endpoint || strchr(c->identity_endpoint, '?'))
        rc = hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "identity_endpoint",
                         "azure: malformed identity endpoint");
    if (rc < 0) {
        h2k_azure_client_free(c);
        return rc;
    }
    c->subscription = strdup(cfg->subscription_id);
    c->resource_group = strdup(cfg->resource_group);
    c->vm_name = hk_strdup0(cfg->vm_name);
    c->tenant = hk_strdup0(cfg->tenant_id);
    c->client_id = hk_strdup0(cfg->client_id);
    c->secret = hk_strdup0(cfg->client_secret);
    c->ca_file = hk_strdup0(cfg->ca_file);
    if (!c->subscription || !c->resource_group || (cfg->vm_name && !c->vm_name) ||
        (cfg->tenant_id && !c->tenant) || (cfg->client_id && !c->client_id) ||
        (cfg->client_secret && !c->secret) || (cfg->ca_file && !c->ca_file)) {
        h2k_azure_client_free(c);
        return hk_error_nomem(ctx);
    }
    *out = c;
    return 0;
}

H2K_EXTERN void
h2k_azure_client_free(h2k_azure_client *c)
{
    if (!c)
        return;
    free(c->subscription);
    free(c->resource_group);
    free(c->vm_name);
    free(c->tenant);
    free(c->client_id);
    wipe_free(c->secret);
    free(c->authority);
    free(c->arm);
    free(c->identity_endpoint);
    free(c->ca_file);
    wipe_free(c->token);
    free(c);
}

char *
hk_az_vm_path(h2k_azure_client *c, const char *vm)
{
    return hk_asprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/"
                       "virtualMachines%s%s",
                       c->subscription, c->resource_group, vm ? "/" : "", vm ? vm : "");
}

H2K_EXTERN void
h2k_azure_vm_free(h2k_azure_vm *vm)
{
    if (vm) {
        hk_az_vm_clear(vm);
        free(vm);
    }
}

H2K_EXTERN void
h2k_azure_vm_list_free(h2k_azure_vm *vms, size_t n)
{
    if (!vms)
        return;
    for (size_t i = 0; i < n; i++)
        hk_az_vm_clear(&vms[i]);
    free(vms);
}

static int
get_power_state(h2k_azure_client *c, h2k_azure_vm *vm)
{
    char *p = hk_az_vm_path(c, vm->name);
    char *ip = p ? hk_asprintf("%s/instanceView", p) : NULL;
    free(p);
    if (!ip)
        return hk_error_nomem(c->ctx);
    char what[160];
    snprintf(what, sizeof(what), "GET instance view of VM %s", vm->name);
    json_object *o = NULL;
    int rc = hk_az_arm(c, "GET", ip, HK_AZ_API_COMPUTE, NULL, what, false, &o);
    free(ip);
    if (rc == 0) {
        free(vm->power_state);
        vm->power_state = NULL;
        rc = hk_az_parse_power_state(c->ctx, what, o, &vm->power_state);
    }
    json_object_put(o);
    return rc;
}

/* vCPUs and memory of the VM's size, from the region's size list; a list
 * that cannot be read leaves them unknown (a warning). */
static void
get_size(h2k_azure_client *c, h2k_azure_vm *vm)
{
    if (!vm->vm_size || !vm->location || !name_ok(vm->location))
        return;
    char *p = hk_asprintf("/subscriptions/%s/providers/Microsoft.Compute/locations/%s/vmSizes",
                          c->subscription, vm->location);
    if (!p)
        return;
    char what[160];
    snprintf(what, sizeof(what), "GET VM sizes of %s", vm->location);
    json_object *o = NULL;
    int rc = hk_az_arm(c, "GET", p, HK_AZ_API_COMPUTE, NULL, what, false, &o);
    free(p);
    if (rc == 0)
        rc = hk_az_parse_vm_size(c->ctx, what, o, vm->vm_size, &vm->vcpus, &vm->memory_bytes);
    json_object_put(o);
    if (rc < 0) {
        hk_warn(c->ctx, HK_AZ_DOMAIN, "the CPUs and memory of size %s are unknown: %s", vm->vm_size,
                h2k_ctx_last_error(c->ctx)->message);
        h2k_ctx_clear_error(c->ctx);
    }
}

H2K_EXTERN int
h2k_azure_list_vms(h2k_azure_client *c, h2k_azure_vm **vms, size_t *n)
{
    if (!c)
        return H2K_ERR_INVALID_ARG;
    if (!vms || !n)
        return hk_error(c->ctx, H2K_ERR_INVALID_ARG, "azure: list: no output given");
    *vms = NULL;
    *n = 0;
    char *next = hk_az_vm_path(c, NULL);
    if (!next)
        return hk_error_nomem(c->ctx);
    h2k_azure_vm *arr = NULL;
    size_t cnt = 0, cap = 0;
    int rc = 0;
    char what[200];
    snprintf(what, sizeof(what), "GET VMs of resource group %s", c->resource_group);
    while (next) {
        json_object *o = NULL;
        rc = hk_az_arm(c, "GET", next, HK_AZ_API_COMPUTE, NULL, what, false, &o);
        free(next);
        next = NULL;
        if (rc < 0)
            break;
        json_object *val = NULL, *nl = NULL;
        if (!o || !json_object_object_get_ex(o, "value", &val) ||
            !json_object_is_type(val, json_type_array)) {
            json_object_put(o);
            rc = hk_error_at(c->ctx, H2K_ERR_FORMAT, NULL, -1, "value",
                             "%s: no \"value\" array in the response", what);
            break;
        }
        size_t m = json_object_array_length(val);
        for (size_t i = 0; i < m && rc == 0; i++) {
            if (cnt >= HK_AZ_MAX_VMS) {
                rc = hk_error(c->ctx, H2K_ERR_FORMAT, "%s: more than %u VMs", what, HK_AZ_MAX_VMS);
                break;
            }
            if (cnt == cap) {
                size_t nc = cap ? cap * 2 : 16;
                h2k_azure_vm *na = realloc(arr, nc * sizeof(*na));
                if (!na) {
                    rc = hk_error_nomem(c->ctx);
                    break;
                }
                arr = na;
                cap = nc;
            }
            h2k_azure_vm *vm = &arr[cnt++];
            memset(vm, 0, sizeof(*vm));
            rc = hk_az_parse_vm(c->ctx, what, json_object_array_get_idx(val, i), vm);
            if (rc == 0 && !name_ok(vm->name))
                rc = hk_error_at(c->ctx, H2K_ERR_FORMAT, NULL, -1, "name", "%s: malformed VM name",
                                 what);
            /* a listing names the VMs; their disks and NICs come with describe */
            for (size_t k = 0; k < vm->n_disks; k++)
                hk_az_disk_clear(&vm->disks[k]);
            free(vm->disks);
            vm->disks = NULL;
            vm->n_disks = 0;
            for (size_t k = 0; k < vm->n_nics; k++)
                hk_az_nic_clear(&vm->nics[k]);
            free(vm->nics);
            vm->nics = NULL;
            vm->n_nics = 0;
        }
        if (rc == 0 && json_object_object_get_ex(o, "nextLink", &nl) &&
            json_object_is_type(nl, json_type_string) && json_object_get_string_len(nl) > 0 &&
            !(next = strdup(json_object_get_string(nl))))
            rc = hk_error_nomem(c->ctx);
        json_object_put(o);
        if (rc < 0)
            break;
    }
    free(next);
    for (size_t i = 0; i < cnt && rc == 0; i++)
        rc = get_power_state(c, &arr[i]);
    if (rc < 0) {
        h2k_azure_vm_list_free(arr, cnt);
        return rc;
    }
    *vms = arr;
    *n = cnt;
    return 0;
}

int
hk_az_get_vm(h2k_azure_client *c, const char *vm_name, h2k_azure_vm **out)
{
    *out = NULL;
    if (!vm_name)
        vm_name = c->vm_name;
    if (!vm_name)
        return hk_error_at(c->ctx, H2K_ERR_INVALID_ARG, NULL, -1, "vm_name",
                           "azure: no VM name given");
    if (!name_ok(vm_name))
        return hk_error_at(c->ctx, H2K_ERR_INVALID_ARG, NULL, -1, "vm_name",
                           "azure: malformed VM name \"%.100s\"", vm_name);
    char *p = hk_az_vm_path(c, vm_name);
    if (!p)
        return hk_error_nomem(c->ctx);
    char what[200];
    snprintf(what, sizeof(what), "GET VM %s in resource group %s", vm_name, c->resource_group);
    json_object *o = NULL;
    int rc = hk_az_arm(c, "GET", p, HK_AZ_API_COMPUTE, NULL, what, false, &o);
    free(p);
    if (rc < 0)
        return rc;
    h2k_azure_vm *vm = calloc(1, sizeof(*vm));
    if (!vm) {
        json_object_put(o);
        return hk_error_nomem(c->ctx);
    }
    rc = hk_az_parse_vm(c->ctx, what, o, vm);
    bool secure_boot = hk_az_vm_secure_boot(o);
    json_object_put(o);
    if (rc == 0 && strcmp(vm->name, vm_name) != 0)
        rc = hk_error_at(c->ctx, H2K_ERR_FORMAT, NULL, -1, "name",
                         "%s: the server answered with VM \"%.100s\"", what, vm->name);
    for (size_t i = 0; rc == 0 && i < vm->n_disks; i++) {
        h2k_azure_disk *d = &vm->disks[i];
        char dw[200];
        snprintf(dw, sizeof(dw), "GET disk %.100s", d->name);
        json_object *dj = NULL;
        if ((rc = hk_az_arm(c, "GET", d->id, HK_AZ_API_DISK, NULL, dw, false, &dj)) == 0)
            rc = hk_az_parse_disk(c->ctx, dw, dj, d);
        json_object_put(dj);
    }
    for (size_t i = 0; rc == 0 && i < vm->n_nics; i++) {
        h2k_azure_nic *ni = &vm->nics[i];
        char nw[200];
        snprintf(nw, sizeof(nw), "GET network interface %.100s", ni->name);
        json_object *nj = NULL;
        if ((rc = hk_az_arm(c, "GET", ni->id, HK_AZ_API_NETWORK, NULL, nw, false, &nj)) == 0)
            rc = hk_az_parse_nic(c->ctx, nw, nj, ni);
        json_object_put(nj);
    }
    if (rc == 0)
        rc = get_power_state(c, vm);
    if (rc == 0) {
        get_size(c, vm);
        rc = hk_az_build_spec(c->ctx, vm, secure_boot);
    }
    if (rc < 0) {
        h2k_azure_vm_free(vm);
        return rc;
    }
    *out = vm;
    return 0;
}

H2K_EXTERN int
h2k_azure_describe_vm(h2k_azure_client *c, const char *vm_name, h2k_azure_vm **out)
{
    if (!c)
        return H2K_ERR_INVALID_ARG;
    if (!out)
        return hk_error(c->ctx, H2K_ERR_INVALID_ARG, "azure: describe: no output given");
    return hk_az_get_vm(c, vm_name, out);
}
