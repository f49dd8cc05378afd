/* Fuzz target: a guest's fstab resolved to the appliance's devices
 * (guest/fstab_mounts.c), which decides what is mounted without inspection. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_xform_common.h"

#include "guest/fstab_mounts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const hk_dev btrfs_devs[] = {
    {"/dev/sda1", 0, 1, "0b6e4a52-9c1d-4f0e-8a3b-2d7c5e1f9a01", "boot", "ext4", NULL},
    {"/dev/sda2", 0, 2, "5555", NULL, "btrfs", NULL},
    {"btrfsvol:/dev/sda2/@", -1, 0, "5555", NULL, "btrfs", NULL},
    {"btrfsvol:/dev/sda2/@home", -1, 0, "5555", NULL, "btrfs", NULL},
    {"/dev/vg-x/lv", -1, 0, "a0b1", "da ta", "xfs", NULL},
};
static const hk_devmap btrfs_map = {btrfs_devs, sizeof(btrfs_devs) / sizeof(btrfs_devs[0]), 1};

static void
check(const char *in, const hk_devmap *map)
{
    hk_fstab_mounts m = {0};
    if (hk_fstab_mounts_resolve(in, map, &m) != 0)
        abort(); /* only allocation failure may fail */
    if (m.unresolved && (m.n || m.mountpoint || m.mountable))
        abort(); /* nothing half-resolved */
    for (size_t i = 0; i < m.n; i++) {
        if (m.mountpoint[i][0] != '/' || !m.mountable[i])
            abort();
        const char *dev = hk_mountable_device(map, m.mountable[i]);
        bool known = false;
        for (size_t d = 0; d < map->n; d++)
            known = known || strcmp(map->devs[d].device, dev) == 0;
        if (!known)
            abort(); /* a mount of something the appliance does not have */
    }
    hk_fstab_mounts_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    if (!in)
        return 0;
    check(in, &fuzz_map1);
    check(in, &btrfs_map);
    free(in);
    return 0;
}
