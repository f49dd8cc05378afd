/*
 * Fuzz target: the VHDX prober.
 *
 * Each input is probed twice: as it is, and laid out as a sparse 3 MiB VHDX so that
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

#include "disk/vhd_util.h"

#define KiB 1024u
#define MiB (1024u * 1024u)
#define IMG_LEN (3u * MiB) /* sparse */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fix_crc(uint8_t *p, size_t len)
{
    memset(p + 4, 0, 4);
    uint32_t c = hk_vhdx_crc32c(0, p, len);
    p[4] = (uint8_t)c;
    p[5] = (uint8_t)(c >> 8);
    p[6] = (uint8_t)(c >> 16);
    p[7] = (uint8_t)(c >> 24);
}

/* Writes the non-zero parts of the expanded image to a sparse memfd. */
static int
expanded_memfd(const uint8_t *data, size_t size, char path[64])
{
    static uint8_t hdr[4 * KiB], reg[64 * KiB];
    struct {
        uint64_t at;
        size_t from, max;
    } parts[] = {{1 * MiB, 5 * KiB, 1 * KiB},
                 {1 * MiB + 64 * KiB, 6 * KiB, 1 * KiB},
                 {2 * MiB, 7 * KiB, 64 * KiB}};
    int fd = memfd_create("h2k-fuzz-vhdx", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, IMG_LEN) < 0 || pwrite(fd, "vhdxfile", 8, 0) != 8)
        goto fail;
    memset(hdr, 0, sizeof(hdr));
    memset(reg, 0, sizeof(reg));
    if (size > 0)
        memcpy(hdr, data, size < sizeof(hdr) ? size : sizeof(hdr));
    if (size > 4 * KiB)
        memcpy(reg, data + 4 * KiB, size - 4 * KiB < KiB ? size - 4 * KiB : KiB);
    fix_crc(hdr, sizeof(hdr));
    fix_crc(reg, sizeof(reg));
    if (pwrite(fd, hdr, sizeof(hdr), 64 * KiB) != (ssize_t)sizeof(hdr) ||
        pwrite(fd, hdr, sizeof(hdr), 128 * KiB) != (ssize_t)sizeof(hdr) ||
        pwrite(fd, reg, sizeof(reg), 192 * KiB) != (ssize_t)sizeof(reg) ||
        pwrite(fd, reg, sizeof(reg), 256 * KiB) != (ssize_t)sizeof(reg))
        goto fail;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (size <= parts[i].from)
            break;
        size_t n = size - parts[i].from < parts[i].max ? size - parts[i].from : parts[i].max;
        if (pwrite(fd, data + parts[i].from, n, (off_t)parts[i].at) != (ssize_t)n)
            goto fail;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
fail:
    close(fd);
    return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_probe_as(data, size, H2K_FORMAT_VHDX);

    char path[64];
    int fd = expanded_memfd(data, size, path);
    if (fd < 0)
        return 0;
    h2k_ctx *ctx = fuzz_ctx();
    h2k_probe_options o = H2K_PROBE_OPTIONS_INIT;
    o.format = H2K_FORMAT_VHDX;
    o.max_chain_depth = 4;
    h2k_disk_info *info = NULL;
    if (ctx && h2k_disk_probe(ctx, path, &o, &info) == 0) {
        free(h2k_disk_info_to_json(info));
        h2k_disk_info_free(info);
    }
    h2k_ctx_free(ctx);
    close(fd);
    return 0;
}
