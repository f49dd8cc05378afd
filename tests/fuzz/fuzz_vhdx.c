/*
 * Fuzz target: the VHDX prober.
 *
 * Each input is probed twice: as it is (through h2k_disk_probe and a memory
 * file), and laid out in memory as a 3 MiB VHDX, probed by the VHDX prober
 * from that buffer (no file, no system call), so that
 * small inputs (seeds stay under 64 KiB) get past the CRC-protected headers
 * and reach the region, metadata, parent locator and BAT parsers:
 *   input [0, 4096)      header, copied to 64 KiB and 128 KiB, CRC-32C fixed
 *   input [4096, 5120)   region table, copied to 192 KiB and 256 KiB, CRC fixed
 *   input [5120, 6144)   metadata table at 1 MiB
 *   input [6144, 7168)   metadata items at 1 MiB + 64 KiB
 *   input [7168, ...)    BAT at 2 MiB (at most 64 KiB)
 */
#include "fuzz_common.h" /* first: it defines _GNU_SOURCE */

#include <stdlib.h>
#include <string.h>

#include "disk/probe_internal.h"
#include "disk/vhd_util.h"

#define KiB 1024u
#define MiB (1024u * 1024u)
#define IMG_LEN (3u * MiB)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * CRC-32C of a block whose bytes past @used are zero, without reading them: the
 * register after n zero bytes is a linear function of the register before, so
 * it is applied as 32 precomputed columns (one per register bit) per length.
 * Checksumming the 64 KiB region table byte by byte was most of an input's cost.
 */
typedef struct {
    size_t zeros;
    uint32_t col[32];
    int ready;
} zero_ext;

static uint32_t
crc_zero_padded(zero_ext *z, const uint8_t *p, size_t used, size_t len)
{
    static const uint8_t zero[4096];
    int fresh = 0;
    if (!z->ready || z->zeros != len - used) {
        fresh = 1;
        z->zeros = len - used;
        for (int b = 0; b < 32; b++) {
            /* hk_vhdx_crc32c(c, ...) works on the register ~c and returns ~register */
            uint32_t r = UINT32_C(1) << b;
            for (size_t left = z->zeros; left > 0;) {
                size_t n = left < sizeof(zero) ? left : sizeof(zero);
                r = ~hk_vhdx_crc32c(~r, zero, n);
                left -= n;
            }
            z->col[b] = r;
        }
        z->ready = 1;
    }
    uint32_t r = ~hk_vhdx_crc32c(0, p, used), out = 0;
    for (int b = 0; b < 32; b++)
        if (r & (UINT32_C(1) << b))
            out ^= z->col[b];
    if (fresh && ~out != hk_vhdx_crc32c(0, p, len))
        abort(); /* the shortcut must equal the plain checksum */
    return ~out;
}

static void
fix_crc(uint8_t *p, size_t used, size_t len)
{
    static zero_ext z4k, z64k;
    memset(p + 4, 0, 4);
    uint32_t c = crc_zero_padded(len == 4 * KiB ? &z4k : &z64k, p, used, len);
    p[4] = (uint8_t)c;
    p[5] = (uint8_t)(c >> 8);
    p[6] = (uint8_t)(c >> 16);
    p[7] = (uint8_t)(c >> 24);
}

/*
 * The expanded image, built in memory and handed to the VHDX prober as an
 * in-memory source (hk_src.mem): the prober reads it through hk_src_read(), as
 * it reads a file, without a file or a system call per input.  Only the areas
 * below are ever non-zero; each is cleared and refilled per input.
 */
static uint8_t img[IMG_LEN];

static void
expand(const uint8_t *data, size_t size)
{
    static const struct {
        size_t at, from, max;
    } parts[] = {{1 * MiB, 5 * KiB, 1 * KiB},
                 {1 * MiB + 64 * KiB, 6 * KiB, 1 * KiB},
                 {2 * MiB, 7 * KiB, 64 * KiB}};
    uint8_t *hdr = img + 64 * KiB, *reg = img + 192 * KiB;
    memcpy(img, "vhdxfile", 8);
    memset(hdr, 0, 4 * KiB);
    memset(reg, 0, 64 * KiB);
    if (size > 0)
        memcpy(hdr, data, size < 4 * KiB ? size : 4 * KiB);
    if (size > 4 * KiB)
        memcpy(reg, data + 4 * KiB, size - 4 * KiB < KiB ? size - 4 * KiB : KiB);
    fix_crc(hdr, 4 * KiB, 4 * KiB);
    fix_crc(reg, KiB, 64 * KiB); /* only the first KiB holds input */
    memcpy(img + 128 * KiB, hdr, 4 * KiB);
    memcpy(img + 256 * KiB, reg, 64 * KiB);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        memset(img + parts[i].at, 0, parts[i].max);
        if (size > parts[i].from) {
            size_t n = size - parts[i].from < parts[i].max ? size - parts[i].from : parts[i].max;
            memcpy(img + parts[i].at, data + parts[i].from, n);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_probe_as(data, size, H2K_FORMAT_VHDX);

    expand(data, size);
    h2k_ctx *ctx = fuzz_ctx();
    h2k_probe_options o = H2K_PROBE_OPTIONS_INIT;
    o.format = H2K_FORMAT_VHDX;
    o.max_chain_depth = 4;
    h2k_disk_layer layer;
    memset(&layer, 0, sizeof(layer));
    layer.format = H2K_FORMAT_VHDX;
    layer.path = strdup("/fuzz/expanded.vhdx");
    hk_src src = {-1, "/fuzz/expanded.vhdx", 0, IMG_LEN, NULL, img};
    if (ctx && layer.path)
        (void)hk_probe_vhdx(ctx, &src, &o, &layer);
    hk_disk_layer_clear(&layer);
    h2k_ctx_free(ctx);
    return 0;
}
