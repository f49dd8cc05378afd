/* Fuzz target: format detection and every prober behind h2k_disk_probe(). */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_probe_as(data, size, H2K_FORMAT_UNKNOWN);
    return 0;
}
