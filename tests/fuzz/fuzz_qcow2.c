/* Fuzz target: the qcow2 prober (header, extensions, tables, backing file). */
#include "fuzz_common.h" /* first: it defines _GNU_SOURCE */

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_probe_as(data, size, H2K_FORMAT_QCOW2);
    return 0;
}
