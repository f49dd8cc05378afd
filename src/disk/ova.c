/* OVA reader: not yet written. */
#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"

int
h2k_ova_open(h2k_ctx *ctx, const char *path, h2k_ova **out)
{
    (void)path;
    *out = NULL;
    return hk_error(ctx, H2K_ERR_UNSUPPORTED, "OVA reader not implemented");
}
void h2k_ova_free(h2k_ova *ova) { (void)ova; }
size_t h2k_ova_member_count(const h2k_ova *ova) { (void)ova; return 0; }
const h2k_ova_member *h2k_ova_member_at(const h2k_ova *ova, size_t i) { (void)ova, (void)i; return NULL; }
const h2k_ova_member *h2k_ova_find(const h2k_ova *ova, const char *name) { (void)ova, (void)name; return NULL; }
int h2k_ova_verify_manifest(h2k_ctx *ctx, h2k_ova *ova) { (void)ova; return hk_error(ctx, H2K_ERR_UNSUPPORTED, "not implemented"); }
int h2k_ova_read_spec(h2k_ctx *ctx, h2k_ova *ova, h2k_vm_spec **out) { (void)ova; *out = NULL; return hk_error(ctx, H2K_ERR_UNSUPPORTED, "not implemented"); }
int h2k_ova_extract(h2k_ctx *ctx, h2k_ova *ova, const char *output_dir, const h2k_ova_extract_options *opts, h2k_vm_spec **spec_out)
{ (void)ova, (void)output_dir, (void)opts; if (spec_out) *spec_out = NULL; return hk_error(ctx, H2K_ERR_UNSUPPORTED, "not implemented"); }
