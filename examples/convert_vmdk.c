/*
 * Example: convert a local VMDK (any variant, snapshot chain flattened) to
 * qcow2 with the disk processor.
 *
 *   cc convert_vmdk.c $(pkg-config --cflags --libs hyper2kvm) -o convert_vmdk
 *   ./convert_vmdk disk.vmdk disk.qcow2
 *   ./convert_vmdk --self-test    (converts a small raw file it creates; needs qemu-img)
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hyper2kvm.h>

static void
on_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    (void)ud;
    if (total)
        fprintf(stderr, "\r%s: %3u%%", stage, (unsigned)(done * 100 / total));
}

static int
convert(const char *src, const char *dst, int quiet)
{
    h2k_ctx *ctx = NULL;
    h2k_disk_processor *proc = NULL;
    h2k_convert_result *res = NULL;
    if (h2k_ctx_new(&ctx) < 0)
        return 1;
    if (!quiet)
        h2k_ctx_set_progress(ctx, on_progress, NULL);
    h2k_process_options opts = H2K_PROCESS_OPTIONS_INIT;
    opts.compress = 1;
    int rc = h2k_disk_processor_new(ctx, &proc);
    if (rc == 0)
        rc = h2k_disk_processor_process(proc, src, dst, &opts, &res);
    if (!quiet)
        fputc('\n', stderr);
    if (rc < 0)
        fprintf(stderr, "conversion failed [%s]: %s\n", h2k_code_name(rc),
                h2k_ctx_last_error(ctx)->message);
    else
        printf("%s -> %s: %llu bytes virtual, %llu bytes written, %zu layer(s), %.1f s\n", src, dst,
               (unsigned long long)res->virtual_size, (unsigned long long)res->output_size,
               res->chain_length, res->duration_seconds);
    h2k_convert_result_free(res);
    h2k_disk_processor_free(proc);
    h2k_ctx_free(ctx);
    return rc < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0) {
        char dir[] = "/tmp/h2k-example-XXXXXX";
        if (!mkdtemp(dir))
            return 1;
        char src[64], dst[64];
        snprintf(src, sizeof(src), "%s/src.img", dir);
        snprintf(dst, sizeof(dst), "%s/dst.qcow2", dir);
        FILE *f = fopen(src, "wb");
        if (!f || fputs("hyper2kvm", f) < 0 || fseek(f, (1 << 20) - 1, SEEK_SET) != 0 ||
            fputc(0, f) == EOF || fclose(f) != 0)
            return 1;
        int r = convert(src, dst, 1);
        unlink(src);
        unlink(dst);
        rmdir(dir);
        return r;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOURCE.vmdk OUTPUT.qcow2\n", argv[0]);
        return 2;
    }
    return convert(argv[1], argv[2], 0);
}
