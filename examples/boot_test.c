/*
 * Example: prove that a converted image boots (qemu, virtio-blk and
 * virtio-net, an injected boot marker) and print its addresses.
 *
 *   cc boot_test.c $(pkg-config --cflags --libs hyper2kvm) -o boot_test
 *   ./boot_test disk.qcow2 [MAC]
 *   ./boot_test --self-test      (checks the option names; needs no VM)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hyper2kvm.h>

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0)
        return h2k_bus_from_name("virtio") == H2K_BUS_VIRTIO &&
                       strcmp(h2k_boot_proof_name(H2K_PROOF_MARKER), "marker") == 0
                   ? 0
                   : 1;
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s IMAGE [MAC]\n", argv[0]);
        return 2;
    }
    h2k_ctx *ctx = NULL;
    h2k_boot_result *res = NULL;
    if (h2k_ctx_new(&ctx) < 0)
        return 1;
    h2k_boot_test_options opts = H2K_BOOT_TEST_OPTIONS_INIT;
    opts.mac = argc == 3 ? argv[2] : NULL;
    int rc = h2k_qemu_test_run(ctx, argv[1], &opts, &res);
    if (rc == 0) {
        printf("booted in %.1f s (%s):", res->boot_seconds, res->accel);
        for (size_t i = 0; i < res->n_addresses; i++)
            printf(" %s", res->addresses[i]);
        printf("\n");
    } else {
        const h2k_error *e = h2k_ctx_last_error(ctx);
        fprintf(stderr, "boot test failed [%s]: %s\n", h2k_code_name(rc), e->message);
        if (e->console_tail)
            fprintf(stderr, "%s\n", e->console_tail);
    }
    h2k_boot_result_free(res);
    h2k_ctx_free(ctx);
    return rc < 0 ? 1 : 0;
}
