/* Fuzz target: the OVA reader (tar index, member lookup, manifest, OVF spec). */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_memfd(data, size, path);
    if (fd < 0)
        return 0;
    h2k_ctx *ctx = fuzz_ctx();
    h2k_ova *ova = NULL;
    if (ctx && h2k_ova_open(ctx, path, &ova) == 0) {
        size_t n = h2k_ova_member_count(ova);
        for (size_t i = 0; i < n; i++) {
            const h2k_ova_member *m = h2k_ova_member_at(ova, i);
            const h2k_ova_member *f = h2k_ova_find(ova, m->name);
            if (!f || strcmp(f->name, m->name) != 0 || m->offset + m->size > size)
                abort();
        }
        if (h2k_ova_member_at(ova, n) != NULL)
            abort();
        (void)h2k_ova_verify_manifest(ctx, ova);
        h2k_vm_spec *spec = NULL;
        if (h2k_ova_read_spec(ctx, ova, &spec) == 0) {
            char *j = h2k_vm_spec_to_json(spec);
            free(j);
            h2k_vm_spec_free(spec);
        }
        h2k_ova_free(ova);
    }
    h2k_ctx_free(ctx);
    close(fd);
    return 0;
}
