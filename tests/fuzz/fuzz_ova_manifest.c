/* Fuzz target: the OVF manifest (.mf) parser. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>
#include "disk/ova_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2k_ctx *ctx = fuzz_ctx();
    if (!ctx)
        return 0;
    hk_mf_entry *e = NULL;
    size_t n = 0;
    if (hk_mf_parse(ctx, (const char *)data, size, "fuzz.ova", "fuzz.mf", 0, &e, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            if (!e[i].name || strlen(e[i].digest) < 40)
                abort();
        hk_mf_entries_free(e, n);
    }
    h2k_ctx_free(ctx);
    return 0;
}
