/* Fuzz target: batch plans (h2k_plan_parse) and the state file reader. */
#include "fuzz_common.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2k_ctx *ctx = fuzz_ctx();
    if (!ctx)
        return 0;
    h2k_plan *plan = NULL;
    if (h2k_plan_parse(ctx, (const char *)data, size, "/base", "fuzz.json", &plan) == 0)
        h2k_plan_free(plan);
    char path[64];
    int fd = fuzz_memfd(data, size, path);
    if (fd >= 0) {
        h2k_batch_state *st = NULL;
        if (h2k_batch_state_load(ctx, path, &st) == 0)
            h2k_batch_state_free(st);
        close(fd);
    }
    h2k_ctx_free(ctx);
    return 0;
}
