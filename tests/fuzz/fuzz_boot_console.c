/* Fuzz target: the boot tester's serial console scanner (guest output is untrusted). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boottest/boot_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* first byte: chunk size for the feeding, so line splits across reads are covered */
    size_t chunk = (size_t)data[0] + 1;
    data++;
    size--;
    for (int proof = H2K_PROOF_MARKER; proof <= H2K_PROOF_TEXT; proof++) {
        hk_console c;
        if (hk_console_init(&c, (h2k_boot_proof)proof, "0123456789abcdef", "H2K-UEFI-BOOTED") != 0)
            abort();
        hk_console_state prev = HK_CONSOLE_WAITING;
        for (size_t off = 0; off < size; off += chunk) {
            size_t n = size - off < chunk ? size - off : chunk;
            hk_console_state st = hk_console_feed(&c, (const char *)data + off, n);
            /* a pause after a chunk ending in an odd byte: the console went quiet */
            if (data[off + n - 1] & 1)
                st = hk_console_idle(&c);
            /* a verdict never changes once reached */
            if (prev != HK_CONSOLE_WAITING && st != prev)
                abort();
            prev = st;
        }
        if (c.state == HK_CONSOLE_PROVEN && !c.proof_line)
            abort();
        if (c.state == HK_CONSOLE_FAILED && (!c.failure || !c.failure_line))
            abort();
        if (c.n_addresses > 32)
            abort();
        char *tail = hk_console_tail(&c);
        if (!tail)
            abort();
        for (const char *p = tail; *p; p++)
            if ((unsigned char)*p < 0x20 && *p != '\n')
                abort(); /* control characters are removed */
        free(tail);
        hk_console_free(&c);
    }
    return 0;
}
