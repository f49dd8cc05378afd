/*
 * Example: identify the operating system on a VM's disks (one libguestfs
 * appliance for all of them).
 *
 *   cc detect_guest.c $(pkg-config --cflags --libs hyper2kvm) -o detect_guest
 *   ./detect_guest disk1.vmdk [disk2.vmdk...]
 *   ./detect_guest --self-test    (detects a tiny unpacked root file system it creates)
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hyper2kvm.h>

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0) {
        /* cheap and real: detect a tiny unpacked root file system, no appliance */
        char dir[] = "/tmp/h2k-example-XXXXXX";
        char path[128];
        if (!mkdtemp(dir))
            return 1;
        snprintf(path, sizeof(path), "%s/etc", dir);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/etc/os-release", dir);
        FILE *f = fopen(path, "w");
        if (!f)
            return 1;
        fputs("ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n", f);
        fclose(f);
        h2k_ctx *ctx = NULL;
        h2k_guest_detector *det = NULL;
        h2k_guest_identity *id = NULL;
        int ok = h2k_ctx_new(&ctx) == 0 && h2k_guest_detector_new(ctx, &det) == 0 &&
                 h2k_guest_detect_dir(det, dir, &id) == 0 && id->os_id &&
                 strcmp(id->os_id, "debian") == 0;
        h2k_guest_identity_free(id);
        h2k_guest_detector_free(det);
        h2k_ctx_free(ctx);
        unlink(path);
        snprintf(path, sizeof(path), "%s/etc", dir);
        rmdir(path);
        rmdir(dir);
        return ok ? 0 : 1;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s DISK [DISK...]\n", argv[0]);
        return 2;
    }
    h2k_ctx *ctx = NULL;
    h2k_guest_detector *det = NULL;
    h2k_guest_identity *id = NULL;
    if (h2k_ctx_new(&ctx) < 0)
        return 1;
    int rc = h2k_guest_detector_new(ctx, &det);
    if (rc == 0)
        rc = h2k_guest_detect_image(det, (const char *const *)argv + 1, NULL, (size_t)(argc - 1),
                                    &id);
    if (rc < 0) {
        fprintf(stderr, "detection failed [%s]: %s\n", h2k_code_name(rc),
                h2k_ctx_last_error(ctx)->message);
    } else {
        printf("%s %s (%s), %s, firmware %s, %zu kernel(s)\n", h2k_guest_type_name(id->type),
               id->os_id ? id->os_id : "?", id->os_pretty ? id->os_pretty : "?",
               id->architecture ? id->architecture : "?", h2k_firmware_name(id->firmware),
               id->n_kernels);
    }
    h2k_guest_identity_free(id);
    h2k_guest_detector_free(det);
    h2k_ctx_free(ctx);
    return rc < 0 ? 1 : 0;
}
