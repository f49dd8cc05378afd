/*
 * The disk processor: one object per context that turns a source disk into
 * the output the pipeline wants (probe, validate, flatten, convert), mapping
 * the high-level h2k_process_options onto h2k_disk_convert().
 *
 * As the seed's DiskProcessor.process_disk(flatten=True), "flatten" asks for
 * one self-contained output: a chain or a multi-extent VMDK is flattened, and
 * a single image is converted as it is (every conversion flattens, so both
 * are h2k_disk_convert(); only h2k_disk_flatten() insists on a chain).
 */
#include <stddef.h>
#include <stdlib.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"
#include "hyper2kvm/h2k_guest.h"

HK_OPTS_LAYOUT(process_layout, h2k_process_options, offsetof(h2k_process_options, guest_identity),
               sizeof(h2k_process_options));

int
h2k_process_options_init(h2k_process_options *opts, unsigned version)
{
    static const h2k_process_options defaults = H2K_PROCESS_OPTIONS_INIT;
    return hk_opts_init(&process_layout, opts, version, &defaults);
}

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
h2k_disk_processor_process(const h2k_disk_processor *proc, const char *source_path,
                           const char *output_path, const h2k_process_options *opts,
                           h2k_convert_result **out)
{
    if (out)
        *out = NULL;
    if (!proc)
        return H2K_ERR_INVALID_ARG;
    static const h2k_process_options defaults = H2K_PROCESS_OPTIONS_INIT;
    h2k_process_options eff;
    int rc = hk_opts_import(proc->ctx, &process_layout, opts, &defaults, &eff);
    if (rc < 0)
        return rc;
    const h2k_process_options *po = &eff;
    h2k_convert_options co = H2K_CONVERT_OPTIONS_INIT;
    co.output_format = po->output_format == H2K_FORMAT_UNKNOWN ? H2K_FORMAT_QCOW2
                                                               : po->output_format;
    co.compress = po->compress;
    co.overwrite = po->overwrite;
    const h2k_guest_identity *gi = po->guest_identity;
    hk_debug(proc->ctx, "disk", "processing %s -> %s (%s%s%s%s)", source_path ? source_path : "?",
             output_path ? output_path : "?", po->flatten ? "flatten, " : "",
             h2k_disk_format_name(co.output_format), gi ? ", guest " : "",
             gi ? h2k_guest_type_name(gi->type) : "");
    return h2k_disk_convert(proc->ctx, source_path, output_path, &co, out);
}
