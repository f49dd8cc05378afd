/*
 * OVF reader: an OVF descriptor (DMTF DSP0243, as VMware and other tools write
 * it) into an h2k_vm_spec, with libxml2.
 *
 * Safety: documents over 16 MiB are refused before parsing; the parser never
 * touches the network, loads no external DTD or entity and substitutes no
 * entities; a document with a DOCTYPE is refused outright (OVF has no use for
 * one, and entity expansion is how XML bombs work).  The tree is walked
 * directly (no XPath built from document strings); item, file and disk counts
 * are capped so lookups stay cheap.
 *
 * What we read (element and attribute names are matched by local name; the
 * envelope elements must be in the OVF 1.x/2.x namespace or none):
 *  - name: VirtualSystem/Name, else VirtualSystem ovf:id;
 *  - os_type: OperatingSystemSection vmw:osType, else its ovf:id;
 *  - VirtualHardwareSection items, by rasd:ResourceType: 3 vCPUs
 *    (VirtualQuantity, vmw:CoresPerSocket), 4 memory (VirtualQuantity times
 *    AllocationUnits, "byte * 2^20" assumed when absent), 17 hard disk,
 *    14 floppy, 15/16 CD-ROM, 10 NIC; 5 IDE, 6 SCSI and 20 SATA controllers
 *    (and VMware's NVMe/AHCI "other" controllers by ResourceSubType) found
 *    through rasd:Parent -> rasd:InstanceID;
 *  - disks in the order the items list them: rasd:HostResource
 *    "ovf:/disk/ID" -> DiskSection Disk ovf:diskId -> ovf:fileRef ->
 *    References File ovf:id -> ovf:href (or "ovf:/file/ID" directly);
 *    capacity x capacityAllocationUnits, populatedSize, format URI ->
 *    format_hint ("vmdk-streamOptimized"), File ovf:compression ("identity"
 *    is none; only "gzip" is accepted), chunked files (ovf:chunkSize) refused;
 *  - hrefs must be relative paths inside the package: absolute names, URIs,
 *    backslashes and ".." components give H2K_ERR_FORMAT; path is the href
 *    joined to base_dir (the href itself when base_dir is NULL);
 *  - removable media slot = AddressOnParent, as virt-v2v counts it for OVF;
 *  - NICs: rasd:Connection is the network, reported as a bridge (is_bridge 1);
 *    model = ResourceSubType in lower case (E1000 -> e1000); MAC from
 *    rasd:Address when present;
 *  - firmware from vmw:Config key "firmware" ("efi"/"bios"; absent leaves it
 *    unknown), secure boot from key "uefi.secureBoot.enabled" (or vSphere's
 *    "bootOptions.efiSecureBootEnabled").
 */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "descriptor_file.h"
#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"

#define OVF_MAX_SIZE (16u << 20)
#define OVF_MAX_ITEMS 4096u
#define OVF_MAX_VCPUS HK_VM_MAX_VCPUS
#define OVF_DOMAIN "ovf"

static const char *const ovf_envelope_ns[] = {
    "http://schemas.dmtf.org/ovf/envelope/1",
    "http://schemas.dmtf.org/ovf/envelope/2",
    NULL,
};
#define OVF_VMW_NS "http://www.vmware.com/schema/ovf"

/* An element with its identifier read once, so lookups are plain compares. */
typedef struct ovf_ref {
    xmlNodePtr node;
    char *key; /* File ovf:id, Disk ovf:diskId or Item InstanceID; may be NULL */
    int type;  /* items: ResourceType, -1 when absent */
} ovf_ref;

typedef struct ovf_state {
    h2k_ctx *ctx;
    const char *name;     /* document name for messages */
    const char *base_dir; /* may be NULL */
    ovf_ref *files;
    size_t n_files;
    ovf_ref *disks;
    size_t n_disks;
    ovf_ref *items;
    size_t n_items;
    h2k_vm_spec *spec;
} ovf_state;

/* ------------------------------------------------------------ helpers */

static bool
is_ovf_ns(const xmlNs *ns)
{
    if (!ns)
        return true;
    for (size_t i = 0; ovf_envelope_ns[i]; i++)
        if (xmlStrEqual(ns->href, (const xmlChar *)ovf_envelope_ns[i]))
            return true;
    return false;
}

static bool
is_elem(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *)local);
}

/* An envelope-level element: right local name, OVF namespace (or none). */
static bool
is_ovf_elem(const xmlNode *n, const char *local)
{
    return is_elem(n, local) && is_ovf_ns(n->ns);
}

static long
line_of(const xmlNode *n)
{
    return n ? xmlGetLineNo(n) : -1;
}

/* Duplicates a libxml2 string into malloc()ed memory and frees the original. */
static char *
take_xml_string(xmlChar *x)
{
    if (!x)
        return NULL;
    char *s = strdup((const char *)x);
    xmlFree(x);
    return s;
}

/* Attribute @local of @n in no namespace, the OVF namespace or VMware's.
 * Returns a malloc()ed, trimmed string (caller frees) or NULL when absent.
 * *oom is set on allocation failure. */
static char *
get_attr(const xmlNode *n, const char *local, bool *oom)
{
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        if (!xmlStrEqual(a->name, (const xmlChar *)local))
            continue;
        if (a->ns && !is_ovf_ns(a->ns) && !xmlStrEqual(a->ns->href, (const xmlChar *)OVF_VMW_NS))
            continue;
        xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
        char *s = take_xml_string(v ? v : xmlStrdup((const xmlChar *)""));
        if (!s) {
            *oom = true;
            return NULL;
        }
        return hk_strtrim(s);
    }
    return NULL;
}

static xmlNodePtr
first_child(const xmlNode *n, const char *local)
{
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (is_elem(c, local))
            return c;
    return NULL;
}

/* Trimmed text of the first child element @local (caller frees), or NULL. */
static char *
child_text(const xmlNode *n, const char *local, bool *oom)
{
    xmlNodePtr c = first_child(n, local);
    if (!c)
        return NULL;
    xmlChar *v = xmlNodeGetContent(c);
    char *s = take_xml_string(v ? v : xmlStrdup((const xmlChar *)""));
    if (!s) {
        *oom = true;
        return NULL;
    }
    return hk_strtrim(s);
}

static char *safe_vformat(const char *fmt, va_list ap) HK_PRINTF(1, 0);

/* The message @fmt renders, by hk_str_safe: values quoted from the document
 * may hold control characters.  NULL when out of memory. */
static char *
safe_vformat(const char *fmt, va_list ap)
{
    char *raw = hk_vasprintf(fmt, ap);
    char *msg = raw ? hk_str_safe(raw) : NULL;
    free(raw);
    return msg;
}

static int ovf_error(ovf_state *st, int code, const xmlNode *n, const char *field, const char *fmt,
                     ...) HK_PRINTF(5, 6);

static int
ovf_error(ovf_state *st, int code, const xmlNode *n, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = safe_vformat(fmt, ap);
    va_end(ap);
    long line = line_of(n);
    if (line > 0)
        hk_error_at(st->ctx, code, st->name, -1, field, "line %ld: %s", line, msg ? msg : "error");
    else
        hk_error_at(st->ctx, code, st->name, -1, field, "%s", msg ? msg : "error");
    free(msg);
    return code;
}

static int
ovf_nomem(ovf_state *st)
{
    return hk_error_nomem(st->ctx);
}

static void ovf_warn(ovf_state *st, const char *fmt, ...) HK_PRINTF(2, 3);

/* hk_warn with the whole message rendered by hk_str_safe (it quotes document
 * values). */
static void
ovf_warn(ovf_state *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = safe_vformat(fmt, ap);
    va_end(ap);
    hk_warn(st->ctx, OVF_DOMAIN, "%s", msg ? msg : "(out of memory)");
    free(msg);
}

/* Warns when @value (a string the spec returns: name, OS type, network) holds
 * control characters; it is kept as written. */
static void
warn_controls(ovf_state *st, const xmlNode *n, const char *what, const char *value)
{
    if (!value || !hk_str_needs_escape(value))
        return;
    ovf_warn(st, "%s: line %ld: %s holds control characters: \"%s\"", st->name, line_of(n), what,
             value);
}

/* Parses a whole unsigned decimal number (surrounding blanks already trimmed). */
static bool
parse_u64(const char *s, uint64_t *out)
{
    return s && hk_parse_u64(s, out, false);
}

/* Why parse_u64 refused @s: "is negative", "is too large" or "is not a number". */
static const char *
num_why(const char *s)
{
    if (s && s[0] == '-' && s[1] && strspn(s + 1, "0123456789") == strlen(s + 1))
        return "is negative";
    if (s && *s && strspn(s, "0123456789") == strlen(s))
        return "is too large";
    return "is not a number";
}

static bool
mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a && b > UINT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

/* Skips blanks. */
static const char *
skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Reads an unsigned number at *pp (advancing it). */
static bool
read_num(const char **pp, uint64_t *out)
{
    const char *p = *pp;
    if (!isdigit((unsigned char)*p))
        return false;
    uint64_t v = 0;
    while (isdigit((unsigned char)*p)) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        p++;
    }
    *pp = p;
    *out = v;
    return true;
}

/* Byte multiplier of a DMTF programmatic unit: "byte", "byte * 2^20",
 * "byte * 1024", "byte * 10^3 * 2", or the words KB/MB/GB/TB, kilobytes...
 * False for anything else or on overflow. */
static bool
parse_units(const char *s, uint64_t *mult)
{
    static const struct {
        const char *word;
        unsigned shift;
    } words[] = {
        {"kb", 10}, {"kib", 10}, {"kilobyte", 10}, {"kilobytes", 10},
        {"mb", 20}, {"mib", 20}, {"megabyte", 20}, {"megabytes", 20},
        {"gb", 30}, {"gib", 30}, {"gigabyte", 30}, {"gigabytes", 30},
        {"tb", 40}, {"tib", 40}, {"terabyte", 40}, {"terabytes", 40},
    };
    const char *p = skip_ws(s);
    for (size_t i = 0; i < HK_ARRAY_LEN(words); i++) {
        if (hk_streq_nocase(p, words[i].word)) {
            *mult = UINT64_C(1) << words[i].shift;
            return true;
        }
    }
    size_t wl = strncasecmp(p, "bytes", 5) == 0 ? 5 : strncasecmp(p, "byte", 4) == 0 ? 4 : 0;
    if (!wl)
        return false;
    p = skip_ws(p + wl);
    uint64_t m = 1;
    while (*p == '*') {
        p = skip_ws(p + 1);
        uint64_t base, exp = 1;
        if (!read_num(&p, &base))
            return false;
        p = skip_ws(p);
        if (*p == '^') {
            p = skip_ws(p + 1);
            if (!read_num(&p, &exp) || exp > 64)
                return false;
            p = skip_ws(p);
        }
        for (uint64_t i = 0; i < exp; i++)
            if (!mul_u64(m, base, &m))
                return false;
    }
    if (*p)
        return false;
    *mult = m;
    return true;
}

/* Small non-negative integer (AddressOnParent, Address); -1 when absent or bad. */
static int
small_int(const char *s)
{
    uint64_t v;
    if (!parse_u64(s, &v) || v > INT_MAX)
        return -1;
    return (int)v;
}

/* Format URI -> short hint: ".../vmdk.html#streamOptimized" -> "vmdk-streamOptimized".
 * Returns NULL (no hint) for something unreadable; *oom on allocation failure. */
static char *
format_hint(const char *uri, bool *oom)
{
    const char *hash = strchr(uri, '#');
    size_t blen = hash ? (size_t)(hash - uri) : strlen(uri);
    const char *base = uri;
    for (size_t i = 0; i < blen; i++)
        if (uri[i] == '/')
            base = uri + i + 1;
    size_t l = (size_t)(uri + blen - base);
    char kind[64];
    if (l == 0 || l >= sizeof(kind))
        return NULL;
    memcpy(kind, base, l);
    kind[l] = '\0';
    char *dot = strchr(kind, '.');
    if (dot)
        *dot = '\0';
    for (char *p = kind; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    const char *name = kind;
    if (strstr(kind, "vmdk"))
        name = "vmdk";
    else if (strstr(kind, "qcow"))
        name = "qcow2";
    else if (strstr(kind, "vhdx"))
        name = "vhdx";
    else if (strstr(kind, "vhd"))
        name = "vhd";
    if (!*name)
        return NULL;
    const char *frag = hash ? hash + 1 : "";
    for (const char *p = frag; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return NULL;
    if (strlen(frag) > 64)
        return NULL;
    char *r = *frag ? hk_asprintf("%s-%s", name, frag) : strdup(name);
    if (!r)
        *oom = true;
    return r;
}

/* VMware/DMTF controller sub-type -> the model names used in the spec. */
static char *
controller_model(const char *sub)
{
    static const struct {
        const char *from, *to;
    } map[] = {
        {"lsilogicsas", "lsisas1068"},      {"virtualscsi", "pvscsi"}, {"vmware.sata.ahci", "ahci"},
        {"vmware.nvme.controller", "nvme"}, {"ahci", "ahci"},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(map); i++)
        if (hk_streq_nocase(sub, map[i].from))
            return strdup(map[i].to);
    return hk_descriptor_lower_dup(sub);
}

/* ----------------------------------------------------------- lookups */

/* The entry of @arr whose key is @id (the first one), or NULL. */
static const ovf_ref *
find_ref(const ovf_ref *arr, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (arr[i].key && strcmp(arr[i].key, id) == 0)
            return &arr[i];
    return NULL;
}

/* Resource type of an item; -1 when absent or not a number. */
static int
item_type(const xmlNode *item, bool *oom)
{
    char *t = child_text(item, "ResourceType", oom);
    int v = t ? small_int(t) : -1;
    free(t);
    return v;
}

static void
free_refs(ovf_ref *arr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(arr[i].key);
    free(arr);
}

/* Controller of an item, through rasd:Parent.  Fills bus, model (caller frees)
 * and controller index; leaves them unknown when there is no parent. */
static int
item_controller(ovf_state *st, const xmlNode *item, h2k_bus *bus, char **model, int *index)
{
    bool oom = false;
    *bus = H2K_BUS_UNKNOWN;
    *model = NULL;
    *index = -1;
    char *parent = child_text(item, "Parent", &oom);
    if (!parent)
        return oom ? ovf_nomem(st) : 0;
    const ovf_ref *ref = find_ref(st->items, st->n_items, parent);
    if (!ref) {
        ovf_warn(st, "%s: line %ld: rasd:Parent %s names no item", st->name, line_of(item), parent);
        free(parent);
        return 0;
    }
    free(parent);
    xmlNodePtr ctrl = ref->node;
    int type = ref->type;
    char *sub = child_text(ctrl, "ResourceSubType", &oom);
    char *addr = child_text(ctrl, "Address", &oom);
    if (oom) {
        free(sub);
        free(addr);
        return ovf_nomem(st);
    }
    switch (type) {
    case 5:
        *bus = H2K_BUS_IDE;
        break;
    case 6:
        *bus = H2K_BUS_SCSI;
        break;
    case 20:
        *bus = H2K_BUS_SATA;
        break;
    default:
        if (sub && strstr(sub, "nvme"))
            *bus = H2K_BUS_NVME;
        else if (sub && (strstr(sub, "sata") || strstr(sub, "ahci")))
            *bus = H2K_BUS_SATA;
        else
            ovf_warn(st, "%s: line %ld: unknown controller type %d", st->name, line_of(ctrl), type);
        break;
    }
    if (addr)
        *index = small_int(addr);
    if (sub && *sub && !(*model = controller_model(sub))) {
        free(sub);
        free(addr);
        return ovf_nomem(st);
    }
    if (!*model && *bus == H2K_BUS_SATA && !(*model = strdup("ahci"))) {
        free(sub);
        free(addr);
        return ovf_nomem(st);
    }
    free(sub);
    free(addr);
    return 0;
}

/* Checks that @href stays inside the package. */
static int
check_href(ovf_state *st, const xmlNode *file, const char *href)
{
    if (!*href)
        return ovf_error(st, H2K_ERR_FORMAT, file, "href", "File has an empty ovf:href");
    if (href[0] == '/')
        return ovf_error(st, H2K_ERR_FORMAT, file, "href",
                         "File ovf:href \"%s\" is an absolute path", href);
    for (const char *p = href; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == '\\')
            return ovf_error(st, H2K_ERR_FORMAT, file, "href",
                             "File ovf:href \"%s\" has a control character or backslash", href);
        if (*p == ':')
            return ovf_error(st, H2K_ERR_FORMAT, file, "href",
                             "File ovf:href \"%s\" is a URI, not a file in the package", href);
    }
    const char *p = href;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (l == 2 && p[0] == '.' && p[1] == '.')
            return ovf_error(st, H2K_ERR_FORMAT, file, "href",
                             "File ovf:href \"%s\" has a \"..\" component", href);
        p += l;
        while (*p == '/')
            p++;
    }
    return 0;
}

/* Resolves a References/File into file_ref, path and compression. */
static int
use_file(ovf_state *st, const xmlNode *file, char **file_ref, char **path, char **compression)
{
    bool oom = false;
    int rc = 0;
    char *href = get_attr(file, "href", &oom);
    char *comp = get_attr(file, "compression", &oom);
    char *chunk = get_attr(file, "chunkSize", &oom);
    if (oom) {
        rc = ovf_nomem(st);
        goto out;
    }
    if (!href) {
        rc = ovf_error(st, H2K_ERR_FORMAT, file, "href", "File has no ovf:href");
        goto out;
    }
    if ((rc = check_href(st, file, href)) < 0)
        goto out;
    if (chunk) {
        rc = ovf_error(st, H2K_ERR_UNSUPPORTED, file, "chunkSize",
                       "File \"%s\" is split in chunks, which is not supported", href);
        goto out;
    }
    if (comp && *comp && !hk_streq_nocase(comp, "identity")) {
        if (!hk_streq_nocase(comp, "gzip")) {
            rc = ovf_error(st, H2K_ERR_UNSUPPORTED, file, "compression",
                           "File \"%s\" uses compression \"%s\" (only gzip is supported)", href,
                           comp);
            goto out;
        }
        if (compression && !(*compression = strdup("gzip"))) {
            rc = ovf_nomem(st);
            goto out;
        }
    }
    *path = st->base_dir ? hk_path_join(st->base_dir, href) : strdup(href);
    if (file_ref) {
        *file_ref = href;
        href = NULL;
    }
    if (!*path || (file_ref && !*file_ref))
        rc = ovf_nomem(st);
out:
    free(href);
    free(comp);
    free(chunk);
    return rc;
}

/* "ovf:/disk/ID" -> kind 'd', "ovf:/file/ID" -> 'f'; *id points into @res. */
static char
host_resource_kind(const char *res, const char **id)
{
    const char *p = res;
    if (strncasecmp(p, "ovf:", 4) == 0)
        p += 4;
    while (p[0] == '/' && p[1] == '/') /* "ovf://disk/ID" is seen too */
        p++;
    if (strncmp(p, "/disk/", 6) == 0 && p[6]) {
        *id = p + 6;
        return 'd';
    }
    if (strncmp(p, "/file/", 6) == 0 && p[6]) {
        *id = p + 6;
        return 'f';
    }
    return 0;
}

/* ------------------------------------------------------------- items */

static int
read_disk(ovf_state *st, const xmlNode *item, h2k_vm_disk *d)
{
    bool oom = false;
    int rc = 0;
    char *res = child_text(item, "HostResource", &oom);
    char *aop = child_text(item, "AddressOnParent", &oom);
    char *cap = NULL, *units = NULL, *pop = NULL, *fmt = NULL, *fileref = NULL;
    if (oom) {
        rc = ovf_nomem(st);
        goto out;
    }
    d->unit = aop ? small_int(aop) : -1;
    if ((rc = item_controller(st, item, &d->bus, &d->controller_model, &d->controller_index)) < 0)
        goto out;
    const char *id = NULL;
    char kind = res ? host_resource_kind(res, &id) : 0;
    if (!kind) {
        rc = ovf_error(st, H2K_ERR_FORMAT, item, "HostResource",
                       "hard disk item has no usable rasd:HostResource (\"%s\")", res ? res : "");
        goto out;
    }
    xmlNodePtr file = NULL;
    if (kind == 'd') {
        const ovf_ref *dref = find_ref(st->disks, st->n_disks, id);
        xmlNodePtr disk = dref ? dref->node : NULL;
        if (!disk) {
            rc = ovf_error(st, H2K_ERR_FORMAT, item, "HostResource",
                           "no DiskSection Disk has ovf:diskId \"%s\"", id);
            goto out;
        }
        fileref = get_attr(disk, "fileRef", &oom);
        cap = get_attr(disk, "capacity", &oom);
        units = get_attr(disk, "capacityAllocationUnits", &oom);
        pop = get_attr(disk, "populatedSize", &oom);
        fmt = get_attr(disk, "format", &oom);
        if (oom) {
            rc = ovf_nomem(st);
            goto out;
        }
        if (!fileref || !*fileref) {
            rc = ovf_error(st, H2K_ERR_UNSUPPORTED, disk, "fileRef",
                           "Disk \"%s\" has no ovf:fileRef (blank disks are not supported)", id);
            goto out;
        }
        const ovf_ref *fref = find_ref(st->files, st->n_files, fileref);
        file = fref ? fref->node : NULL;
        if (!file) {
            rc = ovf_error(st, H2K_ERR_FORMAT, disk, "fileRef",
                           "Disk \"%s\": ovf:fileRef \"%s\" names no References File", id, fileref);
            goto out;
        }
        if (cap && *cap && strncmp(cap, "${", 2) != 0) {
            uint64_t v, m = 1;
            if (!parse_u64(cap, &v)) {
                rc = ovf_error(st, H2K_ERR_FORMAT, disk, "capacity",
                               "Disk \"%s\": ovf:capacity \"%s\" %s", id, cap, num_why(cap));
                goto out;
            }
            if (units && *units && !parse_units(units, &m)) {
                rc = ovf_error(st, H2K_ERR_FORMAT, disk, "capacityAllocationUnits",
                               "Disk \"%s\": unknown capacity units \"%s\"", id, units);
                goto out;
            }
            if (!mul_u64(v, m, &d->capacity)) {
                rc = ovf_error(st, H2K_ERR_FORMAT, disk, "capacity",
                               "Disk \"%s\": capacity %s x %s overflows", id, cap,
                               units ? units : "byte");
                goto out;
            }
            if (d->capacity > HK_VM_MAX_DISK_BYTES) {
                rc = ovf_error(st, H2K_ERR_FORMAT, disk, "capacity",
                               "Disk \"%s\": capacity %s x %s is more than VMware allows a "
                               "virtual disk (62 TiB)",
                               id, cap, units ? units : "byte");
                goto out;
            }
        }
        if (pop && *pop && !parse_u64(pop, &d->populated_size))
            ovf_warn(st, "%s: line %ld: ovf:populatedSize \"%s\" ignored", st->name, line_of(disk),
                     pop);
        if (fmt && *fmt) {
            d->format_hint = format_hint(fmt, &oom);
            if (oom) {
                rc = ovf_nomem(st);
                goto out;
            }
        }
    } else {
        const ovf_ref *fref = find_ref(st->files, st->n_files, id);
        file = fref ? fref->node : NULL;
        if (!file) {
            rc = ovf_error(st, H2K_ERR_FORMAT, item, "HostResource",
                           "rasd:HostResource names no References File \"%s\"", id);
            goto out;
        }
    }
    if (oom) {
        rc = ovf_nomem(st);
        goto out;
    }
    rc = use_file(st, file, &d->file_ref, &d->path, &d->compression);
out:
    free(res);
    free(aop);
    free(cap);
    free(units);
    free(pop);
    free(fmt);
    free(fileref);
    return rc;
}

static int
read_removable(ovf_state *st, const xmlNode *item, int type, h2k_vm_removable *r)
{
    bool oom = false;
    int rc, index;
    char *model = NULL;
    r->slot = -1;
    if ((rc = item_controller(st, item, &r->bus, &model, &index)) < 0)
        return rc;
    free(model);
    if (type == 14 && r->bus == H2K_BUS_UNKNOWN)
        r->bus = H2K_BUS_FLOPPY;
    if (!(r->kind = strdup(type == 14 ? "floppy" : "cdrom")))
        return ovf_nomem(st);
    char *aop = child_text(item, "AddressOnParent", &oom);
    char *res = child_text(item, "HostResource", &oom);
    if (aop)
        r->slot = small_int(aop);
    const char *id = NULL;
    if (!oom && res && host_resource_kind(res, &id) == 'f') {
        const ovf_ref *fref = find_ref(st->files, st->n_files, id);
        if (fref)
            rc = use_file(st, fref->node, NULL, &r->path, NULL);
    }
    free(aop);
    free(res);
    if (oom)
        return ovf_nomem(st);
    return rc;
}

static int
read_nic(ovf_state *st, const xmlNode *item, h2k_vm_nic *nic)
{
    bool oom = false;
    char *conn = child_text(item, "Connection", &oom);
    char *sub = child_text(item, "ResourceSubType", &oom);
    char *addr = child_text(item, "Address", &oom);
    if (conn && *conn) {
        warn_controls(st, item, "the network name", conn);
        nic->network = conn;
        nic->is_bridge = 1;
        conn = NULL;
    }
    if (sub && *sub && !(nic->model = hk_descriptor_lower_dup(sub)))
        oom = true;
    if (addr && *addr) {
        nic->mac = hk_descriptor_mac(addr);
        if (!nic->mac)
            ovf_warn(st, "%s: line %ld: MAC address \"%s\" ignored", st->name, line_of(item), addr);
    }
    free(conn);
    free(sub);
    free(addr);
    return oom ? ovf_nomem(st) : 0;
}

/* VirtualQuantity of an item as a number; FORMAT error when absent or junk. */
static int
quantity(ovf_state *st, const xmlNode *item, const char *what, uint64_t *out)
{
    bool oom = false;
    char *q = child_text(item, "VirtualQuantity", &oom);
    if (oom)
        return ovf_nomem(st);
    bool ok = parse_u64(q, out);
    int rc = ok ? 0
                : ovf_error(st, H2K_ERR_FORMAT, item, "VirtualQuantity",
                            "%s item: rasd:VirtualQuantity \"%s\" %s", what, q ? q : "",
                            num_why(q));
    free(q);
    return rc;
}

static int
read_cpu(ovf_state *st, const xmlNode *item)
{
    uint64_t v;
    int rc = quantity(st, item, "CPU", &v);
    if (rc < 0)
        return rc;
    if (v == 0 || v > OVF_MAX_VCPUS)
        return ovf_error(st, H2K_ERR_FORMAT, item, "VirtualQuantity",
                         "%llu vCPUs is out of range (VMware allows 1-%u)", (unsigned long long)v,
                         OVF_MAX_VCPUS);
    st->spec->vcpus = (unsigned)v;
    bool oom = false;
    char *cps = child_text(item, "CoresPerSocket", &oom);
    if (oom)
        return ovf_nomem(st);
    if (cps) {
        if (parse_u64(cps, &v) && v > 0 && v <= st->spec->vcpus)
            st->spec->cores_per_socket = (unsigned)v;
        else
            ovf_warn(st, "%s: line %ld: CoresPerSocket \"%s\" ignored", st->name, line_of(item),
                     cps);
        free(cps);
    }
    return 0;
}

static int
read_memory(ovf_state *st, const xmlNode *item)
{
    uint64_t v, m = UINT64_C(1) << 20;
    int rc = quantity(st, item, "memory", &v);
    if (rc < 0)
        return rc;
    bool oom = false;
    char *units = child_text(item, "AllocationUnits", &oom);
    if (oom)
        return ovf_nomem(st);
    if (units && *units && !parse_units(units, &m))
        rc = ovf_error(st, H2K_ERR_FORMAT, item, "AllocationUnits",
                       "memory item: unknown rasd:AllocationUnits \"%s\"", units);
    else if (!mul_u64(v, m, &st->spec->memory_bytes))
        rc = ovf_error(st, H2K_ERR_FORMAT, item, "VirtualQuantity",
                       "memory size %llu x %s overflows", (unsigned long long)v,
                       units ? units : "byte * 2^20");
    else if (st->spec->memory_bytes == 0)
        rc = ovf_error(st, H2K_ERR_FORMAT, item, "VirtualQuantity", "memory size is 0");
    else if (st->spec->memory_bytes > (HK_VM_MAX_MEMORY_MIB << 20))
        rc = ovf_error(st, H2K_ERR_FORMAT, item, "VirtualQuantity",
                       "memory size %llu x %s is more than VMware allows a VM (24 TiB)",
                       (unsigned long long)v, units && *units ? units : "byte * 2^20");
    free(units);
    return rc;
}

/* vmw:Config key="firmware" / "uefi.secureBoot.enabled" under the hardware section. */
static int
read_configs(ovf_state *st, const xmlNode *hw)
{
    for (xmlNodePtr c = hw->children; c; c = c->next) {
        if (!is_elem(c, "Config"))
            continue;
        bool oom = false;
        char *key = get_attr(c, "key", &oom);
        char *val = get_attr(c, "value", &oom);
        if (oom) {
            free(key);
            free(val);
            return ovf_nomem(st);
        }
        if (key && val && strcmp(key, "firmware") == 0) {
            if (hk_streq_nocase(val, "efi"))
                st->spec->firmware = H2K_FIRMWARE_UEFI;
            else if (hk_streq_nocase(val, "bios"))
                st->spec->firmware = H2K_FIRMWARE_BIOS;
            else
                ovf_warn(st, "%s: line %ld: unknown firmware \"%s\"", st->name, line_of(c), val);
        } else if (key && val &&
                   (hk_streq_nocase(key, "uefi.secureBoot.enabled") ||
                    hk_streq_nocase(key, "bootOptions.efiSecureBootEnabled"))) {
            st->spec->secure_boot = hk_streq_nocase(val, "true") || strcmp(val, "1") == 0;
        }
        free(key);
        free(val);
    }
    return 0;
}

static int
read_hardware(ovf_state *st, const xmlNode *hw)
{
    int rc;
    for (xmlNodePtr c = hw->children; c; c = c->next) {
        if (!is_elem(c, "Item") && !is_elem(c, "StorageItem") && !is_elem(c, "EthernetPortItem"))
            continue;
        if (st->n_items == OVF_MAX_ITEMS)
            return ovf_error(st, H2K_ERR_FORMAT, c, "Item", "more than %u hardware items",
                             OVF_MAX_ITEMS);
        bool oom = false;
        ovf_ref *r = &st->items[st->n_items++];
        r->node = c;
        r->key = child_text(c, "InstanceID", &oom);
        r->type = item_type(c, &oom);
        if (oom)
            return ovf_nomem(st);
    }
    if ((rc = read_configs(st, hw)) < 0)
        return rc;
    h2k_vm_spec *s = st->spec;
    for (size_t i = 0; i < st->n_items; i++) {
        xmlNodePtr item = st->items[i].node;
        int type = st->items[i].type;
        switch (type) {
        case 3:
            rc = read_cpu(st, item);
            break;
        case 4:
            rc = read_memory(st, item);
            break;
        case 17: {
            h2k_vm_disk *d = hk_array_grow((void **)&s->disks, &s->n_disks, sizeof(*d));
            if (!d)
                return ovf_nomem(st);
            d->controller_index = -1;
            d->unit = -1;
            rc = read_disk(st, item, d);
            break;
        }
        case 14:
        case 15:
        case 16: {
            h2k_vm_removable *r = hk_array_grow((void **)&s->removables, &s->n_removables,
                                                sizeof(*r));
            if (!r)
                return ovf_nomem(st);
            rc = read_removable(st, item, type, r);
            break;
        }
        case 10: {
            h2k_vm_nic *n = hk_array_grow((void **)&s->nics, &s->n_nics, sizeof(*n));
            if (!n)
                return ovf_nomem(st);
            rc = read_nic(st, item, n);
            break;
        }
        default:
            rc = 0;
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
read_system(ovf_state *st, const xmlNode *vs)
{
    bool oom = false;
    h2k_vm_spec *s = st->spec;
    s->name = child_text(vs, "Name", &oom);
    if (!oom && (!s->name || !*s->name)) {
        free(s->name);
        s->name = get_attr(vs, "id", &oom);
    }
    if (oom)
        return ovf_nomem(st);
    if (!s->name || !*s->name)
        ovf_warn(st, "%s: the VirtualSystem has neither Name nor ovf:id", st->name);
    warn_controls(st, vs, "the VM name", s->name);
    xmlNodePtr os = first_child(vs, "OperatingSystemSection");
    if (os) {
        s->os_type = get_attr(os, "osType", &oom);
        if (!oom && !s->os_type)
            s->os_type = get_attr(os, "id", &oom);
        if (oom)
            return ovf_nomem(st);
        warn_controls(st, os, "the OS type", s->os_type);
    }
    xmlNodePtr hw = first_child(vs, "VirtualHardwareSection");
    if (!hw)
        return ovf_error(st, H2K_ERR_FORMAT, vs, "VirtualHardwareSection",
                         "the VirtualSystem has no VirtualHardwareSection");
    return read_hardware(st, hw);
}

/* Collects References/File and DiskSection/Disk elements with their @key_attr. */
static int
collect(ovf_state *st, const xmlNode *section, const char *child, const char *key_attr,
        ovf_ref *arr, size_t *n)
{
    for (xmlNodePtr c = section->children; c; c = c->next) {
        if (!is_ovf_elem(c, child))
            continue;
        if (*n == OVF_MAX_ITEMS)
            return ovf_error(st, H2K_ERR_FORMAT, c, child, "more than %u %s elements",
                             OVF_MAX_ITEMS, child);
        bool oom = false;
        ovf_ref *r = &arr[(*n)++];
        r->node = c;
        r->type = -1;
        r->key = get_attr(c, key_attr, &oom);
        if (oom)
            return ovf_nomem(st);
    }
    return 0;
}

static int
read_envelope(ovf_state *st, const xmlNode *env)
{
    int rc;
    xmlNodePtr vs = NULL;
    size_t n_vs = 0;
    for (xmlNodePtr c = env->children; c; c = c->next) {
        if (is_ovf_elem(c, "References")) {
            if ((rc = collect(st, c, "File", "id", st->files, &st->n_files)) < 0)
                return rc;
        } else if (is_ovf_elem(c, "DiskSection")) {
            if ((rc = collect(st, c, "Disk", "diskId", st->disks, &st->n_disks)) < 0)
                return rc;
        } else if (is_ovf_elem(c, "VirtualSystem")) {
            if (!vs)
                vs = c;
            n_vs++;
        } else if (is_ovf_elem(c, "VirtualSystemCollection")) {
            for (xmlNodePtr v = c->children; v; v = v->next) {
                if (is_ovf_elem(v, "VirtualSystem")) {
                    if (!vs)
                        vs = v;
                    n_vs++;
                }
            }
        }
    }
    if (!vs)
        return ovf_error(st, H2K_ERR_FORMAT, env, "VirtualSystem",
                         "the Envelope has no VirtualSystem");
    if (n_vs > 1)
        return ovf_error(st, H2K_ERR_UNSUPPORTED, vs, "VirtualSystem",
                         "the package holds %zu virtual machines; only one is supported", n_vs);
    return read_system(st, vs);
}

/* ------------------------------------------------------------- parse */

/* Parses @xml; on a well-formedness error records FORMAT with the line and the
 * element being read.  Caller frees *doc_out with xmlFreeDoc(). */
static int
parse_xml(h2k_ctx *ctx, const char *name, const char *xml, size_t len, xmlDocPtr *doc_out)
{
    *doc_out = NULL;
    if (len == 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, name, 0, NULL, "the OVF document is empty");
    xmlInitParser();
    xmlParserCtxtPtr pc = xmlCreateMemoryParserCtxt(xml, (int)len);
    if (!pc)
        return hk_error_nomem(ctx);
    xmlCtxtUseOptions(pc, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                              XML_PARSE_BIG_LINES);
    int prc = xmlParseDocument(pc);
    xmlDocPtr doc = pc->myDoc;
    pc->myDoc = NULL;
    int rc = 0;
    if (prc != 0 || !pc->wellFormed || !doc) {
        const xmlError *err = xmlCtxtGetLastError(pc);
        char elem[128] = "";
        const xmlChar *en = pc->node && pc->node->name ? pc->node->name : pc->name;
        if (en)
            snprintf(elem, sizeof(elem), "%s", (const char *)en);
        char *raw = err && err->message ? strdup(err->message) : NULL;
        char *msg = raw ? hk_str_safe(hk_strtrim(raw)) : NULL;
        free(raw);
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, name, -1, elem[0] ? elem : NULL,
                         "malformed XML at line %d: %s", err ? err->line : 0,
                         msg ? msg : "parse error");
        free(msg);
        if (doc)
            xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(pc);
    *doc_out = doc;
    return rc;
}

int
h2k_ovf_parse_memory(h2k_ctx *ctx, const char *xml, size_t len, const char *base_dir,
                     const char *name_for_errors, h2k_vm_spec **out)
{
    if (!out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_ovf_parse_memory: out is NULL");
    *out = NULL;
    if (!ctx || (!xml && len))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_ovf_parse_memory: NULL argument");
    const char *name = name_for_errors ? name_for_errors : "(ovf)";
    if (len > OVF_MAX_SIZE)
        return hk_error_at(ctx, H2K_ERR_FORMAT, name, -1, NULL,
                           "OVF document is %zu bytes, more than the %u allowed", len,
                           OVF_MAX_SIZE);
    /* Refuse DTDs before the parser sees them (the tree is checked again below,
     * for encodings this byte search cannot see). */
    const char *dt = len ? memmem(xml, len, "<!DOCTYPE", 9) : NULL;
    if (dt)
        return hk_error_at(ctx, H2K_ERR_FORMAT, name, (int64_t)(dt - xml), "DOCTYPE",
                           "OVF documents must not have a DOCTYPE (entities are refused)");
    xmlDocPtr doc = NULL;
    int rc = parse_xml(ctx, name, xml, len, &doc);
    if (rc < 0)
        return rc;
    ovf_state st = {ctx, name, base_dir, NULL, 0, NULL, 0, NULL, 0, NULL};
    st.files = calloc(OVF_MAX_ITEMS, sizeof(*st.files));
    st.disks = calloc(OVF_MAX_ITEMS, sizeof(*st.disks));
    st.items = calloc(OVF_MAX_ITEMS, sizeof(*st.items));
    st.spec = h2k_vm_spec_new();
    if (!st.files || !st.disks || !st.items || !st.spec) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    if (doc->intSubset || doc->extSubset) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, name, -1, "DOCTYPE",
                         "OVF documents must not have a DOCTYPE (entities are refused)");
        goto done;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || !is_ovf_elem(root, "Envelope")) {
        rc = ovf_error(&st, H2K_ERR_FORMAT, root, "Envelope",
                       "the root element is <%s>, not an OVF Envelope",
                       root ? (const char *)root->name : "");
        goto done;
    }
    if (!(st.spec->source_type = strdup("ovf"))) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    rc = read_envelope(&st, root);
    if (rc == 0)
        hk_debug(ctx, OVF_DOMAIN, "%s: %zu disks, %zu removable, %zu NICs", name, st.spec->n_disks,
                 st.spec->n_removables, st.spec->n_nics);
done:
    free_refs(st.files, st.n_files);
    free_refs(st.disks, st.n_disks);
    free_refs(st.items, st.n_items);
    xmlFreeDoc(doc);
    if (rc < 0)
        h2k_vm_spec_free(st.spec);
    else
        *out = st.spec;
    return rc;
}

int
h2k_ovf_parse_file(h2k_ctx *ctx, const char *path, h2k_vm_spec **out)
{
    return hk_descriptor_parse_file(ctx, path, OVF_MAX_SIZE, h2k_ovf_parse_memory,
                                    "h2k_ovf_parse_file", out);
}
