/*
 * The OVF manifest (.mf): one "ALGO(file)= hexdigest" line per file.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ova_internal.h"

static const struct {
    const char *name;
    hk_mf_algo algo;
    size_t hex_len;
} algos[] = {
    {"SHA1", HK_MF_SHA1, 40},
    {"SHA256", HK_MF_SHA256, 64},
    {"SHA512", HK_MF_SHA512, 128},
};

const char *
hk_mf_algo_name(hk_mf_algo algo)
{
    for (size_t i = 0; i < HK_ARRAY_LEN(algos); i++)
        if (algos[i].algo == algo)
            return algos[i].name;
    return "?";
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int
hk_mf_parse_line(const char *line, size_t len, hk_mf_entry *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    *why = NULL;
    size_t s = 0, e = len;
    while (s < e && is_blank(line[s]))
        s++;
    while (e > s && is_blank(line[e - 1]))
        e--;
    if (s == e)
        return 0;
    if (memchr(line + s, '\0', e - s)) {
        *why = "NUL byte in the line";
        return -1;
    }
    const char *p = line + s;
    size_t n = e - s;
    const char *lp = memchr(p, '(', n);
    if (!lp) {
        *why = "expected ALGO(file)= digest";
        return -1;
    }
    size_t al = (size_t)(lp - p);
    size_t ai = HK_ARRAY_LEN(algos);
    for (size_t i = 0; i < HK_ARRAY_LEN(algos); i++)
        if (strlen(algos[i].name) == al && strncmp(p, algos[i].name, al) == 0)
            ai = i;
    if (ai == HK_ARRAY_LEN(algos)) {
        *why = "unknown digest algorithm (SHA1, SHA256 or SHA512 expected)";
        return -1;
    }
    /* the digest holds no '=', so the last '=' ends the file name part */
    const char *eq = NULL;
    for (size_t i = n; i > 0; i--)
        if (p[i - 1] == '=') {
            eq = p + i - 1;
            break;
        }
    if (!eq || eq <= lp) {
        *why = "missing '='";
        return -1;
    }
    const char *rp = eq;
    while (rp > lp + 1 && is_blank(rp[-1]))
        rp--;
    if (rp[-1] != ')' || rp - 1 <= lp + 1) {
        *why = "expected ALGO(file)= digest";
        return -1;
    }
    const char *name = lp + 1;
    size_t name_len = (size_t)(rp - 1 - name);
    for (size_t i = 0; i < name_len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
            *why = "control character in the file name";
            return -1;
        }
    const char *h = eq + 1;
    const char *he = p + n;
    while (h < he && is_blank(*h))
        h++;
    size_t hl = (size_t)(he - h);
    if (hl != algos[ai].hex_len) {
        *why = "digest has the wrong length for its algorithm";
        return -1;
    }
    for (size_t i = 0; i < hl; i++) {
        if (!isxdigit((unsigned char)h[i])) {
            *why = "digest is not hexadecimal";
            return -1;
        }
        out->digest[i] = (char)tolower((unsigned char)h[i]);
    }
    out->digest[hl] = '\0';
    out->name = hk_strndup(name, name_len);
    if (!out->name)
        return H2K_ERR_NO_MEMORY;
    out->algo = algos[ai].algo;
    return 1;
}

void
hk_mf_entries_free(hk_mf_entry *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

int
hk_mf_parse(h2k_ctx *ctx, const char *text, size_t len, const char *ova_path, const char *member,
            uint64_t base_offset, hk_mf_entry **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    hk_mf_entry *v = NULL;
    size_t n = 0, cap = 0;
    size_t pos = 0;
    unsigned lineno = 0;
    /* a UTF-8 byte order mark is tolerated */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3;
    while (pos < len) {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
        hk_mf_entry e;
        const char *why = NULL;
        int r = hk_mf_parse_line(text + pos, ll, &e, &why);
        if (r == H2K_ERR_NO_MEMORY) {
            hk_mf_entries_free(v, n);
            return hk_error_nomem(ctx);
        }
        if (r < 0) {
            hk_mf_entries_free(v, n);
            return hk_error_at(ctx, H2K_ERR_FORMAT, ova_path, (int64_t)(base_offset + pos),
                               "manifest", "manifest %s: line %u is malformed: %s", member, lineno,
                               why);
        }
        if (r == 1) {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 8;
                hk_mf_entry *nv = realloc(v, nc * sizeof(*nv));
                if (!nv) {
                    free(e.name);
                    hk_mf_entries_free(v, n);
                    return hk_error_nomem(ctx);
                }
                v = nv;
                cap = nc;
            }
            e.line = lineno;
            v[n++] = e;
        }
        pos += ll + (nl ? 1 : 0);
    }
    *out = v;
    *n_out = n;
    return 0;
}
