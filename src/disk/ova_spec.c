/*
 * The VM spec of an OVA: its .ovf parsed, each disk matched to the member
 * that holds it (read in place when stored uncompressed).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "ova_internal.h"

/* ------------------------------------------------------------------ spec */

/* Parses the OVA's .ovf; *ovf_idx gets its member index.  The disks are
 * matched to members: @disk_member[i] (allocated, caller frees) is the member
 * of disk i or SIZE_MAX for a disk with no file.  A file named but absent is
 * H2K_ERR_FORMAT. */
int
hk_ova_load_spec(h2k_ctx *ctx, const h2k_ova *ova, h2k_vm_spec **out, size_t **disk_member)
{
    *out = NULL;
    *disk_member = NULL;
    size_t ovf = SIZE_MAX, count = 0;
    for (size_t i = 0; i < ova->n; i++)
        if (hk_endswith_nocase(ova->members[i].name, ".ovf")) {
            if (ovf == SIZE_MAX)
                ovf = i;
            count++;
        }
    if (ovf == SIZE_MAX)
        return hk_error_at(ctx, H2K_ERR_FORMAT, ova->path, -1, "ovf",
                           "the OVA holds no .ovf descriptor");
    if (count > 1)
        hk_warn(ctx, HK_OVA_DOMAIN, "%s: %zu .ovf descriptors; using the first, %s", ova->path,
                count, ova->members[ovf].name);
    char *xml = NULL, *label = NULL, *dir = NULL;
    h2k_vm_spec *spec = NULL;
    size_t *dm = NULL;
    int rc = hk_ova_read_small_member(ctx, ova, ovf, HK_OVA_MAX_OVF_SIZE, &xml);
    if (rc < 0)
        return rc;
    label = hk_asprintf("%s:%s", ova->path, ova->members[ovf].name);
    dir = hk_ova_member_dir(ova->members[ovf].name);
    if (!label || !dir) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    if ((rc = h2k_ovf_parse_memory(ctx, xml, (size_t)ova->members[ovf].size, NULL, label, &spec)) <
        0)
        goto out;
    if (!spec) {
        rc = hk_error(ctx, H2K_ERR_GENERIC, "%s: the OVF parser returned no spec", label);
        goto out;
    }
    dm = calloc(spec->n_disks ? spec->n_disks : 1, sizeof(*dm));
    if (!dm) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    for (size_t d = 0; d < spec->n_disks; d++) {
        h2k_vm_disk *disk = &spec->disks[d];
        dm[d] = SIZE_MAX;
        const char *ref = disk->file_ref && *disk->file_ref ? disk->file_ref : disk->path;
        if (!ref || !*ref)
            continue; /* a disk created empty, with no file */
        size_t idx = hk_ova_resolve_ref(ova, dir, ref);
        if (idx == SIZE_MAX && disk->path && disk->path != ref)
            idx = hk_ova_resolve_ref(ova, dir, disk->path);
        if (idx == SIZE_MAX) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, ova->path, -1, "ovf",
                             "%s: disk %zu names the file %s, which is not in the OVA", label, d,
                             ref);
            goto out;
        }
        dm[d] = idx;
    }
    free(spec->source_type);
    free(spec->source_path);
    spec->source_type = strdup("ova");
    spec->source_path = strdup(ova->path);
    if (!spec->source_type || !spec->source_path) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    *out = spec;
    *disk_member = dm;
    spec = NULL;
    dm = NULL;
out:
    h2k_vm_spec_free(spec);
    free(dm);
    free(dir);
    free(label);
    free(xml);
    return rc;
}

bool
hk_ova_disk_uncompressed(const h2k_vm_disk *d)
{
    return !d->compression || !*d->compression || hk_streq_nocase(d->compression, "identity");
}

void
hk_ova_disk_set_path(h2k_vm_disk *d, char *path)
{
    free(d->path);
    d->path = path;
    free(d->container_path);
    d->container_path = NULL;
    d->container_offset = 0;
    d->container_size = 0;
}

int
h2k_ova_read_spec(h2k_ctx *ctx, const h2k_ova *ova, h2k_vm_spec **out)
{
    if (out)
        *out = NULL;
    if (!ctx || !ova || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_ova_read_spec: NULL argument");
    h2k_vm_spec *spec = NULL;
    size_t *dm = NULL;
    int rc = hk_ova_load_spec(ctx, ova, &spec, &dm);
    if (rc < 0)
        return rc;
    for (size_t d = 0; d < spec->n_disks; d++) {
        if (dm[d] == SIZE_MAX)
            continue;
        h2k_vm_disk *disk = &spec->disks[d];
        const h2k_ova_member *m = &ova->members[dm[d]];
        char *p = strdup(m->name);
        if (!p) {
            rc = hk_error_nomem(ctx);
            goto out;
        }
        hk_ova_disk_set_path(disk, p);
        if (hk_ova_disk_uncompressed(disk)) {
            if (!(disk->container_path = strdup(ova->path))) {
                rc = hk_error_nomem(ctx);
                goto out;
            }
            disk->container_offset = m->offset;
            disk->container_size = m->size;
        }
    }
    *out = spec;
    spec = NULL;
out:
    h2k_vm_spec_free(spec);
    free(dm);
    return rc;
}
