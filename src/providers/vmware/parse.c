/*
 * PropertyCollector results (untrusted server data) into our structures:
 * the VM list, a VM's hardware as an h2k_vm_spec, task and lease states,
 * lease manifests.  Pure functions on libxml2 trees; fuzzed with soap.c.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "providers/vmware/vmw_internal.h"

static int
nomem(h2k_ctx *ctx)
{
    return hk_error_nomem(ctx);
}

int
hk_vmw_split_ds_path(const char *p, char **ds, char **path)
{
    *ds = NULL;
    *path = NULL;
    if (!p || p[0] != '[')
        return H2K_ERR_FORMAT;
    const char *close = strchr(p, ']');
    if (!close || close == p + 1)
        return H2K_ERR_FORMAT;
    const char *rest = close + 1;
    while (*rest == ' ')
        rest++;
    if (!*rest)
        return H2K_ERR_FORMAT;
    *ds = hk_strndup(p + 1, (size_t)(close - p - 1));
    *path = strdup(rest);
    if (!*ds || !*path) {
        free(*ds);
        free(*path);
        *ds = *path = NULL;
        return H2K_ERR_NO_MEMORY;
    }
    return 0;
}

xmlNodePtr
hk_vmw_obj_prop(const xmlNode *obj, const char *name)
{
    for (xmlNodePtr ps = hk_vmw_child(obj, "propSet"); ps; ps = hk_vmw_next(ps, "propSet")) {
        xmlNodePtr n = hk_vmw_child(ps, "name");
        if (!n)
            continue;
        xmlChar *t = xmlNodeGetContent(n);
        bool match = t && strcmp((const char *)t, name) == 0;
        xmlFree(t);
        if (match)
            return hk_vmw_child(ps, "val");
    }
    return NULL;
}

static char *
prop_text(const xmlNode *obj, const char *name, bool *oom)
{
    return hk_vmw_text(hk_vmw_obj_prop(obj, name), oom);
}

int
hk_vmw_walk_result(h2k_ctx *ctx, const xmlNode *rv, hk_vmw_obj_fn fn, void *ud, size_t *count,
                   char **token)
{
    *token = NULL;
    if (!rv)
        return 0;
    for (xmlNodePtr o = hk_vmw_child(rv, "objects"); o; o = hk_vmw_next(o, "objects")) {
        if (*count >= HK_VMW_MAX_OBJECTS)
            return hk_error(ctx, H2K_ERR_FORMAT, "more than %u objects in a property listing",
                            HK_VMW_MAX_OBJECTS);
        (*count)++;
        int rc = fn(ud, o);
        if (rc < 0)
            return rc;
    }
    bool oom = false;
    char *t = hk_vmw_child_text(rv, "token", &oom);
    if (oom)
        return nomem(ctx);
    if (t && !*t) {
        free(t);
        t = NULL;
    }
    *token = t;
    return 0;
}

void
hk_vmw_vm_info_clear(h2k_vmware_vm_info *info)
{
    if (!info)
        return;
    free(info->name);
    free(info->power_state);
    free(info->uuid);
    free(info->path);
    free(info->moref);
    memset(info, 0, sizeof(*info));
}

int
hk_vmw_parse_vm_info(h2k_ctx *ctx, const xmlNode *obj, h2k_vmware_vm_info *info)
{
    bool oom = false;
    memset(info, 0, sizeof(*info));
    info->moref = hk_vmw_child_text(obj, "obj", &oom);
    info->name = prop_text(obj, "name", &oom);
    info->power_state = prop_text(obj, "runtime.powerState", &oom);
    info->uuid = prop_text(obj, "config.uuid", &oom);
    info->path = prop_text(obj, "config.files.vmPathName", &oom);
    if (oom) {
        hk_vmw_vm_info_clear(info);
        return nomem(ctx);
    }
    if (!info->moref || !*info->moref || !info->name) {
        hk_vmw_vm_info_clear(info);
        return hk_error(ctx, H2K_ERR_FORMAT, "a VirtualMachine object has no %s",
                        info->moref ? "name" : "reference");
    }
    return 0;
}

void
hk_vmw_vm_clear(hk_vmw_vm *vm)
{
    if (!vm)
        return;
    free(vm->moref);
    free(vm->power_state);
    free(vm->vmx_path);
    h2k_vm_spec_free(vm->spec);
    for (size_t i = 0; i < vm->n_pg_keys; i++)
        free(vm->pg_keys[i]);
    free(vm->pg_keys);
    free(vm->pg_nic);
    memset(vm, 0, sizeof(*vm));
}

/* ------------------------------------------------------------ devices */

typedef struct ctrl {
    int64_t key;
    h2k_bus bus;
    const char *model;
    int bus_number;
} ctrl;

static const struct {
    const char *type;
    h2k_bus bus;
    const char *model;
} ctrl_types[] = {
    {"ParaVirtualSCSIController", H2K_BUS_SCSI, "pvscsi"},
    {"VirtualLsiLogicController", H2K_BUS_SCSI, "lsilogic"},
    {"VirtualLsiLogicSASController", H2K_BUS_SCSI, "lsisas1068"},
    {"VirtualBusLogicController", H2K_BUS_SCSI, "buslogic"},
    {"VirtualAHCIController", H2K_BUS_SATA, "ahci"},
    {"VirtualSATAController", H2K_BUS_SATA, "ahci"},
    {"VirtualIDEController", H2K_BUS_IDE, "ide"},
    {"VirtualNVMEController", H2K_BUS_NVME, "nvme"},
};

static const struct {
    const char *type;
    const char *model;
} nic_types[] = {
    {"VirtualVmxnet3", "vmxnet3"}, {"VirtualVmxnet3Vrdma", "vmxnet3"},
    {"VirtualVmxnet2", "vmxnet2"}, {"VirtualVmxnet", "vmxnet"},
    {"VirtualE1000", "e1000"},     {"VirtualE1000e", "e1000e"},
    {"VirtualPCNet32", "vlance"},  {"VirtualSriovEthernetCard", "sriov"},
};

static const ctrl *
find_ctrl(const ctrl *c, size_t n, int64_t key)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].key == key)
            return &c[i];
    return NULL;
}

static int
add_disk(h2k_ctx *ctx, const char *host, const xmlNode *d, const ctrl *ctrls, size_t n_ctrls,
         h2k_vm_spec *s)
{
    bool oom = false;
    xmlNodePtr backing = hk_vmw_child(d, "backing");
    char *file = hk_vmw_child_text(backing, "fileName", &oom);
    if (oom)
        return nomem(ctx);
    h2k_vm_disk *disk = hk_array_grow((void **)&s->disks, &s->n_disks, sizeof(*disk));
    if (!disk) {
        free(file);
        return nomem(ctx);
    }
    disk->file_ref = file;
    disk->controller_index = -1;
    disk->unit = -1;
    int64_t v;
    if (hk_vmw_child_i64(d, "capacityInBytes", &v) && v > 0)
        disk->capacity = (uint64_t)v;
    else if (hk_vmw_child_i64(d, "capacityInKB", &v) && v > 0 && v < (INT64_C(1) << 50))
        disk->capacity = (uint64_t)v * 1024u;
    if (hk_vmw_child_i64(d, "unitNumber", &v) && v >= 0 && v < 65536)
        disk->unit = (int)v;
    if (hk_vmw_child_i64(d, "controllerKey", &v)) {
        const ctrl *c = find_ctrl(ctrls, n_ctrls, v);
        if (c) {
            disk->bus = c->bus;
            disk->controller_index = c->bus_number;
            if (!(disk->controller_model = strdup(c->model)))
                return nomem(ctx);
        } else {
            char *sf = hk_str_safe(file ? file : "?");
            hk_warn(ctx, HK_VMW_DOMAIN, "%s: disk %s: controller %lld not found", host,
                    sf ? sf : "?", (long long)v);
            free(sf);
        }
    }
    if (!file)
        hk_warn(ctx, HK_VMW_DOMAIN, "%s: a virtual disk has no backing file name", host);
    return 0;
}

static int
add_removable(h2k_ctx *ctx, const xmlNode *d, const char *kind, const ctrl *ctrls, size_t n_ctrls,
              h2k_vm_spec *s)
{
    bool oom = false;
    xmlNodePtr backing = hk_vmw_child(d, "backing");
    char *btype = hk_vmw_xsi_type(backing, &oom);
    char *file = NULL;
    /* one read: a type naming both (hostile, never VMware's) must not leak the first */
    if (btype && (strstr(btype, "IsoBackingInfo") || strstr(btype, "ImageBackingInfo")))
        file = hk_vmw_child_text(backing, "fileName", &oom);
    free(btype);
    if (oom) {
        free(file);
        return nomem(ctx);
    }
    h2k_vm_removable *r = hk_array_grow((void **)&s->removables, &s->n_removables, sizeof(*r));
    if (!r || !(r->kind = strdup(kind))) {
        free(file);
        return nomem(ctx);
    }
    r->path = file;
    r->slot = -1;
    r->bus = strcmp(kind, "floppy") == 0 ? H2K_BUS_FLOPPY : H2K_BUS_UNKNOWN;
    int64_t key, unit = -1;
    hk_vmw_child_i64(d, "unitNumber", &unit);
    if (r->bus != H2K_BUS_FLOPPY && hk_vmw_child_i64(d, "controllerKey", &key)) {
        const ctrl *c = find_ctrl(ctrls, n_ctrls, key);
        if (c) {
            r->bus = c->bus;
            if (unit >= 0 && unit < 65536)
                r->slot = c->bus == H2K_BUS_IDE ? c->bus_number * 2 + (int)unit : (int)unit;
        }
    } else if (unit >= 0 && unit < 65536) {
        r->slot = (int)unit;
    }
    return 0;
}

static int
add_nic(h2k_ctx *ctx, const xmlNode *d, const char *model, hk_vmw_vm *vm)
{
    bool oom = false;
    h2k_vm_spec *s = vm->spec;
    xmlNodePtr backing = hk_vmw_child(d, "backing");
    char *mac = hk_vmw_child_text(d, "macAddress", &oom);
    hk_mac_canon(mac);
    char *net = hk_vmw_child_text(backing, "deviceName", &oom);
    char *pg = hk_vmw_child_text(hk_vmw_child(backing, "port"), "portgroupKey", &oom);
    if (!oom && !net)
        net = hk_vmw_child_text(backing, "opaqueNetworkId", &oom);
    if (oom) {
        free(mac);
        free(net);
        free(pg);
        return nomem(ctx);
    }
    if (mac && !*mac) {
        free(mac);
        mac = NULL;
    }
    h2k_vm_nic *nic = hk_array_grow((void **)&s->nics, &s->n_nics, sizeof(*nic));
    if (!nic) {
        free(mac);
        free(net);
        free(pg);
        return nomem(ctx);
    }
    nic->mac = mac;
    nic->network = net;
    nic->is_bridge = 1; /* a vSphere network is a port group */
    if (model && !(nic->model = strdup(model))) {
        free(pg);
        return nomem(ctx);
    }
    if (pg && *pg && !net) {
        char **keys = realloc(vm->pg_keys, (vm->n_pg_keys + 1) * sizeof(*keys));
        if (!keys) {
            free(pg);
            return nomem(ctx);
        }
        vm->pg_keys = keys;
        size_t *idx = realloc(vm->pg_nic, (vm->n_pg_keys + 1) * sizeof(*idx));
        if (!idx) {
            free(pg);
            return nomem(ctx);
        }
        vm->pg_nic = idx;
        vm->pg_keys[vm->n_pg_keys] = pg;
        vm->pg_nic[vm->n_pg_keys] = s->n_nics - 1;
        vm->n_pg_keys++;
        /* the key until the name is resolved */
        if (!(nic->network = strdup(pg)))
            return nomem(ctx);
        return 0;
    }
    free(pg);
    return 0;
}

int
hk_vmw_parse_hardware(h2k_ctx *ctx, const char *host, const xmlNode *hw, hk_vmw_vm *vm)
{
    h2k_vm_spec *s = vm->spec;
    int64_t v;
    if (hk_vmw_child_i64(hw, "numCPU", &v) && v > 0 && v <= 65536)
        s->vcpus = (unsigned)v;
    if (hk_vmw_child_i64(hw, "numCoresPerSocket", &v) && v > 0 && v <= 65536)
        s->cores_per_socket = (unsigned)v;
    if (hk_vmw_child_i64(hw, "memoryMB", &v) && v > 0 && v < (INT64_C(1) << 40))
        s->memory_bytes = (uint64_t)v << 20;

    size_t n_dev = 0;
    for (xmlNodePtr d = hk_vmw_child(hw, "device"); d; d = hk_vmw_next(d, "device"))
        if (++n_dev > HK_VMW_MAX_DEVICES)
            return hk_error(ctx, H2K_ERR_FORMAT, "%s: more than %u devices in a VM", host,
                            HK_VMW_MAX_DEVICES);
    ctrl *ctrls = calloc(n_dev ? n_dev : 1, sizeof(*ctrls));
    if (!ctrls)
        return nomem(ctx);
    size_t n_ctrls = 0;
    int rc = 0;
    bool oom = false;
    for (xmlNodePtr d = hk_vmw_child(hw, "device"); d; d = hk_vmw_next(d, "device")) {
        char *t = hk_vmw_xsi_type(d, &oom);
        if (oom) {
            rc = nomem(ctx);
            goto done;
        }
        int64_t key;
        for (size_t i = 0; t && i < HK_ARRAY_LEN(ctrl_types); i++) {
            if (strcmp(t, ctrl_types[i].type) != 0 || !hk_vmw_child_i64(d, "key", &key))
                continue;
            ctrl *c = &ctrls[n_ctrls++];
            c->key = key;
            c->bus = ctrl_types[i].bus;
            c->model = ctrl_types[i].model;
            c->bus_number = -1;
            if (hk_vmw_child_i64(d, "busNumber", &v) && v >= 0 && v < 65536)
                c->bus_number = (int)v;
            break;
        }
        free(t);
    }
    for (xmlNodePtr d = hk_vmw_child(hw, "device"); d && rc == 0; d = hk_vmw_next(d, "device")) {
        char *t = hk_vmw_xsi_type(d, &oom);
        if (oom) {
            rc = nomem(ctx);
            break;
        }
        if (!t)
            continue;
        if (strcmp(t, "VirtualDisk") == 0) {
            rc = add_disk(ctx, host, d, ctrls, n_ctrls, s);
        } else if (strcmp(t, "VirtualCdrom") == 0) {
            rc = add_removable(ctx, d, "cdrom", ctrls, n_ctrls, s);
        } else if (strcmp(t, "VirtualFloppy") == 0) {
            rc = add_removable(ctx, d, "floppy", ctrls, n_ctrls, s);
        } else if (strcmp(t, "VirtualTPM") == 0) {
            s->vtpm = 1;
        } else {
            const char *model = NULL;
            bool is_nic = false;
            for (size_t i = 0; i < HK_ARRAY_LEN(nic_types); i++)
                if (strcmp(t, nic_types[i].type) == 0) {
                    model = nic_types[i].model;
                    is_nic = true;
                    break;
                }
            if (!is_nic) {
                char *bt = hk_vmw_xsi_type(hk_vmw_child(d, "backing"), &oom);
                is_nic = bt && hk_startswith(bt, "VirtualEthernetCard") &&
                         hk_vmw_child(d, "macAddress") != NULL;
                free(bt);
                if (oom)
                    rc = nomem(ctx);
            }
            if (is_nic && rc == 0)
                rc = add_nic(ctx, d, model, vm);
        }
        free(t);
    }
done:
    free(ctrls);
    return rc;
}

int
hk_vmw_parse_vm(h2k_ctx *ctx, const char *host, const xmlNode *obj, hk_vmw_vm *vm)
{
    bool oom = false;
    memset(vm, 0, sizeof(*vm));
    if (!(vm->spec = h2k_vm_spec_new()))
        return nomem(ctx);
    h2k_vm_spec *s = vm->spec;
    vm->moref = hk_vmw_child_text(obj, "obj", &oom);
    vm->power_state = prop_text(obj, "runtime.powerState", &oom);
    vm->vmx_path = prop_text(obj, "config.files.vmPathName", &oom);
    s->name = prop_text(obj, "name", &oom);
    if (!oom && !s->name)
        s->name = prop_text(obj, "config.name", &oom);
    s->uuid = prop_text(obj, "config.uuid", &oom);
    s->os_type = prop_text(obj, "config.guestId", &oom);
    s->source_type = strdup("vsphere");
    if (!s->source_type)
        oom = true;
    s->source_path = hk_strdup0(vm->vmx_path);
    if (vm->vmx_path && !s->source_path)
        oom = true;
    char *fw = prop_text(obj, "config.firmware", &oom);
    char *sb = prop_text(obj, "config.bootOptions.efiSecureBootEnabled", &oom);
    if (oom) {
        free(fw);
        free(sb);
        hk_vmw_vm_clear(vm);
        return nomem(ctx);
    }
    if (fw && strcmp(fw, "efi") == 0)
        s->firmware = H2K_FIRMWARE_UEFI;
    else if (fw && strcmp(fw, "bios") == 0)
        s->firmware = H2K_FIRMWARE_BIOS;
    s->secure_boot = sb && strcmp(sb, "true") == 0;
    free(fw);
    free(sb);
    if (!vm->moref || !*vm->moref || !s->name) {
        hk_vmw_vm_clear(vm);
        return hk_error(ctx, H2K_ERR_FORMAT, "%s: a VirtualMachine object has no %s", host,
                        vm->moref ? "name" : "reference");
    }
    /* the server's strings are kept as sent; control characters in them are
     * reported, rendered safely */
    const char *const shown[] = {s->name, s->os_type};
    for (size_t i = 0; i < 2; i++) {
        if (shown[i] && hk_str_needs_escape(shown[i])) {
            char *sv = hk_str_safe(shown[i]);
            hk_warn(ctx, HK_VMW_DOMAIN, "%s: VM %s \"%s\" holds control characters", host,
                    i == 0 ? "name" : "guest OS", sv ? sv : "?");
            free(sv);
        }
    }
    xmlNodePtr hw = hk_vmw_obj_prop(obj, "config.hardware");
    if (hw) {
        int rc = hk_vmw_parse_hardware(ctx, host, hw, vm);
        if (rc < 0) {
            hk_vmw_vm_clear(vm);
            return rc;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ tasks, leases */

int
hk_vmw_parse_task_info(h2k_ctx *ctx, const char *host, const char *what, const xmlNode *info,
                       char **result_moref)
{
    bool oom = false;
    if (result_moref)
        *result_moref = NULL;
    char *state = hk_vmw_child_text(info, "state", &oom);
    if (oom)
        return nomem(ctx);
    if (!state)
        return hk_error(ctx, H2K_ERR_FORMAT, "%s: %s: the task has no state", host, what);
    int rc;
    if (strcmp(state, "success") == 0) {
        rc = 1;
        xmlNodePtr res = hk_vmw_child(info, "result");
        if (res && result_moref) {
            xmlChar *type = xmlGetNoNsProp(res, (const xmlChar *)"type");
            if (type)
                *result_moref = hk_vmw_text(res, &oom);
            xmlFree(type);
            if (oom)
                rc = nomem(ctx);
        }
    } else if (strcmp(state, "queued") == 0 || strcmp(state, "running") == 0) {
        rc = 0;
    } else if (strcmp(state, "error") == 0) {
        xmlNodePtr err = hk_vmw_child(info, "error");
        char *msg = hk_vmw_child_text(err, "localizedMessage", &oom);
        char *type = hk_vmw_xsi_type(hk_vmw_child(err, "fault"), &oom);
        if (oom)
            rc = nomem(ctx);
        else
            rc = hk_error(ctx, hk_vmw_fault_code(type), "%s: %s: task failed: %s%s%s", host, what,
                          type ? type : "error", msg && *msg ? ": " : "", msg ? msg : "");
        free(msg);
        free(type);
    } else {
        rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: %s: unknown task state \"%.40s\"", host, what,
                      state);
    }
    free(state);
    return rc;
}

void
hk_vmw_device_urls_free(hk_vmw_device_url *u, size_t n)
{
    for (size_t i = 0; u && i < n; i++) {
        free(u[i].key);
        free(u[i].url);
        free(u[i].target_id);
    }
    free(u);
}

int
hk_vmw_parse_lease_info(h2k_ctx *ctx, const char *host, const xmlNode *info,
                        hk_vmw_device_url **urls, size_t *n)
{
    *urls = NULL;
    *n = 0;
    size_t count = 0;
    for (xmlNodePtr d = hk_vmw_child(info, "deviceUrl"); d; d = hk_vmw_next(d, "deviceUrl"))
        if (++count > HK_VMW_MAX_DEVICES)
            return hk_error(ctx, H2K_ERR_FORMAT, "%s: HttpNfcLease: more than %u device URLs", host,
                            HK_VMW_MAX_DEVICES);
    if (count == 0)
        return 0;
    hk_vmw_device_url *u = calloc(count, sizeof(*u));
    if (!u)
        return nomem(ctx);
    size_t i = 0;
    bool oom = false;
    for (xmlNodePtr d = hk_vmw_child(info, "deviceUrl"); d; d = hk_vmw_next(d, "deviceUrl")) {
        hk_vmw_device_url *e = &u[i++];
        e->key = hk_vmw_child_text(d, "key", &oom);
        e->url = hk_vmw_child_text(d, "url", &oom);
        e->target_id = hk_vmw_child_text(d, "targetId", &oom);
        char *disk = hk_vmw_child_text(d, "disk", &oom);
        e->disk = disk && strcmp(disk, "true") == 0;
        free(disk);
        int64_t v;
        e->file_size = hk_vmw_child_i64(d, "fileSize", &v) && v >= 0 ? v : -1;
        if (!oom && (!e->url || !*e->url)) {
            hk_vmw_device_urls_free(u, count);
            return hk_error(ctx, H2K_ERR_FORMAT, "%s: HttpNfcLease: a device URL has no url", host);
        }
    }
    if (oom) {
        hk_vmw_device_urls_free(u, count);
        return nomem(ctx);
    }
    *urls = u;
    *n = count;
    return 0;
}

void
hk_vmw_manifest_free(hk_vmw_manifest_entry *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++) {
        free(e[i].key);
        free(e[i].sha1);
    }
    free(e);
}

int
hk_vmw_parse_manifest(h2k_ctx *ctx, const char *host, const xmlNode *resp,
                      hk_vmw_manifest_entry **entries, size_t *n)
{
    *entries = NULL;
    *n = 0;
    size_t count = 0;
    for (xmlNodePtr r = hk_vmw_child(resp, "returnval"); r; r = hk_vmw_next(r, "returnval"))
        if (++count > HK_VMW_MAX_DEVICES)
            return hk_error(ctx, H2K_ERR_FORMAT, "%s: HttpNfcLeaseGetManifest: too many entries",
                            host);
    if (count == 0)
        return 0;
    hk_vmw_manifest_entry *e = calloc(count, sizeof(*e));
    if (!e)
        return nomem(ctx);
    size_t i = 0;
    bool oom = false;
    for (xmlNodePtr r = hk_vmw_child(resp, "returnval"); r; r = hk_vmw_next(r, "returnval")) {
        hk_vmw_manifest_entry *m = &e[i++];
        m->key = hk_vmw_child_text(r, "key", &oom);
        m->sha1 = hk_vmw_child_text(r, "sha1", &oom);
        if (!oom && !m->sha1) {
            /* newer servers: checksum + checksumType */
            char *ct = hk_vmw_child_text(r, "checksumType", &oom);
            if (ct && hk_streq_nocase(ct, "sha1"))
                m->sha1 = hk_vmw_child_text(r, "checksum", &oom);
            free(ct);
        }
        if (m->sha1)
            for (char *p = m->sha1; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        int64_t v;
        m->size = hk_vmw_child_i64(r, "size", &v) && v >= 0 ? v : -1;
    }
    if (oom) {
        hk_vmw_manifest_free(e, count);
        return nomem(ctx);
    }
    *entries = e;
    *n = count;
    return 0;
}
