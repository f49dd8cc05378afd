/*
 * Helpers for the fuzz targets: most parsers read files, so the input is
 * written to an anonymous memory file and handed over as /proc/self/fd/N.
 */
#ifndef H2K_FUZZ_COMMON_H
#define H2K_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hyper2kvm.h>

/* Writes @data to a fresh memfd; returns its fd (caller closes) and the path in @path. */
static inline int
fuzz_memfd(const uint8_t *data, size_t size, char path[64])
{
    int fd = memfd_create("h2k-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

/* A context that logs nothing. */
static inline h2k_ctx *
fuzz_ctx(void)
{
    h2k_ctx *ctx = NULL;
    if (h2k_ctx_new(&ctx) < 0)
        return NULL;
    return ctx;
}

/* Probes @data as @fmt (UNKNOWN = detect), exercising the JSON writer too. */
static inline void
fuzz_probe_as(const uint8_t *data, size_t size, h2k_disk_format fmt)
{
    char path[64];
    int fd = fuzz_memfd(data, size, path);
    if (fd < 0)
        return;
    h2k_ctx *ctx = fuzz_ctx();
    h2k_probe_options o = H2K_PROBE_OPTIONS_INIT;
    o.format = fmt;
    o.max_chain_depth = 4;
    h2k_disk_info *info = NULL;
    if (ctx && h2k_disk_probe(ctx, path, &o, &info) == 0) {
        char *j = h2k_disk_info_to_json(info);
        free(j);
        h2k_disk_info_free(info);
    }
    h2k_ctx_free(ctx);
    close(fd);
}

#endif
