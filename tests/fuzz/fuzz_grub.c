/* Fuzz target: /etc/default/grub, grub.cfg, BLS, grubenv and device.map transforms. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_xform_common.h"

#include "fix/grub_xform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
device_map(const char *in, const hk_devmap *map, hk_xform_out *out)
{
    (void)map;
    return hk_device_map_xform(in, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    if (!in)
        return 0;
    fuzz_xform_check(hk_grub_default_xform, in, &fuzz_map2);
    fuzz_xform_check(hk_grub_cfg_xform, in, &fuzz_map1);
    fuzz_xform_check(hk_bls_entry_xform, in, &fuzz_map2);
    fuzz_xform_check(device_map, in, NULL);

    /* grubenv: also check that a headed block keeps its size */
    hk_xform_out o = {0};
    if (hk_grubenv_xform(in, &fuzz_map1, &o) != 0)
        abort();
    if (o.text && strncmp(in, "# GRUB Environment Block", 24) == 0 && strlen(o.text) != strlen(in))
        abort();
    hk_xform_out_clear(&o);
    fuzz_xform_check(hk_grubenv_xform, in, &fuzz_map1);
    free(in);
    return 0;
}
