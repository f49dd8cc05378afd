/* vmdk probe: not yet written. */
#include "probe_internal.h"

int
hk_probe_vmdk(h2k_ctx *ctx, const hk_src *src, const h2k_probe_options *opts,
            h2k_disk_layer *layer)
{
    (void)opts;
    (void)layer;
    return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, -1, NULL, "vmdk probe not implemented");
}
