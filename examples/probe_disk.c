/*
 * Example: probe a disk image with libhyper2kvm and print what was found.
 *
 *   cc probe_disk.c $(pkg-config --cflags --libs hyper2kvm) -o probe_disk
 *   ./probe_disk disk.vmdk
 *   ./probe_disk --self-test      (probes a small raw file it creates)
 */
#define _DEFAULT_SOURCE /* mkstemp, ftruncate under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hyper2kvm.h>

static int
probe(const char *path)
{
    h2k_ctx *ctx = NULL;
    if (h2k_ctx_new(&ctx) < 0)
        return 1;
    h2k_disk_info *info = NULL;
    int rc = h2k_disk_probe(ctx, path, NULL, &info);
    if (rc < 0) {
        const h2k_error *e = h2k_ctx_last_error(ctx);
        fprintf(stderr, "probe failed [%s]: %s\n", h2k_code_name(rc), e->message);
        h2k_ctx_free(ctx);
        return 1;
    }
    printf("%s: %s (%s), %llu bytes virtual, %zu layer(s)\n", info->path,
           h2k_disk_format_name(info->format), info->subformat ? info->subformat : "-",
           (unsigned long long)info->virtual_size, info->n_layers);
    h2k_disk_info_free(info);
    h2k_ctx_free(ctx);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0) {
        char path[] = "/tmp/h2k-example-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
            return 1;
        close(fd);
        int r = probe(path);
        unlink(path);
        return r;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s DISK-IMAGE\n", argv[0]);
        return 2;
    }
    return probe(argv[1]);
}
