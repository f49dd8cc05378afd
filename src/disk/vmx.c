/*
 * VMX reader: a VMware .vmx configuration file into an h2k_vm_spec.
 *
 * The format has no published specification; these are the rules we follow
 * (they agree with what virt-v2v reads, see tests/unit/test_vmx.c):
 *
 *  - one `key = "value"` per line; blank lines and '#' comments ignored;
 *    lines we cannot read are logged and skipped, but a file where no line
 *    is a key = value line (and some line is not blank) is refused; an empty
 *    file gives VMware's defaults; unquoted values are taken up to the end of
 *    the line (or a '#');
 *  - keys compare case-insensitively; a repeated key: the last one wins;
 *  - "|XX" in a value is the byte 0xXX (VMware's escape, "|22" is '"',
 *    "|7C" is '|', "|0A" a newline, "|1B" ESC); "|" not followed by two hex
 *    digits stays as written; "|00" and NUL bytes in the file are refused.
 *    Decoded values are kept as they are (a name may hold any byte); every
 *    message quoting one renders it with hk_str_safe(), and names, guest OS
 *    and networks holding control characters are reported with a warning;
 *  - numbers: memSize at most 24 TiB (25165824 MiB) and numvcpus at most 768,
 *    VMware's own limits; larger, negative or overflowing values are refused
 *    with an error naming the file, line and key;
 *  - name: displayName (else the file name without extension); memory:
 *    memSize MiB (VMware's default 32 when absent); vCPUs: numvcpus (default
 *    1); cpuid.coresPerSocket; firmware = "efi" gives UEFI (anything else
 *    BIOS); uefi.secureBoot.enabled; guestOS; uuid.bios;
 *  - hard disks: scsiN:M (deviceType absent, disk, plainDisk, rawDisk or
 *    scsi-hardDisk), nvmeN:M (absent or disk), sataN:M (absent or disk),
 *    ideN:M (ata-hardDisk, or absent with a .vmdk fileName), all with a
 *    fileName; ordered SCSI, NVMe, SATA, IDE, then by controller and unit;
 *  - CD-ROMs: ideN:M and sataN:M with deviceType atapi-cdrom, cdrom-image or
 *    cdrom-raw; slot ide N*2+M (master/slave), sata N*30+M (AHCI ports);
 *    sorted IDE first, then SATA, by slot.  Floppies: floppyN with
 *    present = TRUE, slot N;
 *  - a device or controller whose present key is FALSE is ignored; NICs
 *    (ethernetN) and floppies need present = TRUE;
 *  - NIC: network = networkName, else the name "ethernetN"; is_bridge when
 *    connectionType is "bridged"; model = virtualDev lower case (NULL when
 *    absent); MAC = address when addressType is "static", else
 *    generatedAddress (either as a fallback), lower case;
 *  - disk and image paths: relative names are resolved against base_dir;
 *    absolute names (/vmfs/volumes/...) are kept as written.  file_ref always
 *    holds the name as written, so a caller can remap datastore paths.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor_file.h"
#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"

#define VMX_MAX_SIZE (1u << 20)
#define VMX_DOMAIN "vmx"
#define VMX_MAX_WARNINGS 10
#define VMX_MAX_INDEX 9999u /* controller, unit and port numbers */
#define VMX_MAX_VCPUS HK_VM_MAX_VCPUS

typedef struct vmx_entry {
    char *key;      /* lower case */
    char *name;     /* the key as written, for messages */
    char *value;    /* unescaped */
    size_t line;    /* 1-based */
    size_t order;   /* position in the file */
    int64_t offset; /* byte offset of the line */
} vmx_entry;

typedef struct vmx_doc {
    vmx_entry *e;
    size_t n;
    const char *name; /* for messages */
} vmx_doc;

static void
vmx_doc_clear(vmx_doc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->e[i].key);
        free(d->e[i].name);
        free(d->e[i].value);
    }
    free(d->e);
    d->e = NULL;
    d->n = 0;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes "|XX" escapes of @s[0..n).  Returns the string (caller frees), or
 * NULL with *bad set when an escape gives a NUL byte, or NULL on OOM. */
static char *
vmx_unescape(const char *s, size_t n, bool *bad)
{
    *bad = false;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '|' && i + 2 < n) {
            int hi = hexval((unsigned char)s[i + 1]);
            int lo = hexval((unsigned char)s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                int c = hi * 16 + lo;
                if (c == 0) {
                    free(out);
                    *bad = true;
                    return NULL;
                }
                out[o++] = (char)c;
                i += 2;
                continue;
            }
        }
        out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

static int
cmp_entry(const void *a, const void *b)
{
    const vmx_entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static bool
is_key_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '=' && c != '"' && c != '#';
}

/* Splits @text into entries; sorts them by key and drops all but the last of
 * each repeated key. */
static int
vmx_tokenize(h2k_ctx *ctx, vmx_doc *d, const char *text, size_t len)
{
    const char *nul = memchr(text, '\0', len);
    if (nul)
        return hk_error_at(ctx, H2K_ERR_FORMAT, d->name, (int64_t)(nul - text), NULL,
                           "NUL byte in a VMX file (not a text file?)");
    size_t cap = 0, warnings = 0, lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t start = pos;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        pos = nl ? end + 1 : len;
        lineno++;
        /* trim */
        size_t a = start, b = end;
        while (a < b && isspace((unsigned char)text[a]))
            a++;
        while (b > a && isspace((unsigned char)text[b - 1]))
            b--;
        if (a == b || text[a] == '#')
            continue;
        size_t k = a;
        while (k < b && is_key_char((unsigned char)text[k]))
            k++;
        size_t key_end = k;
        while (k < b && (text[k] == ' ' || text[k] == '\t'))
            k++;
        if (key_end == a || k >= b || text[k] != '=') {
            if (warnings++ < VMX_MAX_WARNINGS)
                hk_warn(ctx, VMX_DOMAIN, "%s: line %zu: not a key = value line, ignored", d->name,
                        lineno);
            continue;
        }
        k++;
        while (k < b && (text[k] == ' ' || text[k] == '\t'))
            k++;
        size_t vs, ve;
        if (k < b && text[k] == '"') {
            vs = k + 1;
            const char *q = memchr(text + vs, '"', b - vs);
            if (!q) {
                char *key = hk_strndup(text + a, key_end - a);
                int rc = hk_error_at(ctx, H2K_ERR_FORMAT, d->name, (int64_t)start, key ? key : "?",
                                     "line %zu: unterminated quoted value", lineno);
                free(key);
                return rc;
            }
            ve = (size_t)(q - text);
            size_t r = ve + 1;
            while (r < b && (text[r] == ' ' || text[r] == '\t'))
                r++;
            if (r < b && text[r] != '#' && warnings++ < VMX_MAX_WARNINGS)
                hk_warn(ctx, VMX_DOMAIN, "%s: line %zu: text after the closing quote ignored",
                        d->name, lineno);
        } else {
            vs = k;
            const char *h = memchr(text + vs, '#', b - vs);
            ve = h ? (size_t)(h - text) : b;
            while (ve > vs && isspace((unsigned char)text[ve - 1]))
                ve--;
        }
        if (d->n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            vmx_entry *ne = realloc(d->e, ncap * sizeof(*ne));
            if (!ne)
                return hk_error_nomem(ctx);
            d->e = ne;
            cap = ncap;
        }
        vmx_entry *e = &d->e[d->n];
        memset(e, 0, sizeof(*e));
        e->key = hk_strndup(text + a, key_end - a);
        e->name = hk_strndup(text + a, key_end - a);
        if (!e->key || !e->name) {
            free(e->key);
            free(e->name);
            return hk_error_nomem(ctx);
        }
        for (char *p = e->key; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        bool bad = false;
        e->value = vmx_unescape(text + vs, ve - vs, &bad);
        if (!e->value) {
            int rc = bad ? hk_error_at(ctx, H2K_ERR_FORMAT, d->name, (int64_t)start, e->name,
                                       "line %zu: escape |00 gives a NUL byte", lineno)
                         : hk_error_nomem(ctx);
            free(e->key);
            free(e->name);
            return rc;
        }
        e->line = lineno;
        e->order = d->n;
        e->offset = (int64_t)start;
        d->n++;
    }
    if (d->n == 0 && warnings > 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, d->name, 0, NULL,
                           "no key = value line, %zu unreadable lines: not a VMX file", warnings);
    if (d->n == 0)
        return 0;
    qsort(d->e, d->n, sizeof(*d->e), cmp_entry);
    size_t w = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (i + 1 < d->n && strcmp(d->e[i].key, d->e[i + 1].key) == 0) {
            hk_debug(ctx, VMX_DOMAIN, "%s: key %s repeated at line %zu, the last one wins", d->name,
                     d->e[i].key, d->e[i + 1].line);
            free(d->e[i].key);
            free(d->e[i].name);
            free(d->e[i].value);
            continue;
        }
        d->e[w++] = d->e[i];
    }
    d->n = w;
    return 0;
}

static const vmx_entry *vmx_find_ns(const vmx_doc *d, const char *ns, const char *name);
static void warn_controls(h2k_ctx *ctx, const vmx_doc *d, const vmx_entry *e, const char *what);

static const vmx_entry *
vmx_find(const vmx_doc *d, const char *key_lower)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(d->e[mid].key, key_lower);
        if (c == 0)
            return &d->e[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Value of "<ns>.<name>" (both given lower case), or NULL. */
static const char *
vmx_get2(const vmx_doc *d, const char *ns, const char *name)
{
    char key[128];
    int n = snprintf(key, sizeof(key), "%s.%s", ns, name);
    if (n < 0 || (size_t)n >= sizeof(key))
        return NULL;
    const vmx_entry *e = vmx_find(d, key);
    return e ? e->value : NULL;
}

/* 1 true, 0 false, -1 absent or unreadable. */
static int
vmx_bool(const char *v)
{
    if (!v)
        return -1;
    if (hk_streq_nocase(v, "true") || hk_streq_nocase(v, "yes") || strcmp(v, "1") == 0)
        return 1;
    if (hk_streq_nocase(v, "false") || hk_streq_nocase(v, "no") || strcmp(v, "0") == 0)
        return 0;
    return -1;
}

static bool
is_false(const char *v)
{
    return vmx_bool(v) == 0;
}

/* Reads the decimal index at @p (at least one digit, at most VMX_MAX_INDEX)
 * into *n; returns the end of its digits, or NULL. */
static const char *
parse_number(const char *p, unsigned *n)
{
    if (!isdigit((unsigned char)*p))
        return NULL;
    unsigned x = 0;
    while (isdigit((unsigned char)*p)) {
        x = x * 10 + (unsigned)(*p - '0');
        if (x > VMX_MAX_INDEX)
            return NULL;
        p++;
    }
    *n = x;
    return p;
}

/* Parses "<prefix>N:M" exactly; N, M <= VMX_MAX_INDEX. */
static bool
parse_ctrl_unit(const char *ns, size_t prefix_len, unsigned *c, unsigned *t)
{
    unsigned x, y;
    const char *p = parse_number(ns + prefix_len, &x);
    if (!p || *p != ':' || !(p = parse_number(p + 1, &y)) || *p)
        return false;
    *c = x;
    *t = y;
    return true;
}

/* Parses "<prefix>N" exactly. */
static bool
parse_index(const char *s, const char *prefix, unsigned *n)
{
    size_t l = strlen(prefix);
    if (strncmp(s, prefix, l) != 0)
        return false;
    unsigned x;
    const char *p = parse_number(s + l, &x);
    if (!p || *p)
        return false;
    *n = x;
    return true;
}

/* The buses in virt-v2v's disk order. */
static const struct {
    const char *prefix;
    h2k_bus bus;
} vmx_buses[] = {
    {"scsi", H2K_BUS_SCSI},
    {"nvme", H2K_BUS_NVME},
    {"sata", H2K_BUS_SATA},
    {"ide", H2K_BUS_IDE},
};

/* Splits "scsi0:1" into bus rank, controller and unit. */
static bool
parse_device_ns(const char *ns, size_t *rank, unsigned *c, unsigned *t)
{
    for (size_t i = 0; i < HK_ARRAY_LEN(vmx_buses); i++) {
        size_t l = strlen(vmx_buses[i].prefix);
        if (strncmp(ns, vmx_buses[i].prefix, l) == 0 && parse_ctrl_unit(ns, l, c, t)) {
            *rank = i;
            return true;
        }
    }
    return false;
}

static bool
in_list(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (hk_streq_nocase(v, *list))
            return true;
    return false;
}

static bool
is_hard_disk(h2k_bus bus, const char *dt, const char *file)
{
    static const char *const scsi_types[] = {"disk", "plaindisk", "rawdisk", "scsi-harddisk", NULL};
    static const char *const disk_only[] = {"disk", NULL};
    static const char *const ide_types[] = {"ata-harddisk", NULL};
    switch (bus) {
    case H2K_BUS_SCSI:
        return dt ? in_list(dt, scsi_types) : !hk_endswith_nocase(file, ".iso");
    case H2K_BUS_NVME:
    case H2K_BUS_SATA:
        return dt ? in_list(dt, disk_only) : !hk_endswith_nocase(file, ".iso");
    case H2K_BUS_IDE:
        return dt ? in_list(dt, ide_types) : hk_endswith_nocase(file, ".vmdk");
    default:
        return false;
    }
}

static bool
is_cdrom_type(const char *dt)
{
    static const char *const types[] = {"atapi-cdrom", "cdrom-image", "cdrom-raw", NULL};
    return dt && in_list(dt, types);
}

/* Working record used for sorting devices before they go into the spec. */
typedef struct vmx_dev {
    size_t rank;
    unsigned c, t;
    const vmx_entry *file; /* fileName entry, or NULL */
    const char *ns_key;    /* any key of the namespace */
} vmx_dev;

static int
cmp_dev(const void *a, const void *b)
{
    const vmx_dev *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->c != y->c)
        return x->c < y->c ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return 0;
}

/* Copies the namespace part ("scsi0:1") of @key (lower case) into @ns.
 * False when there is no '.' or it does not fit. */
static bool
key_namespace(const char *key, const char *suffix, char *ns, size_t nssz)
{
    size_t kl = strlen(key), sl = strlen(suffix);
    if (kl <= sl || strcmp(key + kl - sl, suffix) != 0)
        return false;
    size_t l = kl - sl;
    if (l >= nssz || memchr(key, '.', l))
        return false;
    memcpy(ns, key, l);
    ns[l] = '\0';
    return true;
}

/* Controller namespace "scsi0" of device namespace "scsi0:1". */
static bool
controller_absent(const vmx_doc *d, const char *ns)
{
    char ctrl[32];
    const char *colon = strchr(ns, ':');
    size_t l = colon ? (size_t)(colon - ns) : strlen(ns);
    if (l >= sizeof(ctrl))
        return false;
    memcpy(ctrl, ns, l);
    ctrl[l] = '\0';
    return is_false(vmx_get2(d, ctrl, "present"));
}

/* Resolves a file name against base_dir (relative names only). */
static char *
resolve_path(const char *base_dir, const char *name)
{
    if (!base_dir || name[0] == '/')
        return strdup(name);
    return hk_path_join(base_dir, name);
}

/* "56 4d 96 af e6 46 bd 86-5c 4d 65 4e 77 36 ef 31" -> canonical UUID, or NULL. */
static char *
format_uuid(const char *s)
{
    char hex[33];
    size_t n = 0;
    for (; *s; s++) {
        if (*s == ' ' || *s == '-')
            continue;
        if (!isxdigit((unsigned char)*s) || n == 32)
            return NULL;
        hex[n++] = (char)tolower((unsigned char)*s);
    }
    if (n != 32)
        return NULL;
    hex[32] = '\0';
    return hk_asprintf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static const char *
ns_controller_model(const vmx_doc *d, const char *ns)
{
    char ctrl[32];
    const char *colon = strchr(ns, ':');
    if (!colon || (size_t)(colon - ns) >= sizeof(ctrl))
        return NULL;
    memcpy(ctrl, ns, (size_t)(colon - ns));
    ctrl[colon - ns] = '\0';
    return vmx_get2(d, ctrl, "virtualdev");
}

/* Sorts the @n devices found (@size bytes each, at @found) with @cmp and
 * returns the spec's array for them: @n zeroed items of @item_size (caller
 * frees); NULL when out of memory. */
static void *
sort_found(void *found, size_t n, size_t size, int (*cmp)(const void *, const void *),
           size_t item_size)
{
    qsort(found, n, size, cmp);
    return calloc(n, item_size);
}

static int
collect_disks(h2k_ctx *ctx, const vmx_doc *d, const char *base_dir, h2k_vm_spec *spec)
{
    vmx_dev *devs = NULL;
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < d->n; i++) {
        char ns[32];
        size_t rank;
        unsigned c, t;
        if (!key_namespace(d->e[i].key, ".filename", ns, sizeof(ns)) ||
            !parse_device_ns(ns, &rank, &c, &t))
            continue;
        if (is_false(vmx_get2(d, ns, "present")) || controller_absent(d, ns))
            continue;
        const char *file = d->e[i].value;
        if (!is_hard_disk(vmx_buses[rank].bus, vmx_get2(d, ns, "devicetype"), file))
            continue;
        if (!*file) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, d->name, d->e[i].offset, d->e[i].name,
                             "line %zu: hard disk %s has an empty file name", d->e[i].line, ns);
            goto out;
        }
        if (!devs && !(devs = calloc(d->n, sizeof(*devs)))) { /* at most one per entry */
            rc = hk_error_nomem(ctx);
            goto out;
        }
        devs[n++] = (vmx_dev){rank, c, t, &d->e[i], d->e[i].key};
    }
    if (n == 0)
        goto out;
    if (!(spec->disks = sort_found(devs, n, sizeof(*devs), cmp_dev, sizeof(*spec->disks)))) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        h2k_vm_disk *dk = &spec->disks[spec->n_disks++];
        char ns[32];
        key_namespace(devs[i].file->key, ".filename", ns, sizeof(ns));
        dk->bus = vmx_buses[devs[i].rank].bus;
        dk->controller_index = (int)devs[i].c;
        dk->unit = (int)devs[i].t;
        dk->file_ref = strdup(devs[i].file->value);
        dk->path = resolve_path(base_dir, devs[i].file->value);
        const char *model = ns_controller_model(d, ns);
        if (model)
            dk->controller_model = hk_descriptor_lower_dup(model);
        else if (dk->bus == H2K_BUS_SATA)
            dk->controller_model = strdup("ahci");
        if (!dk->file_ref || !dk->path ||
            ((model || dk->bus == H2K_BUS_SATA) && !dk->controller_model)) {
            rc = hk_error_nomem(ctx);
            goto out;
        }
    }
out:
    free(devs);
    return rc;
}

static int
cmp_removable(const void *a, const void *b)
{
    const h2k_vm_removable *x = a, *y = b;
    int rx = x->bus == H2K_BUS_IDE ? 0 : x->bus == H2K_BUS_SATA ? 1 : 2;
    int ry = y->bus == H2K_BUS_IDE ? 0 : y->bus == H2K_BUS_SATA ? 1 : 2;
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int
collect_removables(h2k_ctx *ctx, const vmx_doc *d, const char *base_dir, h2k_vm_spec *spec)
{
    size_t cap = 0;
    for (size_t i = 0; i < d->n; i++) {
        char ns[32];
        size_t rank;
        unsigned c, t, fl;
        h2k_vm_removable r = {NULL, H2K_BUS_UNKNOWN, -1, NULL};
        const char *file = NULL;
        if (key_namespace(d->e[i].key, ".devicetype", ns, sizeof(ns)) &&
            parse_device_ns(ns, &rank, &c, &t)) {
            h2k_bus bus = vmx_buses[rank].bus;
            if ((bus != H2K_BUS_IDE && bus != H2K_BUS_SATA) || !is_cdrom_type(d->e[i].value))
                continue;
            if (is_false(vmx_get2(d, ns, "present")) || controller_absent(d, ns))
                continue;
            r.bus = bus;
            r.slot = bus == H2K_BUS_IDE ? (int)(c * 2 + t) : (int)(c * 30 + t);
            if (hk_streq_nocase(d->e[i].value, "cdrom-image"))
                file = vmx_get2(d, ns, "filename");
        } else if (key_namespace(d->e[i].key, ".present", ns, sizeof(ns)) &&
                   parse_index(ns, "floppy", &fl)) {
            if (vmx_bool(d->e[i].value) != 1)
                continue;
            r.bus = H2K_BUS_FLOPPY;
            r.slot = (int)fl;
            const char *ft = vmx_get2(d, ns, "filetype");
            if (vmx_bool(vmx_get2(d, ns, "clientdevice")) != 1 && ft && hk_streq_nocase(ft, "file"))
                file = vmx_get2(d, ns, "filename");
        } else {
            continue;
        }
        if (spec->n_removables == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            h2k_vm_removable *nr = realloc(spec->removables, ncap * sizeof(*nr));
            if (!nr)
                return hk_error_nomem(ctx);
            spec->removables = nr;
            cap = ncap;
        }
        r.kind = strdup(r.bus == H2K_BUS_FLOPPY ? "floppy" : "cdrom");
        if (file && *file)
            r.path = resolve_path(base_dir, file);
        spec->removables[spec->n_removables++] = r;
        if (!r.kind || (file && *file && !r.path))
            return hk_error_nomem(ctx);
    }
    if (spec->n_removables > 1)
        qsort(spec->removables, spec->n_removables, sizeof(*spec->removables), cmp_removable);
    return 0;
}

static int
cmp_uint(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

static int
collect_nics(h2k_ctx *ctx, const vmx_doc *d, h2k_vm_spec *spec)
{
    unsigned *ports = NULL;
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < d->n; i++) {
        char ns[32];
        unsigned p;
        if (!key_namespace(d->e[i].key, ".present", ns, sizeof(ns)) ||
            !parse_index(ns, "ethernet", &p) || vmx_bool(d->e[i].value) != 1)
            continue;
        if (!ports && !(ports = calloc(d->n, sizeof(*ports)))) /* at most one per entry */
            return hk_error_nomem(ctx);
        ports[n++] = p; /* keys are unique, so ports are too */
    }
    if (n == 0)
        goto out;
    if (!(spec->nics = sort_found(ports, n, sizeof(*ports), cmp_uint, sizeof(*spec->nics)))) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char ns[32];
        snprintf(ns, sizeof(ns), "ethernet%u", ports[i]);
        h2k_vm_nic *nic = &spec->nics[spec->n_nics++];
        const char *net = vmx_get2(d, ns, "networkname");
        const char *ct = vmx_get2(d, ns, "connectiontype");
        const char *model = vmx_get2(d, ns, "virtualdev");
        const char *at = vmx_get2(d, ns, "addresstype");
        const char *stat = vmx_get2(d, ns, "address");
        const char *gen = vmx_get2(d, ns, "generatedaddress");
        const char *mac = (at && hk_streq_nocase(at, "static")) ? (stat ? stat : gen)
                                                                : (gen ? gen : stat);
        nic->network = strdup(net ? net : ns);
        nic->is_bridge = ct && hk_streq_nocase(ct, "bridged");
        if (model && *model && !(nic->model = hk_descriptor_lower_dup(model))) {
            rc = hk_error_nomem(ctx);
            goto out;
        }
        if (mac && *mac) {
            nic->mac = hk_descriptor_mac(mac);
            if (!nic->mac) {
                char *sm = hk_str_safe(mac);
                hk_warn(ctx, VMX_DOMAIN, "%s: %s: MAC address \"%s\" is malformed, ignored",
                        d->name, ns, sm ? sm : "?");
                free(sm);
            }
        }
        if (net)
            warn_controls(ctx, d, vmx_find_ns(d, ns, "networkname"), "network name");
        if (!nic->network) {
            rc = hk_error_nomem(ctx);
            goto out;
        }
    }
out:
    free(ports);
    return rc;
}

/* Parses an unsigned number value of @key; *present says whether it exists.
 * Negative, overflowing and non-numeric values are FORMAT errors. */
static int
get_number(h2k_ctx *ctx, const vmx_doc *d, const char *key, uint64_t *out, bool *present)
{
    const vmx_entry *e = vmx_find(d, key);
    *present = e != NULL;
    if (!e)
        return 0;
    char *v = strdup(e->value);
    if (!v)
        return hk_error_nomem(ctx);
    hk_strtrim(v);
    bool ok = hk_parse_u64(v, out, false);
    const char *why = "is not a number";
    if (!ok && v[0] == '-' && v[1] && strspn(v + 1, "0123456789") == strlen(v + 1))
        why = "is negative";
    else if (!ok && *v && strspn(v, "0123456789") == strlen(v))
        why = "is too large";
    free(v);
    if (!ok) {
        char *sv = hk_str_safe(e->value);
        int rc = hk_error_at(ctx, H2K_ERR_FORMAT, d->name, e->offset, e->name,
                             "line %zu: %s \"%s\" %s", e->line, e->name, sv ? sv : "?", why);
        free(sv);
        return rc;
    }
    return 0;
}

/* Entry "<ns>.<name>" (both lower case), or NULL. */
static const vmx_entry *
vmx_find_ns(const vmx_doc *d, const char *ns, const char *name)
{
    char key[128];
    int n = snprintf(key, sizeof(key), "%s.%s", ns, name);
    if (n < 0 || (size_t)n >= sizeof(key))
        return NULL;
    return vmx_find(d, key);
}

/* Warns when the value of @e (a string the spec returns) holds control
 * characters: it is kept as decoded, but nobody should meet it unnoticed. */
static void
warn_controls(h2k_ctx *ctx, const vmx_doc *d, const vmx_entry *e, const char *what)
{
    if (!e || !hk_str_needs_escape(e->value))
        return;
    char *sv = hk_str_safe(e->value);
    hk_warn(ctx, VMX_DOMAIN, "%s: line %zu: %s %s holds control characters: \"%s\"", d->name,
            e->line, what, e->name, sv ? sv : "?");
    free(sv);
}

/* hk_warn with the value of @e rendered safely: "<file>: line N: <key> "<value>" <tail>". */
static void
warn_value(h2k_ctx *ctx, const vmx_doc *d, const vmx_entry *e, const char *tail)
{
    char *sv = hk_str_safe(e->value);
    hk_warn(ctx, VMX_DOMAIN, "%s: line %zu: %s \"%s\" %s", d->name, e->line, e->name, sv ? sv : "?",
            tail);
    free(sv);
}

static char *
name_from_file(const char *name)
{
    if (!name)
        return NULL;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    size_t l = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return l ? hk_strndup(base, l) : NULL;
}

static int
vmx_build(h2k_ctx *ctx, const vmx_doc *d, const char *base_dir, const char *file_name,
          h2k_vm_spec *spec)
{
    int rc;
    uint64_t v;
    bool has;
    const vmx_entry *e;

    if (!(spec->source_type = strdup("vmx")))
        return hk_error_nomem(ctx);

    e = vmx_find(d, "displayname");
    if (e && *e->value) {
        spec->name = strdup(e->value);
        warn_controls(ctx, d, e, "VM name");
    } else {
        hk_warn(ctx, VMX_DOMAIN, "%s: no displayName, using the file name", d->name);
        spec->name = name_from_file(file_name);
    }
    if (e && *e->value && !spec->name)
        return hk_error_nomem(ctx);

    if ((rc = get_number(ctx, d, "memsize", &v, &has)) < 0)
        return rc;
    if (!has)
        v = 32; /* VMware's default */
    e = vmx_find(d, "memsize");
    if (has && v == 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, d->name, e->offset, e->name,
                           "line %zu: memory size is 0", e->line);
    if (v > HK_VM_MAX_MEMORY_MIB)
        return hk_error_at(ctx, H2K_ERR_FORMAT, d->name, e->offset, e->name,
                           "line %zu: memSize %llu MiB is more than VMware allows a VM "
                           "(24 TiB = %llu MiB)",
                           e->line, (unsigned long long)v,
                           (unsigned long long)HK_VM_MAX_MEMORY_MIB);
    spec->memory_bytes = v << 20;

    if ((rc = get_number(ctx, d, "numvcpus", &v, &has)) < 0)
        return rc;
    if (!has)
        v = 1;
    e = vmx_find(d, "numvcpus");
    if (v == 0 || v > VMX_MAX_VCPUS)
        return hk_error_at(ctx, H2K_ERR_FORMAT, d->name, e->offset, e->name,
                           "line %zu: numvcpus %llu is out of range (VMware allows 1-%u)", e->line,
                           (unsigned long long)v, VMX_MAX_VCPUS);
    spec->vcpus = (unsigned)v;

    e = vmx_find(d, "cpuid.corespersocket");
    if (e) {
        if (hk_parse_u64(e->value, &v, false) && v > 0 && v <= spec->vcpus)
            spec->cores_per_socket = (unsigned)v;
        else
            warn_value(ctx, d, e, "ignored");
    }

    e = vmx_find(d, "firmware");
    spec->firmware = H2K_FIRMWARE_BIOS;
    if (e && hk_streq_nocase(e->value, "efi"))
        spec->firmware = H2K_FIRMWARE_UEFI;
    else if (e && !hk_streq_nocase(e->value, "bios"))
        warn_value(ctx, d, e, "is an unknown firmware, assuming BIOS");
    e = vmx_find(d, "uefi.secureboot.enabled");
    spec->secure_boot = e && vmx_bool(e->value) == 1;
    e = vmx_find(d, "vtpm.present");
    spec->vtpm = e && vmx_bool(e->value) == 1;

    e = vmx_find(d, "guestos");
    if (e && *e->value && !(spec->os_type = strdup(e->value)))
        return hk_error_nomem(ctx);
    warn_controls(ctx, d, e, "guest OS");
    e = vmx_find(d, "uuid.bios");
    if (e) {
        spec->uuid = format_uuid(e->value);
        if (!spec->uuid)
            warn_value(ctx, d, e, "is malformed, ignored");
    }

    if ((rc = collect_disks(ctx, d, base_dir, spec)) < 0)
        return rc;
    if ((rc = collect_removables(ctx, d, base_dir, spec)) < 0)
        return rc;
    return collect_nics(ctx, d, spec);
}

int
h2k_vmx_parse_memory(h2k_ctx *ctx, const char *text, size_t len, const char *base_dir,
                     const char *name_for_errors, h2k_vm_spec **out)
{
    if (!out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_vmx_parse_memory: out is NULL");
    *out = NULL;
    if (!ctx || (!text && len))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_vmx_parse_memory: NULL argument");
    vmx_doc d = {NULL, 0, name_for_errors ? name_for_errors : "(vmx)"};
    if (len > VMX_MAX_SIZE)
        return hk_error_at(ctx, H2K_ERR_FORMAT, d.name, -1, NULL,
                           "VMX file is %zu bytes, more than the %u allowed", len, VMX_MAX_SIZE);
    h2k_vm_spec *spec = h2k_vm_spec_new();
    if (!spec)
        return hk_error_nomem(ctx);
    int rc = vmx_tokenize(ctx, &d, text ? text : "", len);
    if (rc == 0)
        rc = vmx_build(ctx, &d, base_dir, name_for_errors, spec);
    vmx_doc_clear(&d);
    if (rc < 0) {
        h2k_vm_spec_free(spec);
        return rc;
    }
    hk_debug(ctx, VMX_DOMAIN, "%s: %zu disks, %zu removable, %zu NICs", d.name, spec->n_disks,
             spec->n_removables, spec->n_nics);
    *out = spec;
    return 0;
}

int
h2k_vmx_parse_file(h2k_ctx *ctx, const char *path, h2k_vm_spec **out)
{
    return hk_descriptor_parse_file(ctx, path, VMX_MAX_SIZE, h2k_vmx_parse_memory,
                                    "h2k_vmx_parse_file", out);
}
