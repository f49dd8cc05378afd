/* Fuzz target: batch plans in YAML (h2k_plan_parse_yaml: libyaml events to a
 * json-c tree, scalar typing, aliases under a bound, then the plan checks). */
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
    if (h2k_plan_parse_yaml(ctx, (const char *)data, size, "/base", "fuzz.yaml", &plan) == 0)
        h2k_plan_free(plan);
    h2k_ctx_free(ctx);
    return 0;
}
