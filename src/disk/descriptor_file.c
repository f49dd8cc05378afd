/* Reading a VM descriptor file (OVF, VMX) into a spec. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor_file.h"

int
hk_descriptor_parse_file(h2k_ctx *ctx, const char *path, size_t max_size,
                         hk_descriptor_parse_fn parse, const char *api, h2k_vm_spec **out)
{
    if (!out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "%s: out is NULL", api);
    *out = NULL;
    if (!ctx || !path)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "%s: NULL argument", api);
    char *text = NULL, *abs = NULL, *dir = NULL;
    size_t len = 0;
    int rc = hk_read_file(ctx, path, max_size, &text, &len);
    if (rc < 0)
        return rc;
    abs = hk_abspath(path);
    dir = abs ? hk_dirname(abs) : NULL;
    if (!dir) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    rc = parse(ctx, text, len, dir, path, out);
    if (rc == 0 && !((*out)->source_path = strdup(path))) {
        h2k_vm_spec_free(*out);
        *out = NULL;
        rc = hk_error_nomem(ctx);
    }
done:
    free(text);
    free(abs);
    free(dir);
    return rc;
}

char *
hk_descriptor_lower_dup(const char *s)
{
    char *r = strdup(s);
    if (r)
        for (char *p = r; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return r;
}

char *
hk_descriptor_mac(const char *s)
{
    if (strlen(s) != 17)
        return NULL;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (s[i] != ':' && s[i] != '-')
                return NULL;
        } else if (!isxdigit((unsigned char)s[i])) {
            return NULL;
        }
    }
    char *r = hk_descriptor_lower_dup(s);
    if (r)
        for (int i = 2; i < 17; i += 3)
            r[i] = ':';
    return r;
}
