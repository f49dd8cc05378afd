/*
 * Shared pieces of the pure text transforms: the output object, device
 * reference classification and lookup (see xform.h), and the edit-list and
 * stable-name helpers of xform_priv.h.
 *
 * Device lookup rules (hk_devmap_lookup):
 *  - an exact match of hk_dev.device wins;
 *  - "/dev/sdX[N]", "/dev/hdX[N]", "/dev/xvdX[N]", "/dev/vdX[N]": X is the disk
 *    letter(s) (a = disk 0, z = 25, aa = 26, at most three letters) and N the
 *    partition (none = whole disk, 0);
 *  - "/dev/nvme0nK[pN]": disk K-1, partition N.  VMware puts every disk of an
 *    NVMe controller in its own namespace, so this assumes a single NVMe
 *    controller (controller numbers other than 0 are not mapped);
 *  - "/dev/disk/by-path/pci-<addr>-scsi-H:0:T:0[-partN]": target T names the
 *    disk.  ASSUMPTION: all disks of the source VM sit on one SCSI controller
 *    (VMware's default), so target order is disk order.  Unit 7 is reserved
 *    for the controller on VMware, so target 7 is never a disk and targets
 *    above it shift down by one (0:8 is the 8th disk, index 7).  Any other
 *    by-path form (ata, sas, virtio, vmbus, non-zero channel or LUN) is NULL;
 *  - "/dev/disk/by-id/<anything>-partN": only when the VM has exactly one
 *    disk (n_disks == 1): disk 0, partition N.  Whole-disk by-id names are
 *    not mapped (they as often name a CD-ROM as a disk);
 *  - the device found must be the only one with that (disk, partition).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fix/xform.h"
#include "fix/xform_priv.h"

#define HK_MAX_PART 99999

void
hk_xform_out_clear(hk_xform_out *o)
{
    if (!o)
        return;
    free(o->text);
    for (size_t i = 0; i < o->n_notes; i++)
        free(o->notes[i]);
    free(o->notes);
    o->text = NULL;
    o->notes = NULL;
    o->n_notes = 0;
}

bool
hk_xform_note(hk_xform_out *o, const char *fmt, ...)
{
    if (!o || !fmt)
        return false;
    va_list ap;
    va_start(ap, fmt);
    char *s = hk_vasprintf(fmt, ap);
    va_end(ap);
    if (!s)
        return false;
    if (o->n_notes >= SIZE_MAX / sizeof(char *) - 1) {
        free(s);
        return false;
    }
    char **v = realloc(o->notes, (o->n_notes + 1) * sizeof(char *));
    if (!v) {
        free(s);
        return false;
    }
    o->notes = v;
    o->notes[o->n_notes++] = s;
    return true;
}

/* ------------------------------------------------------ name parsing */

/* Parses 1..6 decimal digits without a leading zero spanning [s, end of
 * string); returns the value or -1. */
static int
parse_small_uint(const char *s)
{
    if (!s || *s < '1' || *s > '9')
        return -1;
    int v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 6)
            return -1;
        v = v * 10 + (s[n] - '0');
    }
    return v;
}

bool
hk_parse_disk_name(const char *ref, int *disk_out, int *part_out, size_t *prefix_out)
{
    static const char *const prefixes[] = {"xvd", "sd", "hd", "vd"};
    if (!ref || strncmp(ref, "/dev/", 5) != 0)
        return false;
    const char *p = ref + 5;
    size_t plen = 0;
    for (size_t i = 0; i < HK_ARRAY_LEN(prefixes); i++) {
        size_t l = strlen(prefixes[i]);
        if (strncmp(p, prefixes[i], l) == 0) {
            plen = l;
            break;
        }
    }
    if (plen == 0)
        return false;
    p += plen;
    int idx = 0;
    size_t nl = 0;
    while (*p >= 'a' && *p <= 'z') {
        if (++nl > 3)
            return false;
        idx = idx * 26 + (*p - 'a' + 1);
        p++;
    }
    if (nl == 0)
        return false;
    int part = 0;
    if (*p) {
        part = parse_small_uint(p);
        if (part < 1 || part > HK_MAX_PART)
            return false;
    }
    if (disk_out)
        *disk_out = idx - 1;
    if (part_out)
        *part_out = part;
    if (prefix_out)
        *prefix_out = plen;
    return true;
}

bool
hk_disk_letters(int idx, char out[8])
{
    if (idx < 0 || idx >= 26 + 26 * 26 + 26 * 26 * 26)
        return false;
    char tmp[8];
    size_t n = 0;
    int v = idx + 1;
    while (v > 0 && n < 7) {
        int r = (v - 1) % 26;
        tmp[n++] = (char)('a' + r);
        v = (v - 1) / 26;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return true;
}

/* Reads 1..6 digits at *p (no leading zero except "0" itself). */
static bool
read_num(const char **p, int *out)
{
    const char *s = *p;
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
        return false;
    int v = 0;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n >= 6)
            return false;
        v = v * 10 + (s[n] - '0');
        n++;
    }
    *p = s + n;
    *out = v;
    return true;
}

/* "/dev/nvme<C>n<NS>[p<P>]" */
static bool
parse_nvme_name(const char *ref, int *ctrl, int *ns, int *part)
{
    if (strncmp(ref, "/dev/nvme", 9) != 0)
        return false;
    const char *p = ref + 9;
    if (!read_num(&p, ctrl) || *p++ != 'n' || !read_num(&p, ns) || *ns < 1)
        return false;
    *part = 0;
    if (*p == 'p') {
        p++;
        if (!read_num(&p, part) || *part < 1)
            return false;
    }
    return *p == '\0';
}

/* by-id names that do not depend on the hypervisor's disk naming. */
static bool
by_id_is_stable(const char *name)
{
    return hk_startswith(name, "dm-") || hk_startswith(name, "md-") ||
           hk_startswith(name, "lvm-pv-uuid-");
}

bool
hk_devref_is_unstable(const char *ref)
{
    if (!ref)
        return false;
    int d, p, c;
    size_t plen;
    if (hk_parse_disk_name(ref, &d, &p, &plen))
        return !(plen == 2 && ref[5] == 'v'); /* /dev/vdX is stable on KVM */
    if (parse_nvme_name(ref, &c, &d, &p))
        return true;
    if (hk_startswith(ref, "/dev/disk/by-path/") && ref[18] != '\0')
        return true;
    if (hk_startswith(ref, "/dev/disk/by-id/") && ref[16] != '\0')
        return !by_id_is_stable(ref + 16);
    return false;
}

/* Splits a trailing "-partN" off @name: returns N (>= 1) and sets *base_len,
 * or 0 when absent. */
static int
split_part_suffix(const char *name, size_t *base_len)
{
    size_t len = strlen(name);
    const char *dash = NULL;
    for (size_t i = len; i > 0; i--) {
        if (name[i - 1] == '-') {
            dash = name + i - 1;
            break;
        }
    }
    if (!dash || strncmp(dash, "-part", 5) != 0)
        return 0;
    int n = parse_small_uint(dash + 5);
    if (n < 1 || n > HK_MAX_PART)
        return 0;
    *base_len = (size_t)(dash - name);
    return n;
}

/* pci-<addr>-scsi-H:C:T:L[-partN] -> disk index, partition. */
static bool
parse_by_path(const char *name, int *disk, int *part)
{
    if (!hk_startswith(name, "pci-"))
        return false;
    const char *s = strstr(name, "-scsi-");
    if (!s || strstr(s + 1, "-scsi-"))
        return false;
    s += 6;
    long v[4];
    for (int k = 0; k < 4; k++) {
        if (*s < '0' || *s > '9')
            return false;
        long x = 0;
        size_t n = 0;
        while (*s >= '0' && *s <= '9') {
            if (++n > 6)
                return false;
            x = x * 10 + (*s - '0');
            s++;
        }
        v[k] = x;
        if (k < 3) {
            if (*s != ':')
                return false;
            s++;
        }
    }
    int p = 0;
    if (*s) {
        if (strncmp(s, "-part", 5) != 0)
            return false;
        p = parse_small_uint(s + 5);
        if (p < 1 || p > HK_MAX_PART)
            return false;
    }
    if (v[1] != 0 || v[3] != 0) /* channel and LUN */
        return false;
    long t = v[2];
    if (t == 7)
        return false;
    if (t > 7)
        t--;
    if (t > 100000)
        return false;
    *disk = (int)t;
    *part = p;
    return true;
}

static const hk_dev *
find_disk_part(const hk_devmap *map, int disk, int part)
{
    const hk_dev *found = NULL;
    for (size_t i = 0; i < map->n; i++) {
        const hk_dev *d = &map->devs[i];
        if (d->disk_index == disk && d->partition == part) {
            if (found)
                return NULL; /* ambiguous */
            found = d;
        }
    }
    return found;
}

const hk_dev *
hk_devmap_lookup(const hk_devmap *map, const char *ref)
{
    if (!map || !ref || !*ref || (map->n > 0 && !map->devs))
        return NULL;
    for (size_t i = 0; i < map->n; i++) {
        if (map->devs[i].device && strcmp(map->devs[i].device, ref) == 0)
            return &map->devs[i];
    }
    int disk, part, ctrl, ns;
    if (hk_parse_disk_name(ref, &disk, &part, NULL))
        return find_disk_part(map, disk, part);
    if (parse_nvme_name(ref, &ctrl, &ns, &part)) {
        if (ctrl != 0)
            return NULL;
        return find_disk_part(map, ns - 1, part);
    }
    if (hk_startswith(ref, "/dev/disk/by-path/")) {
        if (parse_by_path(ref + 18, &disk, &part))
            return find_disk_part(map, disk, part);
        return NULL;
    }
    if (hk_startswith(ref, "/dev/disk/by-id/")) {
        const char *name = ref + 16;
        size_t base = 0;
        if (by_id_is_stable(name) || map->n_disks != 1)
            return NULL;
        part = split_part_suffix(name, &base);
        if (part < 1 || base == 0)
            return NULL;
        return find_disk_part(map, 0, part);
    }
    return NULL;
}

/* ------------------------------------------------------------ edits */

void
hk_xedits_add(hk_xedits *e, size_t start, size_t end, char *repl)
{
    if (!repl) {
        e->oom = true;
        return;
    }
    if (e->oom || end < start || (e->n > 0 && start < e->v[e->n - 1].end)) {
        free(repl);
        return;
    }
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 8;
        hk_xedit *v = realloc(e->v, nc * sizeof(*v));
        if (!v) {
            free(repl);
            e->oom = true;
            return;
        }
        e->v = v;
        e->cap = nc;
    }
    e->v[e->n].start = start;
    e->v[e->n].end = end;
    e->v[e->n].repl = repl;
    e->n++;
}

char *
hk_xedits_apply(const char *in, size_t in_len, const hk_xedits *e, size_t *out_len)
{
    hk_buf b = {0};
    size_t pos = 0;
    for (size_t i = 0; i < e->n; i++) {
        const hk_xedit *x = &e->v[i];
        if (x->start > in_len || x->end > in_len || x->start < pos)
            continue;
        hk_buf_append(&b, in + pos, x->start - pos);
        hk_buf_puts(&b, x->repl);
        pos = x->end;
    }
    hk_buf_append(&b, in + pos, in_len - pos);
    size_t len = b.len;
    char *s = hk_buf_steal(&b);
    if (s && out_len)
        *out_len = len;
    return s;
}

void
hk_xedits_free(hk_xedits *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].repl);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

/* ------------------------------------------------------ stable names */

static bool
id_ok(const char *s)
{
    if (!s || !*s)
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex && c != '-')
            return false;
        if (n >= 128)
            return false;
    }
    return true;
}

static bool
label_cmdline_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 255)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '.' || c == '_' || c == '-' || c == '/' || c == '+' || c == ':' || c == '@';
        if (!ok)
            return false;
    }
    return true;
}

static bool
label_fstab_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 255)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 && c != '\t')
            return false; /* newline or control: cannot be represented safely */
    }
    return true;
}

char *
hk_dev_stable_ref(const hk_dev *d, hk_ref_style style, bool *oom)
{
    *oom = false;
    if (!d)
        return NULL;
    char *r = NULL;
    if (id_ok(d->uuid)) {
        r = hk_asprintf("UUID=%s", d->uuid);
    } else if (style == HK_REF_CMDLINE ? label_cmdline_ok(d->label) : label_fstab_ok(d->label)) {
        hk_buf b = {0};
        hk_buf_puts(&b, "LABEL=");
        for (const char *s = d->label; *s; s++) {
            if (*s == ' ' || *s == '\t' || *s == '\\' || *s == '#')
                hk_buf_printf(&b, "\\%03o", (unsigned)(unsigned char)*s);
            else
                hk_buf_append(&b, s, 1);
        }
        r = hk_buf_steal(&b);
    } else if (id_ok(d->partuuid)) {
        r = hk_asprintf("PARTUUID=%s", d->partuuid);
    } else {
        return NULL;
    }
    if (!r)
        *oom = true;
    return r;
}

int
hk_xform_fail(hk_buf *b, hk_xform_out *out)
{
    hk_buf_free(b);
    hk_xform_out_clear(out);
    return -1;
}

int
hk_xform_finish(hk_buf *b, bool changed, hk_xform_out *out)
{
    if (b->oom)
        return hk_xform_fail(b, out);
    if (!changed) {
        hk_buf_free(b);
        return 0;
    }
    if (!(out->text = hk_buf_steal(b)))
        return hk_xform_fail(b, out);
    return 0;
}
