/*
 * Boot loader transforms: see grub_xform.h for the rules.
 *
 * The command-line values are first decoded (shell-like quoting for
 * /etc/default/grub and grub.cfg, backslash escapes for grubenv, none for BLS)
 * into a string in which every character remembers its offset in the input.
 * That string is split like the kernel splits its command line (blanks,
 * double quotes group), and a root=/resume= device is replaced in the input
 * only when its characters map one to one onto consecutive input bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fix/grub_xform.h"
#include "fix/xform_priv.h"

#define NO_RAW SIZE_MAX
#define MAX_DEV_LEN 4096
#define GRUBENV_HEADER "# GRUB Environment Block"

/* ------------------------------------------------------------ state */

typedef struct xctx {
    const char *in;
    size_t len;
    const hk_devmap *map;
    hk_xform_out *out;
    hk_xedits ed;
    bool oom;
    /* line counter: offsets asked for only grow within a transform */
    size_t lc_off;
    unsigned long lc_line;
} xctx;

static unsigned long
line_at(xctx *x, size_t off)
{
    if (off < x->lc_off) {
        x->lc_off = 0;
        x->lc_line = 1;
    }
    if (off > x->len)
        off = x->len;
    for (size_t i = x->lc_off; i < off; i++)
        if (x->in[i] == '\n')
            x->lc_line++;
    x->lc_off = off;
    return x->lc_line;
}

/* ---------------------------------------------------------- decoder */

typedef struct dec {
    char *s;
    size_t *raw;
    size_t n;
    size_t cap;
    bool oom;
} dec;

static void
dec_put(dec *d, char c, size_t raw)
{
    if (d->oom)
        return;
    if (d->n + 1 >= d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 128;
        char *s = realloc(d->s, nc);
        if (!s) {
            d->oom = true;
            return;
        }
        d->s = s;
        size_t *r = realloc(d->raw, nc * sizeof(size_t));
        if (!r) {
            d->oom = true;
            return;
        }
        d->raw = r;
        d->cap = nc;
    }
    d->s[d->n] = c;
    d->raw[d->n] = raw;
    d->n++;
    d->s[d->n] = '\0';
}

static void
dec_free(dec *d)
{
    free(d->s);
    free(d->raw);
    memset(d, 0, sizeof(*d));
}

typedef enum dec_mode {
    DEC_SH_WORD,  /* one shell word (a variable's value) */
    DEC_SH_LINE,  /* shell-like words up to the end of the command */
    DEC_RAW_LINE, /* bytes up to the end of the line (BLS) */
    DEC_ENV_LINE, /* up to the end of the line, backslash escapes (grubenv) */
} dec_mode;

static bool
sh_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Decodes from @start; returns the offset where decoding stopped. */
static size_t
decode(const char *in, size_t len, size_t start, dec_mode m, dec *d)
{
    size_t i = start;
    if (m == DEC_RAW_LINE || m == DEC_ENV_LINE) {
        while (i < len && in[i] != '\n') {
            if (m == DEC_ENV_LINE && in[i] == '\\' && i + 1 < len) {
                dec_put(d, in[i + 1], i + 1);
                i += 2;
                continue;
            }
            dec_put(d, in[i], i);
            i++;
        }
        return i;
    }
    char q = 0;
    bool in_word = false;
    while (i < len) {
        char c = in[i];
        if (q == '\'') {
            if (c == '\'')
                q = 0;
            else
                dec_put(d, c, i);
            i++;
            continue;
        }
        if (q == '"') {
            if (c == '"') {
                q = 0;
                i++;
                continue;
            }
            if (c == '\\' && i + 1 < len) {
                char n = in[i + 1];
                if (n == '\n') {
                    i += 2;
                    continue;
                }
                if (n == '$' || n == '`' || n == '"' || n == '\\') {
                    dec_put(d, n, i + 1);
                    i += 2;
                    continue;
                }
            }
            dec_put(d, c, i);
            i++;
            continue;
        }
        if (c == '\n' || c == ';' || c == '&' || c == '|')
            break;
        if (sh_blank(c)) {
            if (m == DEC_SH_WORD)
                break;
            if (in_word)
                dec_put(d, ' ', NO_RAW);
            in_word = false;
            i++;
            continue;
        }
        if (c == '#' && !in_word && m == DEC_SH_LINE)
            break;
        if (c == '\\' && i + 1 < len) {
            char n = in[i + 1];
            if (n == '\n') {
                i += 2;
                continue;
            }
            if (n == '\r' && i + 2 < len && in[i + 2] == '\n') {
                i += 3;
                continue;
            }
            dec_put(d, n, i + 1);
            in_word = true;
            i += 2;
            continue;
        }
        if (c == '\'' || c == '"') {
            q = c;
            in_word = true;
            i++;
            continue;
        }
        dec_put(d, c, i);
        in_word = true;
        i++;
    }
    return i;
}

/* ------------------------------------------------- kernel arguments */

static bool
k_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Handles one kernel argument d->s[w, e). */
static void
kernel_arg(xctx *x, const dec *d, size_t w, size_t e)
{
    static const char *const keys[] = {"root=", "resume="};
    for (size_t k = 0; k < HK_ARRAY_LEN(keys); k++) {
        size_t kl = strlen(keys[k]);
        if (e - w <= kl || memcmp(d->s + w, keys[k], kl) != 0)
            continue;
        size_t v = w + kl;
        size_t ve = e;
        if (ve - v >= 2 && d->s[v] == '"' && d->s[ve - 1] == '"') {
            v++;
            ve--;
        }
        if (ve <= v || ve - v > MAX_DEV_LEN)
            return;
        char *ref = hk_strndup(d->s + v, ve - v);
        if (!ref) {
            x->oom = true;
            return;
        }
        if (!hk_devref_is_unstable(ref)) {
            free(ref);
            return;
        }
        /* the first mapped character gives the line of the note */
        size_t at = NO_RAW;
        for (size_t j = w; j < e && at == NO_RAW; j++)
            at = d->raw[j];
        unsigned long line = line_at(x, at == NO_RAW ? 0 : at);
        const hk_dev *dev = x->map ? hk_devmap_lookup(x->map, ref) : NULL;
        bool oom = false;
        char *stable = dev ? hk_dev_stable_ref(dev, HK_REF_CMDLINE, &oom) : NULL;
        bool plain = true;
        for (size_t j = v; j < ve && plain; j++) {
            if (d->raw[j] == NO_RAW || (j > v && d->raw[j] != d->raw[j - 1] + 1))
                plain = false;
        }
        bool ok;
        if (oom) {
            ok = false;
        } else if (!stable) {
            ok = hk_xform_note(x->out, "line %lu: no UUID known for %s%s (left as is)", line,
                               keys[k], ref);
        } else if (!plain) {
            ok = hk_xform_note(x->out, "line %lu: %s%s is quoted or escaped (left as is)", line,
                               keys[k], ref);
            free(stable);
        } else {
            ok = hk_xform_note(x->out, "line %lu: %s%s -> %s%s", line, keys[k], ref, keys[k],
                               stable);
            hk_xedits_add(&x->ed, d->raw[v], d->raw[ve - 1] + 1, stable);
        }
        if (!ok)
            x->oom = true;
        free(ref);
        return;
    }
}

/* Splits the decoded text like the kernel does and handles each argument. */
static void
kernel_args(xctx *x, const dec *d)
{
    size_t k = 0;
    bool kq = false;
    while (k < d->n && !x->oom) {
        while (k < d->n && k_blank(d->s[k]))
            k++;
        size_t w = k;
        while (k < d->n && (kq || !k_blank(d->s[k]))) {
            if (d->s[k] == '"')
                kq = !kq;
            k++;
        }
        if (k > w)
            kernel_arg(x, d, w, k);
    }
}

/* Decodes from @start in mode @m, rewrites the kernel arguments found;
 * returns the end of the decoded region. */
static size_t
cmdline_region(xctx *x, size_t start, dec_mode m)
{
    dec d = {0};
    size_t end = decode(x->in, x->len, start, m, &d);
    if (d.oom)
        x->oom = true;
    else if (d.n > 0)
        kernel_args(x, &d);
    dec_free(&d);
    return end;
}

/* ------------------------------------------------------------ lines */

static size_t
next_line(const xctx *x, size_t from)
{
    const char *nl = from < x->len ? memchr(x->in + from, '\n', x->len - from) : NULL;
    return nl ? (size_t)(nl - x->in) + 1 : x->len;
}

static bool
ident_char(char c, bool first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (!first && c >= '0' && c <= '9');
}

/* Reads an identifier at *i; returns its length (0 = none). */
static size_t
ident(const xctx *x, size_t *i)
{
    size_t s = *i;
    while (*i < x->len && ident_char(x->in[*i], *i == s))
        (*i)++;
    return *i - s;
}

static size_t
skip_blanks(const xctx *x, size_t i)
{
    while (i < x->len && (x->in[i] == ' ' || x->in[i] == '\t'))
        i++;
    return i;
}

static int
finish(xctx *x)
{
    if (x->ed.oom)
        x->oom = true;
    if (!x->oom && x->ed.n > 0) {
        x->out->text = hk_xedits_apply(x->in, x->len, &x->ed, NULL);
        if (!x->out->text)
            x->oom = true;
    }
    hk_xedits_free(&x->ed);
    if (x->oom) {
        hk_xform_out_clear(x->out);
        return H2K_ERR_NO_MEMORY;
    }
    return 0;
}

static void
xctx_init(xctx *x, const char *in, const hk_devmap *map, hk_xform_out *out)
{
    memset(x, 0, sizeof(*x));
    x->in = in;
    x->len = strlen(in);
    x->map = map;
    x->out = out;
    x->lc_line = 1;
}

/* ---------------------------------------------------- default/grub */

static void
disable_uuid_assignment(xctx *x, size_t line_start, size_t vstart)
{
    dec d = {0};
    decode(x->in, x->len, vstart, DEC_SH_WORD, &d);
    if (d.oom) {
        x->oom = true;
    } else if (d.n == 4 && memcmp(d.s, "true", 4) == 0 && d.raw[0] != NO_RAW &&
               d.raw[3] == d.raw[0] + 3) {
        /* line ending of this line, for the inserted comment */
        size_t nl = next_line(x, line_start);
        bool crlf = nl >= 2 && x->in[nl - 1] == '\n' && x->in[nl - 2] == '\r';
        unsigned long line = line_at(x, line_start);
        hk_xedits_add(&x->ed, line_start, line_start,
                      hk_asprintf("# hyper2kvm: was GRUB_DISABLE_LINUX_UUID=true; disk names "
                                  "change on KVM, so boot by UUID%s",
                                  crlf ? "\r\n" : "\n"));
        hk_xedits_add(&x->ed, d.raw[0], d.raw[3] + 1, hk_strdup0("false"));
        if (!hk_xform_note(x->out, "line %lu: GRUB_DISABLE_LINUX_UUID=true -> false", line))
            x->oom = true;
    }
    dec_free(&d);
}

int
hk_grub_default_xform(const char *in, const hk_devmap *map, hk_xform_out *out)
{
    if (!in || !out)
        return H2K_ERR_INVALID_ARG;
    xctx x;
    xctx_init(&x, in, map, out);
    size_t pos = 0;
    while (pos < x.len && !x.oom) {
        size_t line_start = pos;
        size_t i = skip_blanks(&x, pos);
        size_t ks = i;
        size_t kl = ident(&x, &i);
        if (kl == 6 && memcmp(in + ks, "export", 6) == 0 && i < x.len &&
            (in[i] == ' ' || in[i] == '\t')) {
            i = skip_blanks(&x, i);
            ks = i;
            kl = ident(&x, &i);
        }
        size_t vstart = 0;
        if (kl > 0 && i < x.len && in[i] == '=')
            vstart = i + 1;
        else if (kl > 0 && i + 1 < x.len && in[i] == '+' && in[i + 1] == '=')
            vstart = i + 2;
        if (vstart == 0) {
            pos = next_line(&x, pos);
            continue;
        }
        size_t end;
        if (kl >= 18 && memcmp(in + ks, "GRUB_CMDLINE_LINUX", 18) == 0) {
            end = cmdline_region(&x, vstart, DEC_SH_WORD);
        } else {
            if (kl == 23 && memcmp(in + ks, "GRUB_DISABLE_LINUX_UUID", 23) == 0)
                disable_uuid_assignment(&x, line_start, vstart);
            /* find the end of the value, which may span lines */
            dec d = {0};
            end = decode(in, x.len, vstart, DEC_SH_WORD, &d);
            if (d.oom)
                x.oom = true;
            dec_free(&d);
        }
        pos = next_line(&x, end > pos ? end : pos);
    }
    return finish(&x);
}

/* ----------------------------------------------- grub.cfg and BLS */

static bool
is_kernel_cmd(const char *s, size_t n)
{
    static const char *const cmds[] = {"linux", "linux16", "linuxefi", "kernel"};
    for (size_t i = 0; i < HK_ARRAY_LEN(cmds); i++)
        if (strlen(cmds[i]) == n && memcmp(s, cmds[i], n) == 0)
            return true;
    return false;
}

static bool
is_bls_options(const char *s, size_t n)
{
    return n == 7 && memcmp(s, "options", 7) == 0;
}

/* Rewrites the command line that follows a keyword accepted by @is_cmd (and a
 * blank) on every line, decoded with @mode. */
static int
xform_cmdline_lines(const char *in, const hk_devmap *map, hk_xform_out *out,
                    bool (*is_cmd)(const char *, size_t), dec_mode mode)
{
    if (!in || !out)
        return H2K_ERR_INVALID_ARG;
    xctx x;
    xctx_init(&x, in, map, out);
    size_t pos = 0;
    while (pos < x.len && !x.oom) {
        size_t i = skip_blanks(&x, pos);
        size_t ks = i;
        size_t kl = ident(&x, &i);
        size_t end = pos;
        if (kl > 0 && is_cmd(in + ks, kl) && i < x.len && (in[i] == ' ' || in[i] == '\t'))
            end = cmdline_region(&x, i, mode);
        pos = next_line(&x, end);
    }
    return finish(&x);
}

int
hk_grub_cfg_xform(const char *in, const hk_devmap *map, hk_xform_out *out)
{
    return xform_cmdline_lines(in, map, out, is_kernel_cmd, DEC_SH_LINE);
}

int
hk_bls_entry_xform(const char *in, const hk_devmap *map, hk_xform_out *out)
{
    return xform_cmdline_lines(in, map, out, is_bls_options, DEC_RAW_LINE);
}

/* --------------------------------------------------------- grubenv */

int
hk_grubenv_xform(const char *in, const hk_devmap *map, hk_xform_out *out)
{
    if (!in || !out)
        return H2K_ERR_INVALID_ARG;
    xctx x;
    xctx_init(&x, in, map, out);
    size_t total = x.len;
    bool fixed = hk_startswith(in, GRUBENV_HEADER);
    size_t content = x.len;
    if (fixed) {
        /* padding: the run of '#' after the last newline */
        size_t p = x.len;
        while (p > 0 && in[p - 1] == '#')
            p--;
        if (p > 0 && in[p - 1] == '\n')
            content = p;
        x.len = content;
    }
    size_t pos = 0;
    while (pos < x.len && !x.oom) {
        size_t end = pos;
        if (x.len - pos > 11 && memcmp(in + pos, "kernelopts=", 11) == 0)
            end = cmdline_region(&x, pos + 11, DEC_ENV_LINE);
        pos = next_line(&x, end);
    }
    if (x.ed.oom)
        x.oom = true;
    if (x.oom || x.ed.n == 0 || !fixed)
        return finish(&x);

    size_t nlen = 0;
    char *body = hk_xedits_apply(in, content, &x.ed, &nlen);
    hk_xedits_free(&x.ed);
    if (!body) {
        hk_xform_out_clear(out);
        return H2K_ERR_NO_MEMORY;
    }
    if (nlen > total) {
        free(body);
        hk_xform_out_clear(out);
        if (!hk_xform_note(out,
                           "grubenv: the new kernelopts do not fit in the %zu-byte block "
                           "(left as is)",
                           total)) {
            hk_xform_out_clear(out);
            return H2K_ERR_NO_MEMORY;
        }
        return 0;
    }
    char *t = malloc(total + 1);
    if (!t) {
        free(body);
        hk_xform_out_clear(out);
        return H2K_ERR_NO_MEMORY;
    }
    memcpy(t, body, nlen);
    memset(t + nlen, '#', total - nlen);
    t[total] = '\0';
    free(body);
    out->text = t;
    return 0;
}

/* ------------------------------------------------------ device.map */

int
hk_device_map_xform(const char *in, hk_xform_out *out)
{
    if (!in || !out)
        return H2K_ERR_INVALID_ARG;
    xctx x;
    xctx_init(&x, in, NULL, out);
    size_t pos = 0;
    while (pos < x.len && !x.oom) {
        size_t nl = next_line(&x, pos);
        size_t i = skip_blanks(&x, pos);
        /* "(hdN)" */
        int bios = -1;
        if (x.len - i > 4 && memcmp(in + i, "(hd", 3) == 0) {
            size_t j = i + 3;
            long v = 0;
            size_t nd = 0;
            while (j < x.len && in[j] >= '0' && in[j] <= '9' && nd < 4) {
                v = v * 10 + (in[j] - '0');
                j++;
                nd++;
            }
            if (nd > 0 && j < x.len && in[j] == ')') {
                bios = (int)v;
                i = j + 1;
            }
        }
        size_t ds = skip_blanks(&x, i);
        if (bios < 0 || ds == i) {
            pos = nl;
            continue;
        }
        size_t de = ds;
        while (de < x.len && !sh_blank(in[de]) && in[de] != '\n')
            de++;
        if (de == ds || de - ds > MAX_DEV_LEN) {
            pos = nl;
            continue;
        }
        char *dev = hk_strndup(in + ds, de - ds);
        if (!dev) {
            x.oom = true;
            break;
        }
        if (hk_devref_is_unstable(dev)) {
            unsigned long line = line_at(&x, ds);
            int disk, part;
            char letters[8];
            int idx = bios;
            bool ok = true;
            if (hk_parse_disk_name(dev, &disk, &part, NULL)) {
                idx = disk;
                if (part != 0)
                    ok = false;
            }
            if (ok && hk_disk_letters(idx, letters)) {
                char *nd = hk_asprintf("/dev/vd%s", letters);
                if (!nd) {
                    x.oom = true;
                } else {
                    if (!hk_xform_note(out, "line %lu: (hd%d) %s -> %s", line, bios, dev, nd))
                        x.oom = true;
                    hk_xedits_add(&x.ed, ds, de, nd);
                }
            } else {
                if (!hk_xform_note(out, "line %lu: (hd%d) %s is not a whole disk (left as is)",
                                   line, bios, dev))
                    x.oom = true;
            }
        }
        free(dev);
        pos = nl;
    }
    return finish(&x);
}
