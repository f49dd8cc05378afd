/* Fuzz target: the VMDK prober (sparse headers, footer, descriptors) and the
 * pure descriptor parser on the same input. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#include "disk/vmdk_descriptor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_probe_as(data, size, H2K_FORMAT_VMDK);

    h2k_ctx *ctx = fuzz_ctx();
    if (!ctx)
        return 0;
    hk_vmdk_descriptor d;
    if (hk_vmdk_descriptor_parse(ctx, (const char *)data, size, "fuzz", 0, &d) == 0) {
        hk_vmdk_descriptor_validate(ctx, &d, "fuzz", 0, size & 1);
        hk_vmdk_descriptor_clear(&d);
    }
    h2k_ctx_free(ctx);
    return 0;
}
