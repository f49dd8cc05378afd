/* VMX reader: not yet written. */
#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"

int
h2k_vmx_parse_file(h2k_ctx *ctx, const char *path, h2k_vm_spec **out)
{
    (void)path;
    *out = NULL;
    return hk_error(ctx, H2K_ERR_UNSUPPORTED, "VMX reader not implemented");
}

int
h2k_vmx_parse_memory(h2k_ctx *ctx, const char *text, size_t len, const char *base_dir,
                     const char *name_for_errors, h2k_vm_spec **out)
{
    (void)text, (void)len, (void)base_dir, (void)name_for_errors;
    *out = NULL;
    return hk_error(ctx, H2K_ERR_UNSUPPORTED, "VMX reader not implemented");
}
