/*
 * Azure: the ARM JSON documents the client reads (VM, instance view, disk,
 * NIC, VM sizes, token, access grant, async operation, error bodies), parsed
 * with json-c.  Pure functions: no I/O; every input is untrusted (fuzzed by
 * tests/fuzz/fuzz_azure_json.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "providers/azure/az_internal.h"

/* ------------------------------------------------------------ helpers */

int
hk_az_json_parse(h2k_ctx *ctx, const char *what, const char *body, size_t len, json_object **out)
{
    *out = NULL;
    if (!body || len == 0)
        return hk_error(ctx, H2K_ERR_FORMAT, "%s: empty response where JSON was expected", what);
    if (len > HK_AZ_MAX_RESPONSE || len > (size_t)INT32_MAX)
        return hk_error(ctx, H2K_ERR_FORMAT, "%s: response of %zu bytes is too large", what, len);
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok)
        return hk_error_nomem(ctx);
    json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!o || jerr != json_tokener_success) {
        json_object_put(o);
        return hk_error(ctx, H2K_ERR_FORMAT, "%s: the response is not valid JSON (%s)", what,
                        json_tokener_error_desc(jerr));
    }
    for (size_t i = used; i < len; i++)
        if (!isspace((unsigned char)body[i])) {
            json_object_put(o);
            return hk_error(ctx, H2K_ERR_FORMAT, "%s: text after the JSON document (offset %zu)",
                            what, i);
        }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return hk_error(ctx, H2K_ERR_FORMAT, "%s: the response is not a JSON object", what);
    }
    *out = o;
    return 0;
}

/* Member @key of @o when @o is an object, else NULL. */
static json_object *
get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* Follows a path of keys: get(get(o, a), b)... */
static json_object *
path(json_object *o, const char *a, const char *b, const char *c)
{
    o = get(o, a);
    if (b)
        o = get(o, b);
    if (c)
        o = get(o, c);
    return o;
}

static const char *
str_of(json_object *v)
{
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Copies an optional string member: 0, or FORMAT when present but not a string,
 * NO_MEMORY. */
static int
take_str(h2k_ctx *ctx, const char *what, json_object *v, const char *field, char **dst)
{
    *dst = NULL;
    if (!v || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, field, "%s: \"%s\" must be a string",
                           what, field);
    const char *s = json_object_get_string(v);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, field,
                               "%s: \"%s\" holds a control character", what, field);
    if (!(*dst = strdup(s)))
        return hk_error_nomem(ctx);
    return 0;
}

/* An integer member (a JSON number or a decimal string): true when present and valid. */
static bool
get_u64(json_object *v, uint64_t *out)
{
    if (!v)
        return false;
    if (json_object_is_type(v, json_type_int)) {
        int64_t i = json_object_get_int64(v);
        if (i < 0)
            return false;
        *out = (uint64_t)i;
        return true;
    }
    if (json_object_is_type(v, json_type_string))
        return hk_parse_u64(json_object_get_string(v), out, false);
    return false;
}

void
hk_az_parse_error(const char *body, size_t len, char **code, char **message)
{
    *code = *message = NULL;
    if (!body || len == 0 || len > HK_AZ_MAX_RESPONSE || len > (size_t)INT32_MAX)
        return;
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok)
        return;
    json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    json_tokener_free(tok);
    if (!o)
        return;
    json_object *e = get(o, "error");
    const char *c = NULL, *m = NULL;
    if (e && json_object_is_type(e, json_type_object)) {
        c = str_of(get(e, "code"));
        m = str_of(get(e, "message"));
    } else if (str_of(e)) { /* OAuth2: {"error":"invalid_client","error_description":".."} */
        c = str_of(e);
        m = str_of(get(o, "error_description"));
    }
    if (c)
        *code = hk_strndup(c, strnlen(c, 200));
    if (m)
        *message = hk_strndup(m, strnlen(m, 1000));
    /* one line each: messages go to terminals and logs */
    for (char **s = code; s; s = s == code ? message : NULL)
        if (*s)
            for (char *p = *s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    *p = ' ';
    json_object_put(o);
}

int
hk_az_status_code(long status)
{
    switch (status) {
    case 401:
    case 403:
        return H2K_ERR_AUTHENTICATION;
    case 404:
        return H2K_ERR_NOT_FOUND;
    case 400:
    case 409:
    case 412:
        return H2K_ERR_VALIDATION;
    default:
        return H2K_ERR_CONNECTION;
    }
}

/* ------------------------------------------------------------ token */

int
hk_az_parse_token(h2k_ctx *ctx, const char *body, size_t len, long now, char **token,
                  long *expires_at)
{
    *token = NULL;
    json_object *o;
    int rc = hk_az_json_parse(ctx, "token endpoint", body, len, &o);
    if (rc < 0)
        return rc;
    const char *t = str_of(get(o, "access_token"));
    const char *type = str_of(get(o, "token_type"));
    uint64_t v = 0;
    if (!t || !*t || strlen(t) > 65536 || strpbrk(t, "\r\n ")) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "access_token",
                         "token endpoint: no usable \"access_token\" in the response");
    } else if (type && !hk_streq_nocase(type, "Bearer")) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "token_type",
                         "token endpoint: token type \"%.40s\" is not Bearer", type);
    } else if (get_u64(get(o, "expires_in"), &v) && v <= 86400 * 30) {
        *expires_at = now + (long)v;
    } else if (get_u64(get(o, "expires_on"), &v) && v > (uint64_t)now &&
               v <= (uint64_t)now + 86400 * 30) {
        *expires_at = (long)v;
    } else {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "expires_in",
                         "token endpoint: no valid \"expires_in\" in the response");
    }
    if (rc == 0 && !(*token = strdup(t)))
        rc = hk_error_nomem(ctx);
    /* the parsed copy of the token goes with the tree: wipe it */
    if (t)
        explicit_bzero((char *)t, strlen(t));
    json_object_put(o);
    return rc;
}

/* ------------------------------------------------------------ ids, MACs */

bool
hk_az_id_ok(const char *id)
{
    if (!id || !hk_startswith(id, "/subscriptions/") || strlen(id) > 1024)
        return false;
    for (const char *p = id; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#' || *p == '%' ||
            *p == '\\')
            return false;
    return strstr(id, "/../") == NULL && strstr(id, "/./") == NULL && strstr(id, "//") == NULL &&
           !hk_endswith_nocase(id, "/..") && id[strlen(id) - 1] != '/';
}

char *
hk_az_id_name(const char *id)
{
    const char *s = strrchr(id, '/');
    return strdup(s ? s + 1 : id);
}

char *
hk_az_normalize_mac(const char *s)
{
    char n[18];
    return hk_mac_norm(s, strlen(s), HK_MAC_BARE, n) ? strdup(n) : NULL;
}

/* ------------------------------------------------------------ clear */

void
hk_az_disk_clear(h2k_azure_disk *d)
{
    free(d->name);
    free(d->id);
    free(d->disk_state);
    free(d->hyperv_generation);
    free(d->os_type);
    memset(d, 0, sizeof(*d));
}

void
hk_az_nic_clear(h2k_azure_nic *n)
{
    free(n->name);
    free(n->id);
    free(n->mac);
    free(n->private_ip);
    memset(n, 0, sizeof(*n));
}

void
hk_az_vm_clear(h2k_azure_vm *vm)
{
    free(vm->name);
    free(vm->id);
    free(vm->location);
    free(vm->vm_size);
    free(vm->os_type);
    free(vm->security_type);
    free(vm->power_state);
    for (size_t i = 0; i < vm->n_disks; i++)
        hk_az_disk_clear(&vm->disks[i]);
    free(vm->disks);
    for (size_t i = 0; i < vm->n_nics; i++)
        hk_az_nic_clear(&vm->nics[i]);
    free(vm->nics);
    h2k_vm_spec_free(vm->spec);
    memset(vm, 0, sizeof(*vm));
}

/* ------------------------------------------------------------ VM */

/* A disk reference of storageProfile (osDisk or dataDisks[i]). */
static int
parse_disk_ref(h2k_ctx *ctx, const char *what, json_object *d, const char *field, int lun,
               h2k_azure_disk *out)
{
    int rc;
    out->lun = lun;
    if ((rc = take_str(ctx, what, get(d, "name"), field, &out->name)) < 0 ||
        (rc = take_str(ctx, what, path(d, "managedDisk", "id", NULL), field, &out->id)) < 0 ||
        (rc = take_str(ctx, what, get(d, "osType"), field, &out->os_type)) < 0)
        return rc;
    if (!out->id)
        return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, NULL, -1, field,
                           "%s: disk %s is not a managed disk (unmanaged VHDs in storage "
                           "accounts are not supported)",
                           what, out->name ? out->name : "(unnamed)");
    if (!hk_az_id_ok(out->id))
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, field, "%s: malformed managed disk id",
                           what);
    if (!out->name && !(out->name = hk_az_id_name(out->id)))
        return hk_error_nomem(ctx);
    return 0;
}

static int
cmp_lun(const void *a, const void *b)
{
    const h2k_azure_disk *x = a, *y = b;
    return (x->lun > y->lun) - (x->lun < y->lun);
}

int
hk_az_parse_vm(h2k_ctx *ctx, const char *what, json_object *o, h2k_azure_vm *vm)
{
    int rc;
    json_object *props = get(o, "properties");
    if (!props || !json_object_is_type(props, json_type_object))
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "properties",
                           "%s: the VM has no \"properties\" object", what);
    if ((rc = take_str(ctx, what, get(o, "name"), "name", &vm->name)) < 0 ||
        (rc = take_str(ctx, what, get(o, "id"), "id", &vm->id)) < 0 ||
        (rc = take_str(ctx, what, get(o, "location"), "location", &vm->location)) < 0 ||
        (rc = take_str(ctx, what, path(props, "hardwareProfile", "vmSize", NULL),
                       "properties.hardwareProfile.vmSize", &vm->vm_size)) < 0 ||
        (rc = take_str(ctx, what, path(props, "securityProfile", "securityType", NULL),
                       "properties.securityProfile.securityType", &vm->security_type)) < 0)
        return rc;
    if (!vm->name)
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "name", "%s: the VM has no name", what);
    json_object *sp = get(props, "storageProfile");
    json_object *os = get(sp, "osDisk");
    json_object *data = get(sp, "dataDisks");
    size_t n_data = 0;
    if (data && !json_object_is_type(data, json_type_null)) {
        if (!json_object_is_type(data, json_type_array))
            return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "properties.storageProfile.dataDisks",
                               "%s: \"dataDisks\" must be an array", what);
        n_data = json_object_array_length(data);
    }
    if (n_data + 1 > HK_AZ_MAX_ITEMS)
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "properties.storageProfile.dataDisks",
                           "%s: %zu data disks is too many", what, n_data);
    if (os && json_object_is_type(os, json_type_object)) {
        if (!(vm->disks = calloc(n_data + 1, sizeof(*vm->disks))))
            return hk_error_nomem(ctx);
        vm->n_disks = 1;
        if ((rc = parse_disk_ref(ctx, what, os, "properties.storageProfile.osDisk", -1,
                                 &vm->disks[0])) < 0)
            return rc;
        if ((rc = take_str(ctx, what, get(os, "osType"), "properties.storageProfile.osDisk.osType",
                           &vm->os_type)) < 0)
            return rc;
    } else if (n_data > 0) {
        if (!(vm->disks = calloc(n_data, sizeof(*vm->disks))))
            return hk_error_nomem(ctx);
    }
    for (size_t i = 0; i < n_data; i++) {
        json_object *d = json_object_array_get_idx(data, i);
        char field[80];
        snprintf(field, sizeof(field), "properties.storageProfile.dataDisks[%zu]", i);
        json_object *lun = get(d, "lun");
        if (!d || !json_object_is_type(d, json_type_object) || !lun ||
            !json_object_is_type(lun, json_type_int) || json_object_get_int64(lun) < 0 ||
            json_object_get_int64(lun) > 4095)
            return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, field,
                               "%s: a data disk without a valid \"lun\" (0..4095)", what);
        int l = (int)json_object_get_int64(lun);
        for (size_t k = 0; k < vm->n_disks; k++)
            if (vm->disks[k].lun == l)
                return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, field,
                                   "%s: two data disks on LUN %d", what, l);
        h2k_azure_disk *dd = &vm->disks[vm->n_disks++];
        if ((rc = parse_disk_ref(ctx, what, d, field, l, dd)) < 0)
            return rc;
    }
    size_t first_data = vm->n_disks > 0 && vm->disks[0].lun < 0 ? 1 : 0;
    if (vm->n_disks > first_data + 1)
        qsort(vm->disks + first_data, vm->n_disks - first_data, sizeof(*vm->disks), cmp_lun);

    json_object *nics = path(props, "networkProfile", "networkInterfaces", NULL);
    if (nics && !json_object_is_type(nics, json_type_null)) {
        if (!json_object_is_type(nics, json_type_array))
            return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1,
                               "properties.networkProfile.networkInterfaces",
                               "%s: \"networkInterfaces\" must be an array", what);
        size_t n = json_object_array_length(nics);
        if (n > HK_AZ_MAX_ITEMS)
            return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1,
                               "properties.networkProfile.networkInterfaces",
                               "%s: %zu NICs is too many", what, n);
        if (n && !(vm->nics = calloc(n, sizeof(*vm->nics))))
            return hk_error_nomem(ctx);
        for (size_t i = 0; i < n; i++) {
            json_object *ni = json_object_array_get_idx(nics, i);
            char field[80];
            snprintf(field, sizeof(field), "properties.networkProfile.networkInterfaces[%zu]", i);
            h2k_azure_nic *nic = &vm->nics[vm->n_nics++];
            if ((rc = take_str(ctx, what, get(ni, "id"), field, &nic->id)) < 0)
                return rc;
            if (!nic->id || !hk_az_id_ok(nic->id))
                return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, field,
                                   "%s: a NIC without a valid \"id\"", what);
            json_object *pr = path(ni, "properties", "primary", NULL);
            nic->primary = pr && json_object_is_type(pr, json_type_boolean) &&
                           json_object_get_boolean(pr);
            if (!(nic->name = hk_az_id_name(nic->id)))
                return hk_error_nomem(ctx);
        }
    }
    return 0;
}

bool
hk_az_vm_secure_boot(json_object *vm)
{
    json_object *v = path(get(vm, "properties"), "securityProfile", "uefiSettings",
                          "secureBootEnabled");
    return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

int
hk_az_parse_power_state(h2k_ctx *ctx, const char *what, json_object *o, char **state)
{
    *state = NULL;
    json_object *st = get(o, "statuses");
    if (!st || !json_object_is_type(st, json_type_array))
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "statuses",
                           "%s: the instance view has no \"statuses\" array", what);
    size_t n = json_object_array_length(st);
    for (size_t i = 0; i < n; i++) {
        const char *code = str_of(get(json_object_array_get_idx(st, i), "code"));
        if (code && hk_startswith(code, "PowerState/")) {
            const char *v = code + strlen("PowerState/");
            for (const char *p = v; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
                    return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "statuses",
                                       "%s: malformed power state", what);
            if (!*v || strlen(v) > 64)
                return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "statuses",
                                   "%s: malformed power state", what);
            if (!(*state = strdup(v)))
                return hk_error_nomem(ctx);
            return 0;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ disk, NIC, size */

int
hk_az_parse_disk(h2k_ctx *ctx, const char *what, json_object *o, h2k_azure_disk *d)
{
    json_object *props = get(o, "properties");
    if (!props || !json_object_is_type(props, json_type_object))
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "properties",
                           "%s: the disk has no \"properties\" object", what);
    uint64_t size = 0;
    if (!get_u64(get(props, "diskSizeBytes"), &size) || size == 0 || size % 512 != 0 ||
        size > (UINT64_C(1) << 46))
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "properties.diskSizeBytes",
                           "%s: no valid \"diskSizeBytes\" (a positive multiple of 512)", what);
    d->size_bytes = size;
    int rc;
    char *st = NULL, *gen = NULL, *os = NULL;
    if ((rc = take_str(ctx, what, get(props, "diskState"), "properties.diskState", &st)) < 0 ||
        (rc = take_str(ctx, what, get(props, "hyperVGeneration"), "properties.hyperVGeneration",
                       &gen)) < 0 ||
        (rc = take_str(ctx, what, get(props, "osType"), "properties.osType", &os)) < 0) {
        free(st);
        free(gen);
        return rc;
    }
    free(d->disk_state);
    d->disk_state = st;
    free(d->hyperv_generation);
    d->hyperv_generation = gen;
    if (os) {
        free(d->os_type);
        d->os_type = os;
    }
    return 0;
}

int
hk_az_parse_nic(h2k_ctx *ctx, const char *what, json_object *o, h2k_azure_nic *n)
{
    json_object *props = get(o, "properties");
    if (!props || !json_object_is_type(props, json_type_object))
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "properties",
                           "%s: the NIC has no \"properties\" object", what);
    const char *mac = str_of(get(props, "macAddress"));
    free(n->mac);
    n->mac = NULL;
    if (mac && *mac && !(n->mac = hk_az_normalize_mac(mac)))
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "properties.macAddress",
                           "%s: malformed MAC address", what);
    json_object *ipc = get(props, "ipConfigurations");
    if (ipc && json_object_is_type(ipc, json_type_array) && json_object_array_length(ipc) > 0) {
        const char *ip = str_of(
            path(json_object_array_get_idx(ipc, 0), "properties", "privateIPAddress", NULL));
        if (ip && strlen(ip) < 64 && strspn(ip, "0123456789abcdefABCDEF.:") == strlen(ip)) {
            free(n->private_ip);
            if (!(n->private_ip = strdup(ip)))
                return hk_error_nomem(ctx);
        }
    }
    json_object *pr = get(props, "primary");
    if (pr && json_object_is_type(pr, json_type_boolean) && json_object_get_boolean(pr))
        n->primary = 1;
    return 0;
}

int
hk_az_parse_vm_size(h2k_ctx *ctx, const char *what, json_object *o, const char *name,
                    unsigned *vcpus, uint64_t *memory_bytes)
{
    json_object *arr = get(o, "value");
    if (!arr || !json_object_is_type(arr, json_type_array))
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "value",
                           "%s: the size list has no \"value\" array", what);
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(arr, i);
        const char *nm = str_of(get(s, "name"));
        if (!nm || !hk_streq_nocase(nm, name))
            continue;
        uint64_t cores = 0, mb = 0;
        if (!get_u64(get(s, "numberOfCores"), &cores) || cores == 0 || cores > 4096 ||
            !get_u64(get(s, "memoryInMB"), &mb) || mb == 0 || mb > (UINT64_C(1) << 32))
            return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "value",
                               "%s: size %s has no valid numberOfCores / memoryInMB", what, name);
        *vcpus = (unsigned)cores;
        *memory_bytes = mb << 20;
        return 0;
    }
    return hk_error(ctx, H2K_ERR_NOT_FOUND, "%s: size %s is not in the region's list", what, name);
}

int
hk_az_parse_sas(h2k_ctx *ctx, const char *what, json_object *o, char **sas)
{
    *sas = NULL;
    const char *s = str_of(get(o, "accessSAS"));
    if (!s)
        s = str_of(path(o, "properties", "output", "accessSAS"));
    if (!s || !hk_startswith(s, "https://") || strlen(s) > 8192 || strpbrk(s, " \r\n\t"))
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "accessSAS",
                           "%s: no usable https \"accessSAS\" in the grant", what);
    if (!(*sas = strdup(s)))
        return hk_error_nomem(ctx);
    explicit_bzero((char *)s, strlen(s));
    return 0;
}

int
hk_az_parse_operation(h2k_ctx *ctx, const char *what, json_object *o)
{
    const char *st = str_of(get(o, "status"));
    if (!st)
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "status",
                           "%s: the async operation has no \"status\"", what);
    if (hk_streq_nocase(st, "Succeeded"))
        return 1;
    if (hk_streq_nocase(st, "InProgress") || hk_streq_nocase(st, "Running") ||
        hk_streq_nocase(st, "Accepted") || hk_streq_nocase(st, "Creating") ||
        hk_streq_nocase(st, "Updating"))
        return 0;
    json_object *e = get(o, "error");
    const char *code = str_of(get(e, "code")), *msg = str_of(get(e, "message"));
    int hc = H2K_ERR_GENERIC;
    if (code && (hk_streq_nocase(code, "Conflict") || hk_streq_nocase(code, "OperationNotAllowed")))
        hc = H2K_ERR_VALIDATION;
    return hk_error(ctx, hk_streq_nocase(st, "Canceled") ? H2K_ERR_CANCELLED : hc,
                    "%s: the operation ended %.40s%s%.100s%s%.500s", what, st, code ? ": " : "",
                    code ? code : "", msg ? ": " : "", msg ? msg : "");
}

/* ------------------------------------------------------------ spec */

int
hk_az_build_spec(h2k_ctx *ctx, h2k_azure_vm *vm, bool secure_boot)
{
    h2k_vm_spec *s = h2k_vm_spec_new();
    if (!s)
        return hk_error_nomem(ctx);
    s->name = strdup(vm->name);
    s->source_type = strdup("azure");
    s->source_path = hk_strdup0(vm->id);
    s->os_type = hk_strdup0(vm->os_type);
    s->vcpus = vm->vcpus;
    s->memory_bytes = vm->memory_bytes;
    if (!s->name || !s->source_type || (vm->id && !s->source_path) ||
        (vm->os_type && !s->os_type)) {
        h2k_vm_spec_free(s);
        return hk_error_nomem(ctx);
    }
    bool uefi = (vm->security_type && (hk_streq_nocase(vm->security_type, "TrustedLaunch") ||
                                       hk_streq_nocase(vm->security_type, "ConfidentialVM")));
    if (vm->n_disks > 0 && vm->disks[0].hyperv_generation &&
        hk_streq_nocase(vm->disks[0].hyperv_generation, "V2"))
        uefi = true;
    /* generation 1 (BIOS) is Azure's default when the disk does not say */
    s->firmware = uefi ? H2K_FIRMWARE_UEFI : H2K_FIRMWARE_BIOS;
    s->secure_boot = uefi && secure_boot;
    if (vm->n_disks) {
        if (!(s->disks = calloc(vm->n_disks, sizeof(*s->disks)))) {
            h2k_vm_spec_free(s);
            return hk_error_nomem(ctx);
        }
        for (size_t i = 0; i < vm->n_disks; i++) {
            h2k_vm_disk *d = &s->disks[s->n_disks++];
            d->file_ref = strdup(vm->disks[i].name);
            d->bus = H2K_BUS_SCSI;
            d->capacity = vm->disks[i].size_bytes;
            d->format_hint = strdup("vhd-fixed");
            d->controller_index = vm->disks[i].lun < 0 ? 0 : 1;
            d->unit = vm->disks[i].lun < 0 ? 0 : vm->disks[i].lun;
            if (!d->file_ref || !d->format_hint) {
                h2k_vm_spec_free(s);
                return hk_error_nomem(ctx);
            }
        }
    }
    if (vm->n_nics) {
        if (!(s->nics = calloc(vm->n_nics, sizeof(*s->nics)))) {
            h2k_vm_spec_free(s);
            return hk_error_nomem(ctx);
        }
        for (size_t i = 0; i < vm->n_nics; i++) {
            h2k_vm_nic *n = &s->nics[s->n_nics++];
            n->mac = hk_strdup0(vm->nics[i].mac);
            n->model = strdup("netvsc");
            if ((vm->nics[i].mac && !n->mac) || !n->model) {
                h2k_vm_spec_free(s);
                return hk_error_nomem(ctx);
            }
        }
    }
    h2k_vm_spec_free(vm->spec);
    vm->spec = s;
    return 0;
}
