/* Fuzz target: every network transform (src/fix/net_*.c), the scanner and the
 * file-name helper.  The first byte picks the policy; the rest is the config.
 * Each transform must also be idempotent on its own output. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

#include "fix/net_xform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const hk_nic_rename nics[] = {
    {"ens192", "enp1s0", "52:54:00:00:00:01"},
    {"eth0", "enp2s0", "52:54:00:00:00:02"},
    {"ens224", NULL, NULL},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t sel = data[0];
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    hk_net_policy p = {nics, (size_t)(sel & 3) % 4, (sel & 4) != 0};
    if (p.n > sizeof(nics) / sizeof(nics[0]))
        p.n = sizeof(nics) / sizeof(nics[0]);
    for (int f = 0; f < HK_NET_FMT_COUNT; f++) {
        hk_xform_out out = {0};
        if (hk_net_xform((hk_net_fmt)f, text, &p, &out) == 0 && out.text) {
            /* idempotence (the policy has no swaps) */
            hk_xform_out again = {0};
            if (hk_net_xform((hk_net_fmt)f, out.text, &p, &again) == 0 && again.text &&
                strcmp(again.text, out.text) != 0)
                abort();
            hk_xform_out_clear(&again);
        }
        hk_xform_out_clear(&out);
        hk_net_ref *refs = NULL;
        size_t n = 0;
        if (hk_net_scan((hk_net_fmt)f, text, &refs, &n) == 0)
            hk_net_refs_free(refs, n);
    }
    /* the text as a file name */
    if (size < 256) {
        char *nn = hk_net_file_rename(text, &p);
        free(nn);
    }
    free(text);
    return 0;
}
