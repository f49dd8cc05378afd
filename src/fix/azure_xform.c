/*
 * Pure transforms for guests coming from Azure: cloud-init's datasource list
 * without Azure, fstab without Azure's resource disk.  See azure_xform.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "azure_xform.h"
#include "fix/xform_priv.h"

/* Length of the line at @p (without its newline). */
static size_t
line_len(const char *p)
{
    return strcspn(p, "\n");
}

static bool
is_azure_item(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s++;
        n -= 2;
    }
    return n == 5 && strncasecmp(s, "Azure", 5) == 0;
}

/* "datasource_list:" at the start of the line: the position after the colon, or NULL. */
static const char *
ds_key(const char *line, size_t n)
{
    static const char key[] = "datasource_list:";
    if (n < sizeof(key) - 1 || strncmp(line, key, sizeof(key) - 1) != 0)
        return NULL;
    return line + sizeof(key) - 1;
}

int
hk_xform_cloudinit_azure(const char *text, hk_xform_out *out)
{
    memset(out, 0, sizeof(*out));
    hk_buf b = {0};
    bool changed = false;
    bool in_block = false; /* after "datasource_list:" alone on its line */
    size_t block_kept = 0, block_dropped = 0;
    size_t block_indent = 2;
    int lineno = 0;
    for (const char *p = text; *p;) {
        size_t n = line_len(p);
        const char *next = p + n + (p[n] == '\n');
        lineno++;
        if (in_block) {
            size_t ind = 0;
            while (ind < n && p[ind] == ' ')
                ind++;
            bool item = ind < n && p[ind] == '-' && (ind + 1 == n || p[ind + 1] == ' ');
            bool blank_or_comment = ind == n || p[ind] == '#';
            if (item) {
                block_indent = ind;
                const char *v = p + ind + 1;
                size_t vn = n - ind - 1;
                const char *hash = memchr(v, '#', vn);
                if (is_azure_item(v, hash ? (size_t)(hash - v) : vn)) {
                    block_dropped++;
                    changed = true;
                    if (!hk_xform_note(out, "line %d: Azure removed from datasource_list", lineno))
                        goto oom;
                    p = next;
                    continue;
                }
                block_kept++;
            } else if (!blank_or_comment || (ind == 0 && n > 0 && p[0] != '#')) {
                /* the list ended */
                if (block_dropped && !block_kept)
                    hk_buf_printf(&b, "%*s- NoCloud\n%*s- None\n", (int)block_indent, "",
                                  (int)block_indent, "");
                in_block = false;
            }
            if (in_block) {
                hk_buf_append(&b, p, (size_t)(next - p));
                p = next;
                continue;
            }
        }
        const char *after = ds_key(p, n);
        if (after) {
            const char *v = after;
            size_t vn = n - (size_t)(after - p);
            while (vn && (*v == ' ' || *v == '\t')) {
                v++;
                vn--;
            }
            if (vn == 0 || *v == '#') {
                in_block = true;
                block_kept = block_dropped = 0;
                hk_buf_append(&b, p, (size_t)(next - p));
                p = next;
                continue;
            }
            const char *close = *v == '[' ? memchr(v, ']', vn) : NULL;
            if (close) {
                /* flow list: rebuilt without Azure */
                hk_buf items = {0};
                size_t kept = 0, dropped = 0;
                const char *s = v + 1;
                while (s < close) {
                    const char *comma = memchr(s, ',', (size_t)(close - s));
                    const char *e = comma ? comma : close;
                    const char *a = s, *z = e;
                    while (a < z && isspace((unsigned char)*a))
                        a++;
                    while (z > a && isspace((unsigned char)z[-1]))
                        z--;
                    if (z > a) {
                        if (is_azure_item(a, (size_t)(z - a))) {
                            dropped++;
                        } else {
                            hk_buf_printf(&items, "%s%.*s", kept ? ", " : "", (int)(z - a), a);
                            kept++;
                        }
                    }
                    s = comma ? comma + 1 : close;
                }
                if (dropped) {
                    changed = true;
                    hk_buf_printf(&b, "datasource_list: [ %s ]%.*s\n",
                                  kept ? items.data : "NoCloud, None",
                                  (int)(n - (size_t)(close + 1 - p)), close + 1);
                    bool ok = !items.oom &&
                              hk_xform_note(out, "line %d: Azure removed from datasource_list%s",
                                            lineno, kept ? "" : " (now NoCloud, None)");
                    hk_buf_free(&items);
                    if (!ok)
                        goto oom;
                    p = next;
                    continue;
                }
                hk_buf_free(&items);
            }
        }
        hk_buf_append(&b, p, (size_t)(next - p));
        p = next;
    }
    if (in_block && block_dropped && !block_kept) {
        if (b.len && b.data[b.len - 1] != '\n')
            hk_buf_puts(&b, "\n");
        hk_buf_printf(&b, "%*s- NoCloud\n%*s- None\n", (int)block_indent, "", (int)block_indent,
                      "");
    }
    return hk_xform_finish(&b, changed, out);
oom:
    return hk_xform_fail(&b, out);
}

int
hk_xform_fstab_azure(const char *text, hk_xform_out *out)
{
    memset(out, 0, sizeof(*out));
    hk_buf b = {0};
    bool changed = false;
    int lineno = 0;
    for (const char *p = text; *p;) {
        size_t n = line_len(p);
        const char *next = p + n + (p[n] == '\n');
        lineno++;
        const char *s = p;
        while (s < p + n && (*s == ' ' || *s == '\t'))
            s++;
        static const char dev[] = "/dev/disk/cloud/azure_resource";
        if ((size_t)(p + n - s) >= sizeof(dev) - 1 && strncmp(s, dev, sizeof(dev) - 1) == 0) {
            hk_buf_puts(&b, "# ");
            changed = true;
            if (!hk_xform_note(out, "line %d: Azure resource disk entry commented out", lineno))
                goto oom;
        }
        hk_buf_append(&b, p, (size_t)(next - p));
        p = next;
    }
    return hk_xform_finish(&b, changed, out);
oom:
    return hk_xform_fail(&b, out);
}
