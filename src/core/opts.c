/*
 * Versions of the public options structs, handled in one way everywhere.
 *
 * Every options struct starts with "unsigned version" and only ever grows at
 * its end: version N is a prefix of version N+1.  A caller built against an
 * older header passes a smaller struct; the library reads exactly the bytes
 * that version has and keeps its defaults for the rest.  A version the library
 * does not know (0, or newer than the library) is refused, naming the struct.
 */
#include <string.h>

#include "core/internal.h"

static unsigned
opts_version(const void *opts)
{
    unsigned v;
    memcpy(&v, opts, sizeof(v));
    return v;
}

static int
unknown_version(h2k_ctx *ctx, const hk_opts_layout *l, unsigned v)
{
    if (l->n_versions == 1)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "%s: version %u is not known (only 1 is)",
                        l->name, v);
    return hk_error(ctx, H2K_ERR_INVALID_ARG, "%s: version %u is not known (1..%u are)", l->name, v,
                    l->n_versions);
}

int
hk_opts_import(h2k_ctx *ctx, const hk_opts_layout *l, const void *in, const void *defaults,
               void *out)
{
    size_t full = l->sizes[l->n_versions - 1];
    memcpy(out, defaults, full);
    if (in) {
        unsigned v = opts_version(in);
        if (v < 1 || v > l->n_versions)
            return unknown_version(ctx, l, v);
        memcpy(out, in, l->sizes[v - 1]);
    }
    unsigned cur = l->n_versions;
    memcpy(out, &cur, sizeof(cur));
    return 0;
}

int
hk_opts_init(const hk_opts_layout *l, void *opts, unsigned version, const void *defaults)
{
    if (!opts)
        return H2K_ERR_INVALID_ARG;
    if (version < 1 || version > l->n_versions) {
        /* only the version field is known to exist in the caller's struct:
         * set it, so that the call it is passed to names the version */
        memcpy(opts, &version, sizeof(version));
        return H2K_ERR_INVALID_ARG;
    }
    memcpy(opts, defaults, l->sizes[version - 1]);
    memcpy(opts, &version, sizeof(version));
    return 0;
}
