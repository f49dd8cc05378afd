/*
 * The disk processor: one object per context that turns a source disk into
 * the output the pipeline wants (probe, validate, flatten, convert), mapping
 * the high-level h2k_process_options onto h2k_disk_convert()/h2k_disk_flatten().
 */
#include <stdlib.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"

struct h2k_disk_processor {
    h2k_ctx *ctx; /* borrowed: must outlive the processor */
};

int
h2k_disk_processor_new(h2k_ctx *ctx, h2k_disk_processor **out)
{
    if (!out)
        return ctx ? hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_disk_processor_new: NULL out")
                   : H2K_ERR_INVALID_ARG;
    *out = NULL;
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    h2k_disk_processor *p = calloc(1, sizeof(*p));
    if (!p)
        return hk_error_nomem(ctx);
    p->ctx = ctx;
    *out = p;
    return 0;
}

void
h2k_disk_processor_free(h2k_disk_processor *proc)
{
    free(proc);
}

int
h2k_disk_processor_process(h2k_disk_processor *proc, const char *source_path,
                           const char *output_path, const h2k_process_options *opts,
                           h2k_convert_result **out)
{
    if (out)
        *out = NULL;
    if (!proc)
        return H2K_ERR_INVALID_ARG;
    h2k_process_options defaults = H2K_PROCESS_OPTIONS_INIT;
    const h2k_process_options *po = opts ? opts : &defaults;
    if (po->version != H2K_PROCESS_OPTIONS_VERSION)
        return hk_error(proc->ctx, H2K_ERR_INVALID_ARG,
                        "h2k_process_options: version %u, expected %u (use "
                        "H2K_PROCESS_OPTIONS_INIT)",
                        po->version, H2K_PROCESS_OPTIONS_VERSION);
    h2k_convert_options co = H2K_CONVERT_OPTIONS_INIT;
    co.output_format =
        po->output_format == H2K_FORMAT_UNKNOWN ? H2K_FORMAT_QCOW2 : po->output_format;
    co.compress = po->compress;
    co.overwrite = po->overwrite;
    hk_debug(proc->ctx, "disk", "processing %s -> %s (%s%s)", source_path ? source_path : "?",
             output_path ? output_path : "?", po->flatten ? "flatten, " : "",
             h2k_disk_format_name(co.output_format));
    return po->flatten ? h2k_disk_flatten(proc->ctx, source_path, output_path, &co, out)
                       : h2k_disk_convert(proc->ctx, source_path, output_path, &co, out);
}
