/* Windows registry hives of a guest: libhivex on a private copy, every change recorded. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hivex.h>

#include "fsread.h"
#include "win_registry.h"

struct hk_hive {
    h2k_ctx *ctx;
    guestfs_h *g; /* NULL for a local file */
    char *name;
    char *guest_path; /* the hive in the guest (resolved case) */
    char *local;      /* the file hivex works on */
    bool own_local;   /* the private copy is ours to remove */
    bool writable;
    bool dry_run;
    bool dirty;
    hive_h *hx;
    hk_reg_change *changes;
    size_t n_changes;
};

const char *
hk_reg_type_name(int type)
{
    switch (type) {
    case HK_REG_NONE:
        return "REG_NONE";
    case HK_REG_SZ:
        return "REG_SZ";
    case HK_REG_EXPAND_SZ:
        return "REG_EXPAND_SZ";
    case HK_REG_BINARY:
        return "REG_BINARY";
    case HK_REG_DWORD:
        return "REG_DWORD";
    case 5:
        return "REG_DWORD_BIG_ENDIAN";
    case 6:
        return "REG_LINK";
    case HK_REG_MULTI_SZ:
        return "REG_MULTI_SZ";
    case HK_REG_QWORD:
        return "REG_QWORD";
    }
    return "REG_UNKNOWN";
}

void
hk_reg_change_clear(hk_reg_change *c)
{
    if (!c)
        return;
    free(c->hive);
    free(c->key);
    free(c->value);
    free(c->action);
    free(c->type);
    free(c->before);
    free(c->after);
    memset(c, 0, sizeof(*c));
}

static int
hive_open_common(hk_hive *h)
{
    h->hx = hivex_open(h->local, h->writable ? HIVEX_OPEN_WRITE : 0);
    if (!h->hx) {
        int e = errno;
        return hk_error(h->ctx, H2K_ERR_GUEST_DETECTION,
                        "%s: the %s registry hive does not parse (%s)",
                        h->guest_path ? h->guest_path : h->local, h->name,
                        e ? strerror(e) : "not a hive");
    }
    return 0;
}

int
hk_hive_open_file(h2k_ctx *ctx, const char *path, const char *name, bool writable, bool dry_run,
                  hk_hive **out)
{
    *out = NULL;
    hk_hive *h = calloc(1, sizeof(*h));
    if (!h)
        return hk_error_nomem(ctx);
    h->ctx = ctx;
    h->name = strdup(name);
    h->local = strdup(path);
    h->writable = writable;
    h->dry_run = dry_run;
    if (!h->name || !h->local) {
        hk_hive_close(h);
        return hk_error_nomem(ctx);
    }
    int rc = hive_open_common(h);
    if (rc < 0) {
        hk_hive_close(h);
        return rc;
    }
    *out = h;
    return 0;
}

int
hk_hive_open_guest(h2k_ctx *ctx, guestfs_h *g, const char *guest_path, const char *name,
                   const char *tmp_dir, bool writable, bool dry_run, hk_hive **out)
{
    *out = NULL;
    hk_hive *h = calloc(1, sizeof(*h));
    if (!h)
        return hk_error_nomem(ctx);
    h->ctx = ctx;
    h->g = g;
    h->writable = writable;
    h->dry_run = dry_run;
    h->name = strdup(name);
    h->guest_path = guestfs_case_sensitive_path(g, guest_path);
    int rc = 0;
    if (!h->name) {
        rc = hk_error_nomem(ctx);
        goto fail;
    }
    if (!h->guest_path || guestfs_is_file(g, h->guest_path) <= 0) {
        rc = hk_error(ctx, H2K_ERR_GUEST_DETECTION, "%s: the %s registry hive is missing",
                      guest_path, name);
        goto fail;
    }
    h->local = hk_asprintf("%s/hive-%s-XXXXXX", tmp_dir, name);
    if (!h->local) {
        rc = hk_error_nomem(ctx);
        goto fail;
    }
    int fd = mkstemp(h->local);
    if (fd < 0) {
        rc = hk_error_errno(ctx, errno, h->local, "cannot create a temporary file for a hive");
        goto fail;
    }
    close(fd);
    h->own_local = true;
    if (guestfs_download(g, h->guest_path, h->local) < 0) {
        rc = hk_error(ctx, H2K_ERR_IO, "%s: cannot read the %s hive: %s", h->guest_path, name,
                      guestfs_last_error(g));
        goto fail;
    }
    if ((rc = hive_open_common(h)) < 0)
        goto fail;
    *out = h;
    return 0;
fail:
    hk_hive_close(h);
    return rc;
}

void
hk_hive_close(hk_hive *h)
{
    if (!h)
        return;
    if (h->hx)
        hivex_close(h->hx);
    if (h->own_local && h->local)
        unlink(h->local);
    for (size_t i = 0; i < h->n_changes; i++)
        hk_reg_change_clear(&h->changes[i]);
    free(h->changes);
    free(h->local);
    free(h->guest_path);
    free(h->name);
    free(h);
}

const char *
hk_hive_name(const hk_hive *h)
{
    return h->name;
}

bool
hk_hive_dirty(const hk_hive *h)
{
    return h->dirty;
}

/* Walks @key from the root; 0 when a component is missing.  With @create the
 * missing components are added (and recorded). */
static hive_node_h
walk(hk_hive *h, const char *key, bool create, int *err)
{
    hive_node_h node = hivex_root(h->hx);
    if (!node) {
        *err = hk_error(h->ctx, H2K_ERR_GUEST_DETECTION, "the %s hive has no root key", h->name);
        return 0;
    }
    const char *p = key ? key : "";
    hk_buf done = {0};
    while (*p) {
        while (*p == '\\')
            p++;
        size_t n = strcspn(p, "\\");
        if (!n)
            break;
        char *comp = hk_strndup(p, n);
        if (!comp) {
            hk_buf_free(&done);
            *err = hk_error_nomem(h->ctx);
            return 0;
        }
        hk_buf_printf(&done, "%s%s", done.len ? "\\" : "", comp);
        errno = 0;
        hive_node_h child = hivex_node_get_child(h->hx, node, comp);
        if (!child && create) {
            child = hivex_node_add_child(h->hx, node, comp);
            if (!child) {
                *err = hk_error(h->ctx, H2K_ERR_IO, "%s hive: cannot create key %s: %s", h->name,
                                done.data, strerror(errno));
                free(comp);
                hk_buf_free(&done);
                return 0;
            }
            h->dirty = true;
            hk_reg_change *nc = realloc(h->changes, (h->n_changes + 1) * sizeof(*nc));
            if (nc) {
                h->changes = nc;
                hk_reg_change *c = &nc[h->n_changes++];
                memset(c, 0, sizeof(*c));
                c->hive = strdup(h->name);
                c->key = strdup(done.data);
                c->action = strdup("key created");
            }
        }
        free(comp);
        if (!child) {
            hk_buf_free(&done);
            return 0;
        }
        node = child;
        p += n;
    }
    hk_buf_free(&done);
    return node;
}

bool
hk_hive_has_key(hk_hive *h, const char *key)
{
    int err = 0;
    return walk(h, key, false, &err) != 0;
}

char **
hk_hive_subkeys(hk_hive *h, const char *key)
{
    int err = 0;
    hive_node_h node = walk(h, key, false, &err);
    if (!node)
        return NULL;
    hive_node_h *kids = hivex_node_children(h->hx, node);
    if (!kids)
        return NULL;
    size_t n = 0;
    while (kids[n])
        n++;
    char **v = calloc(n + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; v && i < n; i++) {
        char *name = hivex_node_name(h->hx, kids[i]);
        if (name) /* a name that does not decode is left out: no hole in the vector */
            v[k++] = name;
    }
    free(kids);
    return v;
}

char **
hk_hive_value_names(hk_hive *h, const char *key)
{
    int err = 0;
    hive_node_h node = walk(h, key, false, &err);
    if (!node)
        return NULL;
    hive_value_h *vals = hivex_node_values(h->hx, node);
    if (!vals)
        return NULL;
    size_t n = 0;
    while (vals[n])
        n++;
    char **v = calloc(n + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; v && i < n; i++) {
        char *name = hivex_value_key(h->hx, vals[i]);
        if (name) /* as for subkeys: an undecodable name is left out */
            v[k++] = name;
    }
    free(vals);
    return v;
}

static hive_value_h
find_value(hk_hive *h, const char *key, const char *value, hive_node_h *node_out)
{
    int err = 0;
    hive_node_h node = walk(h, key, false, &err);
    if (node_out)
        *node_out = node;
    if (!node)
        return 0;
    return hivex_node_get_value(h->hx, node, value ? value : "");
}

char *
hk_hive_get_raw(hk_hive *h, const char *key, const char *value, int *type, size_t *len)
{
    hive_value_h v = find_value(h, key, value, NULL);
    if (!v)
        return NULL;
    hive_type t;
    size_t l;
    char *data = hivex_value_value(h->hx, v, &t, &l);
    if (!data)
        return NULL;
    if (type)
        *type = (int)t;
    if (len)
        *len = l;
    return data;
}

char **
hk_hive_get_multi(hk_hive *h, const char *key, const char *value)
{
    hive_value_h v = find_value(h, key, value, NULL);
    if (!v)
        return NULL;
    hive_type t;
    size_t l;
    if (hivex_value_type(h->hx, v, &t, &l) < 0)
        return NULL;
    if (t == hive_t_REG_MULTI_SZ)
        return hivex_value_multiple_strings(h->hx, v);
    if (t == hive_t_REG_SZ || t == hive_t_REG_EXPAND_SZ) {
        char **r = calloc(2, sizeof(char *));
        if (r && !(r[0] = hivex_value_string(h->hx, v))) {
            free(r);
            return NULL;
        }
        return r;
    }
    return NULL;
}

char *
hk_hive_get_str(hk_hive *h, const char *key, const char *value)
{
    char **m = hk_hive_get_multi(h, key, value);
    if (!m)
        return NULL;
    char *s = m[0] ? strdup(m[0]) : NULL;
    hk_strv_free(m);
    return s;
}

int
hk_hive_get_dword(hk_hive *h, const char *key, const char *value, uint32_t *out)
{
    hive_value_h v = find_value(h, key, value, NULL);
    if (!v)
        return -1;
    hive_type t;
    size_t l;
    if (hivex_value_type(h->hx, v, &t, &l) < 0 ||
        (t != hive_t_REG_DWORD && t != hive_t_REG_DWORD_BIG_ENDIAN))
        return -1;
    errno = 0;
    int32_t d = hivex_value_dword(h->hx, v);
    if (errno)
        return -1;
    *out = (uint32_t)d;
    return 0;
}

/* ---------------------------------------------------------------- printable */

/* UTF-16LE registry string data -> UTF-8 (BMP and surrogate pairs). */
static char *
utf16_to_utf8(const unsigned char *d, size_t len)
{
    hk_buf b = {0};
    hk_buf_puts(&b, "");
    for (size_t i = 0; i + 1 < len; i += 2) {
        uint32_t c = (uint32_t)d[i] | ((uint32_t)d[i + 1] << 8);
        if (c == 0)
            break;
        if (c >= 0xd800 && c < 0xdc00 && i + 3 < len) {
            uint32_t lo = (uint32_t)d[i + 2] | ((uint32_t)d[i + 3] << 8);
            if (lo >= 0xdc00 && lo < 0xe000) {
                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                i += 2;
            }
        }
        char u[5] = {0};
        if (c < 0x80)
            u[0] = (char)c;
        else if (c < 0x800) {
            u[0] = (char)(0xc0 | (c >> 6));
            u[1] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            u[0] = (char)(0xe0 | (c >> 12));
            u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
            u[2] = (char)(0x80 | (c & 0x3f));
        } else {
            u[0] = (char)(0xf0 | (c >> 18));
            u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
            u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
            u[3] = (char)(0x80 | (c & 0x3f));
        }
        hk_buf_puts(&b, u);
    }
    return hk_buf_steal(&b);
}

/* A value's data as one line for the report. */
static char *
printable(int type, const unsigned char *d, size_t len)
{
    hk_buf b = {0};
    hk_buf_puts(&b, "");
    if ((type == HK_REG_DWORD) && len == 4) {
        uint32_t v = (uint32_t)d[0] | ((uint32_t)d[1] << 8) | ((uint32_t)d[2] << 16) |
                     ((uint32_t)d[3] << 24);
        hk_buf_printf(&b, "0x%08x (%u)", v, v);
    } else if (type == HK_REG_SZ || type == HK_REG_EXPAND_SZ) {
        char *s = utf16_to_utf8(d, len);
        hk_buf_puts(&b, s ? s : "");
        free(s);
    } else if (type == HK_REG_MULTI_SZ) {
        size_t i = 0;
        bool first = true;
        hk_buf_puts(&b, "[");
        while (i + 1 < len) {
            char *s = utf16_to_utf8(d + i, len - i);
            if (!s || !*s) {
                free(s);
                break;
            }
            hk_buf_printf(&b, "%s\"%s\"", first ? "" : ", ", s);
            first = false;
            /* skip the string and its NUL */
            while (i + 1 < len && (d[i] || d[i + 1]))
                i += 2;
            i += 2;
            free(s);
        }
        hk_buf_puts(&b, "]");
    } else {
        hk_buf_puts(&b, "hex:");
        for (size_t i = 0; i < len && i < 64; i++)
            hk_buf_printf(&b, "%s%02x", i ? "," : "", d[i]);
        if (len > 64)
            hk_buf_printf(&b, ",... (%zu bytes)", len);
    }
    return hk_buf_steal(&b);
}

static void
record(hk_hive *h, const char *key, const char *value, const char *action, int type,
       const char *before, const char *after)
{
    hk_reg_change *nc = realloc(h->changes, (h->n_changes + 1) * sizeof(*nc));
    if (!nc)
        return;
    h->changes = nc;
    hk_reg_change *c = &nc[h->n_changes++];
    memset(c, 0, sizeof(*c));
    c->hive = strdup(h->name);
    c->key = strdup(key ? key : "");
    c->value = value ? strdup(value) : NULL;
    c->action = strdup(action);
    c->type = type >= 0 ? strdup(hk_reg_type_name(type)) : NULL;
    c->before = hk_strdup0(before);
    c->after = hk_strdup0(after);
}

/* ---------------------------------------------------------------- writes */

static int
need_writable(hk_hive *h)
{
    if (!h->writable)
        return hk_error(h->ctx, H2K_ERR_INVALID_ARG, "the %s hive was opened read-only", h->name);
    return 0;
}

int
hk_hive_mkkey(hk_hive *h, const char *key)
{
    int rc = need_writable(h);
    if (rc < 0)
        return rc;
    int err = 0;
    if (!walk(h, key, true, &err))
        return err ? err : hk_error(h->ctx, H2K_ERR_IO, "%s hive: cannot create %s", h->name, key);
    return 0;
}

int
hk_hive_set_raw(hk_hive *h, const char *key, const char *value, int type, const void *data,
                size_t len)
{
    int rc = need_writable(h);
    if (rc < 0)
        return rc;
    int err = 0;
    hive_node_h node = walk(h, key, true, &err);
    if (!node)
        return err ? err : hk_error(h->ctx, H2K_ERR_IO, "%s hive: cannot create %s", h->name, key);
    const char *vname = value ? value : "";
    char *before = NULL;
    hive_value_h old = hivex_node_get_value(h->hx, node, vname);
    if (old) {
        hive_type t;
        size_t l;
        char *od = hivex_value_value(h->hx, old, &t, &l);
        if (od && (int)t == type && l == len && memcmp(od, data, len) == 0) {
            free(od);
            return 0; /* already so */
        }
        if (od)
            before = printable((int)t, (const unsigned char *)od, l);
        free(od);
    }
    hive_set_value sv = {(char *)vname, (hive_type)type, len, (char *)data};
    if (hivex_node_set_value(h->hx, node, &sv, 0) < 0) {
        free(before);
        return hk_error(h->ctx, H2K_ERR_IO, "%s hive: cannot set %s\\%s: %s", h->name, key,
                        *vname ? vname : "(default)", strerror(errno));
    }
    h->dirty = true;
    char *after = printable(type, data, len);
    record(h, key, vname, "value set", type, before, after);
    free(before);
    free(after);
    return 0;
}

char *
hk_reg_utf16(const char *s, size_t *len_out)
{
    size_t n = strlen(s);
    /* at most one UTF-16 unit per byte, plus pairs and the NUL */
    unsigned char *o = malloc(2 * n + 4);
    if (!o)
        return NULL;
    size_t j = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c;
        if (*p < 0x80)
            c = *p++;
        else if ((*p & 0xe0) == 0xc0 && p[1]) {
            c = ((uint32_t)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
            p += 2;
        } else if ((*p & 0xf0) == 0xe0 && p[1] && p[2]) {
            c = ((uint32_t)(p[0] & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
            p += 3;
        } else if ((*p & 0xf8) == 0xf0 && p[1] && p[2] && p[3]) {
            c = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
                ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
            p += 4;
        } else {
            c = 0xfffd;
            p++;
        }
        if (c >= 0x10000) {
            c -= 0x10000;
            uint32_t hi = 0xd800 + (c >> 10), lo = 0xdc00 + (c & 0x3ff);
            o[j++] = (unsigned char)(hi & 0xff);
            o[j++] = (unsigned char)(hi >> 8);
            o[j++] = (unsigned char)(lo & 0xff);
            o[j++] = (unsigned char)(lo >> 8);
        } else {
            o[j++] = (unsigned char)(c & 0xff);
            o[j++] = (unsigned char)(c >> 8);
        }
    }
    o[j++] = 0;
    o[j++] = 0;
    *len_out = j;
    return (char *)o;
}

int
hk_hive_set_str(hk_hive *h, const char *key, const char *value, int type, const char *s)
{
    size_t len;
    char *d = hk_reg_utf16(s, &len);
    if (!d)
        return hk_error_nomem(h->ctx);
    int rc = hk_hive_set_raw(h, key, value, type, d, len);
    free(d);
    return rc;
}

int
hk_hive_set_dword(hk_hive *h, const char *key, const char *value, uint32_t v)
{
    unsigned char d[4] = {(unsigned char)(v & 0xff), (unsigned char)((v >> 8) & 0xff),
                          (unsigned char)((v >> 16) & 0xff), (unsigned char)(v >> 24)};
    return hk_hive_set_raw(h, key, value, HK_REG_DWORD, d, 4);
}

int
hk_hive_set_multi(hk_hive *h, const char *key, const char *value, const char *const *strv)
{
    hk_buf b = {0};
    for (size_t i = 0; strv && strv[i]; i++) {
        size_t l;
        char *d = hk_reg_utf16(strv[i], &l);
        if (!d) {
            hk_buf_free(&b);
            return hk_error_nomem(h->ctx);
        }
        hk_buf_append(&b, d, l);
        free(d);
    }
    hk_buf_append(&b, "\0\0", 2);
    if (b.oom) {
        hk_buf_free(&b);
        return hk_error_nomem(h->ctx);
    }
    int rc = hk_hive_set_raw(h, key, value, HK_REG_MULTI_SZ, b.data, b.len);
    hk_buf_free(&b);
    return rc;
}

int
hk_hive_delete_value(hk_hive *h, const char *key, const char *value)
{
    int rc = need_writable(h);
    if (rc < 0)
        return rc;
    hive_node_h node = 0;
    hive_value_h target = find_value(h, key, value, &node);
    if (!target)
        return 0;
    hive_value_h *vals = hivex_node_values(h->hx, node);
    if (!vals)
        return hk_error(h->ctx, H2K_ERR_IO, "%s hive: cannot list %s", h->name, key);
    size_t n = 0;
    while (vals[n])
        n++;
    hive_set_value *keep = calloc(n ? n : 1, sizeof(*keep));
    size_t k = 0;
    char *before = NULL;
    int btype = -1;
    rc = keep ? 0 : hk_error_nomem(h->ctx);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        hive_type t;
        size_t l;
        char *d = hivex_value_value(h->hx, vals[i], &t, &l);
        char *nm = hivex_value_key(h->hx, vals[i]);
        if (!d || !nm) {
            free(d);
            free(nm);
            rc = hk_error(h->ctx, H2K_ERR_IO, "%s hive: cannot read the values of %s", h->name,
                          key);
            break;
        }
        if (vals[i] == target) {
            before = printable((int)t, (unsigned char *)d, l);
            btype = (int)t;
            free(d);
            free(nm);
            continue;
        }
        keep[k++] = (hive_set_value){nm, t, l, d};
    }
    if (rc == 0 && hivex_node_set_values(h->hx, node, k, keep, 0) < 0)
        rc = hk_error(h->ctx, H2K_ERR_IO, "%s hive: cannot delete %s\\%s: %s", h->name, key, value,
                      strerror(errno));
    if (rc == 0) {
        h->dirty = true;
        record(h, key, value ? value : "", "value deleted", btype, before, NULL);
    }
    for (size_t i = 0; i < k; i++) {
        free(keep[i].key);
        free(keep[i].value);
    }
    free(keep);
    free(vals);
    free(before);
    return rc;
}

int
hk_hive_delete_key(hk_hive *h, const char *key)
{
    int rc = need_writable(h);
    if (rc < 0)
        return rc;
    int err = 0;
    hive_node_h node = walk(h, key, false, &err);
    if (!node)
        return 0;
    if (node == hivex_root(h->hx))
        return hk_error(h->ctx, H2K_ERR_INVALID_ARG, "%s hive: the root key cannot be deleted",
                        h->name);
    if (hivex_node_delete_child(h->hx, node) < 0)
        return hk_error(h->ctx, H2K_ERR_IO, "%s hive: cannot delete %s: %s", h->name, key,
                        strerror(errno));
    h->dirty = true;
    record(h, key, NULL, "key deleted", -1, NULL, NULL);
    return 0;
}

int
hk_hive_commit(hk_hive *h)
{
    if (!h->dirty || h->dry_run)
        return 0;
    int rc = need_writable(h);
    if (rc < 0)
        return rc;
    if (!h->g) {
        /* local file: write a sibling and rename over it */
        char *tmp = hk_asprintf("%s.h2k-new", h->local);
        if (!tmp)
            return hk_error_nomem(h->ctx);
        if (hivex_commit(h->hx, tmp, 0) < 0) {
            rc = hk_error_errno(h->ctx, errno, tmp, "cannot write the hive");
            unlink(tmp);
        } else if (rename(tmp, h->local) < 0) {
            rc = hk_error_errno(h->ctx, errno, h->local, "cannot replace the hive");
            unlink(tmp);
        }
        free(tmp);
        if (rc == 0)
            h->dirty = false;
        return rc;
    }
    if (hivex_commit(h->hx, NULL, 0) < 0)
        return hk_error_errno(h->ctx, errno, h->local, "cannot write the hive copy");
    /* upload beside the hive, then rename over it: never a half-written hive */
    char *tmp = hk_asprintf("%s.h2k-new", h->guest_path);
    if (!tmp)
        return hk_error_nomem(h->ctx);
    if (guestfs_upload(h->g, h->local, tmp) < 0 || guestfs_mv(h->g, tmp, h->guest_path) < 0) {
        rc = hk_error(h->ctx, H2K_ERR_IO, "%s: cannot write the %s hive back: %s", h->guest_path,
                      h->name, guestfs_last_error(h->g));
        guestfs_rm_f(h->g, tmp);
    }
    free(tmp);
    if (rc == 0)
        h->dirty = false;
    return rc;
}

const hk_reg_change *
hk_hive_changes(const hk_hive *h, size_t *n)
{
    *n = h->n_changes;
    return h->changes;
}

hk_reg_change *
hk_hive_take_changes(hk_hive *h, size_t *n)
{
    hk_reg_change *c = h->changes;
    *n = h->n_changes;
    h->changes = NULL;
    h->n_changes = 0;
    return c;
}
