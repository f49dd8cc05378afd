/* Fuzz target: fstab and crypttab transforms, device reference rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_xform_common.h"

#include "fix/fstab_xform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    if (!in)
        return 0;
    fuzz_xform_check(hk_fstab_xform, in, &fuzz_map1);
    fuzz_xform_check(hk_fstab_xform, in, &fuzz_map2);
    fuzz_xform_check(hk_crypttab_xform, in, &fuzz_map1);
    fuzz_xform_check(hk_fstab_xform, in, NULL);
    /* the first line as a device reference */
    char *nl = strchr(in, '\n');
    if (nl)
        *nl = '\0';
    (void)hk_devref_is_unstable(in);
    (void)hk_devmap_lookup(&fuzz_map1, in);
    (void)hk_devmap_lookup(&fuzz_map2, in);
    free(in);
    return 0;
}
