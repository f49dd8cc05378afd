/*
 * Example: a full migration of one VM with the orchestrator: probe, overlays,
 * offline repairs, copy, libvirt XML, optional boot test, report.
 *
 *   cc migrate_vm.c $(pkg-config --cflags --libs hyper2kvm) -o migrate_vm
 *   ./migrate_vm OUTPUT_DIR INPUT [INPUT...]     (.vmdk, .vhdx, .ova, .ovf, .vmx, ...)
 *   ./migrate_vm --self-test    (migrates a small blank disk it creates, without
 *                                repairs; needs qemu-img)
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hyper2kvm.h>

static int
migrate(const char *out_dir, const char *const *inputs, size_t n, unsigned fixes, int quiet)
{
    h2k_ctx *ctx = NULL;
    h2k_migration_result *res = NULL;
    if (h2k_ctx_new(&ctx) < 0)
        return 1;
    h2k_run_options opts = H2K_RUN_OPTIONS_INIT;
    opts.inputs = inputs;
    opts.n_inputs = n;
    opts.output_dir = out_dir;
    opts.fixes = fixes;
    opts.compress = 1;
    int rc = h2k_orchestrator_run(ctx, &opts, &res);
    if (rc < 0) {
        const h2k_error *e = h2k_ctx_last_error(ctx);
        fprintf(stderr, "migration failed at %s [%s]: %s\n", e->stage ? e->stage : "?",
                h2k_code_name(rc), e->message);
    } else if (!quiet) {
        char *md = h2k_migration_result_to_markdown(res);
        if (md)
            fputs(md, stdout);
        free(md);
    }
    h2k_migration_result_free(res);
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
        char src[64], out[64], cmd[256];
        snprintf(src, sizeof(src), "%s/blank.img", dir);
        snprintf(out, sizeof(out), "%s/out", dir);
        FILE *f = fopen(src, "wb");
        if (!f || fseek(f, (1 << 20) - 1, SEEK_SET) != 0 || fputc(0, f) == EOF || fclose(f))
            return 1;
        const char *inputs[] = {src};
        int r = migrate(out, inputs, 1, 0, 1);
        snprintf(out, sizeof(out), "%s/out/blank-disk1.qcow2", dir);
        if (r == 0 && access(out, R_OK) != 0)
            r = 1;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            r = 1;
        return r;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: %s OUTPUT_DIR INPUT [INPUT...]\n", argv[0]);
        return 2;
    }
    return migrate(argv[1], (const char *const *)argv + 2, (size_t)(argc - 2), H2K_FIX_ALL, 0);
}
