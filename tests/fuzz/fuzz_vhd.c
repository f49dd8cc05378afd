/* Fuzz target: the VHD prober (footer, dynamic header, BAT, parent locators). */
#include "fuzz_common.h" /* first: it defines _GNU_SOURCE */

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_probe_as(data, size, H2K_FORMAT_VHD);
    return 0;
}
