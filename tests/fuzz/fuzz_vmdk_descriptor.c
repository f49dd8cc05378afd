/* Fuzz target: the pure VMDK metadata parsers (descriptor text, and the
 * KDMV / COWD / seSparse header checks on the first bytes). */
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
    h2k_ctx *ctx = fuzz_ctx();
    if (!ctx)
        return 0;
    hk_vmdk_descriptor d;
    if (hk_vmdk_descriptor_parse(ctx, (const char *)data, size, "fuzz", 512, &d) == 0) {
        hk_vmdk_descriptor_validate(ctx, &d, "fuzz", 512, false);
        hk_vmdk_descriptor_validate(ctx, &d, "fuzz", 512, true);
        (void)hk_vmdk_descriptor_ddb(&d, "ddb.adapterType");
        hk_vmdk_descriptor_clear(&d);
    }
    uint8_t b[512] = {0};
    memcpy(b, data, size < sizeof(b) ? size : sizeof(b));
    hk_vmdk_sparse_header h;
    hk_vmdk_sparse_header_decode(b, &h);
    uint64_t image = size >= 8 ? ((uint64_t)data[size - 1] << 32) | data[size - 2] << 8 : size;
    if (hk_vmdk_sparse_header_check(ctx, &h, image, "fuzz", 0, size & 1) == 0)
        (void)hk_vmdk_sparse_gd_entries(&h);
    hk_vmdk_cowd_header c;
    hk_vmdk_cowd_header_decode(b, &c);
    hk_vmdk_cowd_header_check(ctx, &c, image, "fuzz", 0);
    hk_vmdk_sesparse_header s;
    hk_vmdk_sesparse_header_decode(b, &s);
    hk_vmdk_sesparse_header_check(ctx, &s, "fuzz", 0);
    h2k_ctx_free(ctx);
    return 0;
}
