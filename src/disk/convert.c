/* Conversion with qemu-img: not yet written. */
#include <stdlib.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"

void h2k_convert_result_free(h2k_convert_result *res) { free(res); }
int h2k_disk_convert(h2k_ctx *ctx, const char *src, const char *dst, const h2k_convert_options *opts, h2k_convert_result **out)
{ (void)src, (void)dst, (void)opts; if (out) *out = NULL; return hk_error(ctx, H2K_ERR_UNSUPPORTED, "not implemented"); }
int h2k_disk_flatten(h2k_ctx *ctx, const char *src, const char *dst, const h2k_convert_options *opts, h2k_convert_result **out)
{ (void)src, (void)dst, (void)opts; if (out) *out = NULL; return hk_error(ctx, H2K_ERR_UNSUPPORTED, "not implemented"); }
int h2k_disk_processor_new(h2k_ctx *ctx, h2k_disk_processor **out) { *out = NULL; return hk_error(ctx, H2K_ERR_UNSUPPORTED, "not implemented"); }
void h2k_disk_processor_free(h2k_disk_processor *proc) { (void)proc; }
int h2k_disk_processor_process(h2k_disk_processor *proc, const char *source_path, const char *output_path, const h2k_process_options *opts, h2k_convert_result **out)
{ (void)proc, (void)source_path, (void)output_path, (void)opts; if (out) *out = NULL; return H2K_ERR_UNSUPPORTED; }
