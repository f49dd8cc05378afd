/*
 * The OVF descriptor of a vSphere export (DMTF DSP0243 1.x, VMware's
 * extensions for firmware), written with libxml2 so that every name and
 * value is escaped.  h2k_ovf_parse_file() reads it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "core/util.h"
#include "providers/vmware/vmw_internal.h"

#define NS_OVF "http://schemas.dmtf.org/ovf/envelope/1"
#define NS_RASD                                                                                    \
    "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
#define NS_VSSD "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
#define NS_VMW "http://www.vmware.com/schema/ovf"

typedef struct ovfw {
    xmlDocPtr doc;
    xmlNsPtr ovf, rasd, vmw;
    xmlNodePtr hw;
    unsigned next_id;
    bool oom;
} ovfw;

static xmlNodePtr
add(ovfw *w, xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
    xmlNodePtr n = xmlNewChild(parent, ns, (const xmlChar *)name, NULL);
    if (!n) {
        w->oom = true;
        return NULL;
    }
    if (text) {
        xmlNodePtr t = xmlNewText((const xmlChar *)text); /* escaped when saved */
        if (!t || !xmlAddChild(n, t)) {
            xmlFreeNode(t);
            w->oom = true;
        }
    }
    return n;
}

static void
attr(ovfw *w, xmlNodePtr n, xmlNsPtr ns, const char *name, const char *value)
{
    if (n && !xmlNewNsProp(n, ns, (const xmlChar *)name, (const xmlChar *)value))
        w->oom = true;
}

static void
rasd(ovfw *w, xmlNodePtr item, const char *name, const char *value)
{
    if (item)
        add(w, item, w->rasd, name, value);
}

/* A new Item with its InstanceID and ResourceType; the id in @id_out. */
static xmlNodePtr
item(ovfw *w, int type, const char *element_name, char id_out[32])
{
    if (!w->hw)
        return NULL;
    xmlNodePtr it = add(w, w->hw, w->ovf, "Item", NULL);
    snprintf(id_out, 32, "%u", w->next_id++);
    char t[16];
    snprintf(t, sizeof(t), "%d", type);
    /* rasd elements in the schema's alphabetical order is not required by readers */
    rasd(w, it, "ElementName", element_name);
    rasd(w, it, "InstanceID", id_out);
    rasd(w, it, "ResourceType", t);
    return it;
}

typedef struct ctrl_ref {
    h2k_bus bus;
    int index;
    const char *model;
    char id[32];
} ctrl_ref;

/* Returns the InstanceID of the controller (@bus, @index, @model), adding it once. */
static const char *
controller(ovfw *w, ctrl_ref *refs, size_t *n, size_t cap, h2k_bus bus, int index,
           const char *model)
{
    for (size_t i = 0; i < *n; i++)
        if (refs[i].bus == bus && refs[i].index == index)
            return refs[i].id;
    if (*n >= cap || bus == H2K_BUS_UNKNOWN)
        return NULL;
    ctrl_ref *r = &refs[(*n)++];
    r->bus = bus;
    r->index = index;
    r->model = model;
    int type = 1;
    const char *sub = NULL, *label = "controller";
    switch (bus) {
    case H2K_BUS_IDE:
        type = 5;
        label = "IDE controller";
        break;
    case H2K_BUS_SCSI:
        type = 6;
        label = "SCSI controller";
        sub = !model                             ? "lsilogic"
              : strcmp(model, "pvscsi") == 0     ? "VirtualSCSI"
              : strcmp(model, "lsisas1068") == 0 ? "lsilogicsas"
                                                 : model;
        break;
    case H2K_BUS_SATA:
        type = 20;
        label = "SATA controller";
        sub = "vmware.sata.ahci";
        break;
    case H2K_BUS_NVME:
        type = 1;
        label = "NVME controller";
        sub = "vmware.nvme.controller";
        break;
    default:
        break;
    }
    xmlNodePtr it = item(w, type, label, r->id);
    char addr[16];
    snprintf(addr, sizeof(addr), "%d", index < 0 ? 0 : index);
    rasd(w, it, "Address", addr);
    if (sub)
        rasd(w, it, "ResourceSubType", sub);
    return r->id;
}

int
hk_vmw_write_ovf(h2k_ctx *ctx, const h2k_vm_spec *s, const char *const *hrefs,
                 const char *format_uri, const char *path)
{
    ovfw w = {0};
    w.next_id = 1;
    char num[48];
    ctrl_ref *ctrls = calloc(s->n_disks + s->n_removables + 1, sizeof(*ctrls));
    size_t n_ctrls = 0, cap = s->n_disks + s->n_removables + 1;
    w.doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr env = w.doc ? xmlNewDocNode(w.doc, NULL, (const xmlChar *)"Envelope", NULL) : NULL;
    if (!ctrls || !env) {
        free(ctrls);
        if (w.doc)
            xmlFreeDoc(w.doc);
        return hk_error_nomem(ctx);
    }
    xmlDocSetRootElement(w.doc, env);
    xmlNsPtr def = xmlNewNs(env, (const xmlChar *)NS_OVF, NULL);
    w.ovf = xmlNewNs(env, (const xmlChar *)NS_OVF, (const xmlChar *)"ovf");
    w.rasd = xmlNewNs(env, (const xmlChar *)NS_RASD, (const xmlChar *)"rasd");
    xmlNewNs(env, (const xmlChar *)NS_VSSD, (const xmlChar *)"vssd");
    w.vmw = xmlNewNs(env, (const xmlChar *)NS_VMW, (const xmlChar *)"vmw");
    if (!def || !w.ovf || !w.rasd || !w.vmw)
        w.oom = true;
    xmlSetNs(env, def);

    xmlNodePtr refs = add(&w, env, def, "References", NULL);
    for (size_t i = 0; refs && i < s->n_disks; i++) {
        xmlNodePtr f = add(&w, refs, def, "File", NULL);
        snprintf(num, sizeof(num), "file%zu", i + 1);
        attr(&w, f, w.ovf, "id", num);
        attr(&w, f, w.ovf, "href", hrefs[i]);
    }
    xmlNodePtr ds = add(&w, env, def, "DiskSection", NULL);
    add(&w, ds, def, "Info", "Virtual disk information");
    for (size_t i = 0; ds && i < s->n_disks; i++) {
        xmlNodePtr d = add(&w, ds, def, "Disk", NULL);
        snprintf(num, sizeof(num), "vmdisk%zu", i + 1);
        attr(&w, d, w.ovf, "diskId", num);
        snprintf(num, sizeof(num), "file%zu", i + 1);
        attr(&w, d, w.ovf, "fileRef", num);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)s->disks[i].capacity);
        attr(&w, d, w.ovf, "capacity", num);
        attr(&w, d, w.ovf, "capacityAllocationUnits", "byte");
        if (format_uri)
            attr(&w, d, w.ovf, "format", format_uri);
    }
    xmlNodePtr net = s->n_nics ? add(&w, env, def, "NetworkSection", NULL) : NULL;
    if (net)
        add(&w, net, def, "Info", "Networks");
    for (size_t i = 0; net && i < s->n_nics; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= s->nics[j].network && s->nics[i].network &&
                   strcmp(s->nics[j].network, s->nics[i].network) == 0;
        if (!s->nics[i].network || dup)
            continue;
        xmlNodePtr n = add(&w, net, def, "Network", NULL);
        attr(&w, n, w.ovf, "name", s->nics[i].network);
        add(&w, n, def, "Description", s->nics[i].network);
    }
    xmlNodePtr vs = add(&w, env, def, "VirtualSystem", NULL);
    attr(&w, vs, w.ovf, "id", s->name ? s->name : "vm");
    add(&w, vs, def, "Info", "A virtual machine exported from vSphere by hyper2kvm");
    add(&w, vs, def, "Name", s->name ? s->name : "vm");
    if (s->os_type) {
        xmlNodePtr os = add(&w, vs, def, "OperatingSystemSection", NULL);
        attr(&w, os, w.ovf, "id", "1");
        attr(&w, os, w.vmw, "osType", s->os_type);
        add(&w, os, def, "Info", "The guest operating system");
    }
    w.hw = add(&w, vs, def, "VirtualHardwareSection", NULL);
    add(&w, w.hw, def, "Info", "Virtual hardware requirements");
    char id[32];
    if (s->vcpus) {
        xmlNodePtr it = item(&w, 3, "CPUs", id);
        snprintf(num, sizeof(num), "%u", s->vcpus);
        rasd(&w, it, "VirtualQuantity", num);
        if (s->cores_per_socket) {
            snprintf(num, sizeof(num), "%u", s->cores_per_socket);
            xmlNodePtr cps = it ? add(&w, it, w.vmw, "CoresPerSocket", num) : NULL;
            attr(&w, cps, w.ovf, "required", "false");
        }
    }
    if (s->memory_bytes) {
        xmlNodePtr it = item(&w, 4, "Memory", id);
        rasd(&w, it, "AllocationUnits", "byte * 2^20");
        snprintf(num, sizeof(num), "%llu", (unsigned long long)(s->memory_bytes >> 20));
        rasd(&w, it, "VirtualQuantity", num);
    }
    for (size_t i = 0; i < s->n_disks; i++) {
        const h2k_vm_disk *d = &s->disks[i];
        const char *parent = controller(&w, ctrls, &n_ctrls, cap, d->bus, d->controller_index,
                                        d->controller_model);
        snprintf(num, sizeof(num), "Hard disk %zu", i + 1);
        xmlNodePtr it = item(&w, 17, num, id);
        if (d->unit >= 0) {
            snprintf(num, sizeof(num), "%d", d->unit);
            rasd(&w, it, "AddressOnParent", num);
        }
        snprintf(num, sizeof(num), "ovf:/disk/vmdisk%zu", i + 1);
        rasd(&w, it, "HostResource", num);
        if (parent)
            rasd(&w, it, "Parent", parent);
    }
    for (size_t i = 0; i < s->n_removables; i++) {
        const h2k_vm_removable *r = &s->removables[i];
        bool floppy = r->kind && strcmp(r->kind, "floppy") == 0;
        int index = r->bus == H2K_BUS_IDE && r->slot >= 0 ? r->slot / 2 : 0;
        const char *parent = floppy ? NULL
                                    : controller(&w, ctrls, &n_ctrls, cap, r->bus, index, NULL);
        xmlNodePtr it = item(&w, floppy ? 14 : 15, floppy ? "Floppy drive" : "CD/DVD drive", id);
        if (r->slot >= 0) {
            snprintf(num, sizeof(num), "%d", r->bus == H2K_BUS_IDE ? r->slot % 2 : r->slot);
            rasd(&w, it, "AddressOnParent", num);
        }
        rasd(&w, it, "AutomaticAllocation", "false");
        if (parent)
            rasd(&w, it, "Parent", parent);
    }
    for (size_t i = 0; i < s->n_nics; i++) {
        const h2k_vm_nic *n = &s->nics[i];
        snprintf(num, sizeof(num), "Network adapter %zu", i + 1);
        xmlNodePtr it = item(&w, 10, num, id);
        if (n->mac)
            rasd(&w, it, "Address", n->mac);
        rasd(&w, it, "AutomaticAllocation", "true");
        if (n->network)
            rasd(&w, it, "Connection", n->network);
        if (n->model)
            rasd(&w, it, "ResourceSubType", n->model);
    }
    if (s->firmware != H2K_FIRMWARE_UNKNOWN) {
        xmlNodePtr cfg = w.hw ? add(&w, w.hw, w.vmw, "Config", NULL) : NULL;
        attr(&w, cfg, w.ovf, "required", "false");
        attr(&w, cfg, w.vmw, "key", "firmware");
        attr(&w, cfg, w.vmw, "value", s->firmware == H2K_FIRMWARE_UEFI ? "efi" : "bios");
    }
    if (s->secure_boot) {
        xmlNodePtr cfg = w.hw ? add(&w, w.hw, w.vmw, "Config", NULL) : NULL;
        attr(&w, cfg, w.ovf, "required", "false");
        attr(&w, cfg, w.vmw, "key", "bootOptions.efiSecureBootEnabled");
        attr(&w, cfg, w.vmw, "value", "true");
    }
    free(ctrls);
    if (w.oom) {
        xmlFreeDoc(w.doc);
        return hk_error_nomem(ctx);
    }
    xmlChar *mem = NULL;
    int len = 0;
    xmlDocDumpFormatMemoryEnc(w.doc, &mem, &len, "UTF-8", 1);
    xmlFreeDoc(w.doc);
    int rc = !mem || len <= 0 ? hk_error_nomem(ctx)
                              : hk_write_file_atomic(ctx, path, mem, (size_t)len, 0, NULL);
    xmlFree(mem);
    return rc;
}
