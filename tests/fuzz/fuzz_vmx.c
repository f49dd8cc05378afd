/* Fuzz target: the VMX reader (h2k_vmx_parse_memory) and the spec's JSON form. */
#include "fuzz_common.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2k_ctx *ctx = fuzz_ctx();
    if (!ctx)
        return 0;
    h2k_vm_spec *spec = NULL;
    if (h2k_vmx_parse_memory(ctx, (const char *)data, size, "/pkg", "fuzz.vmx", &spec) == 0) {
        char *j = h2k_vm_spec_to_json(spec);
        free(j);
        h2k_vm_spec_free(spec);
    }
    h2k_ctx_free(ctx);
    return 0;
}
