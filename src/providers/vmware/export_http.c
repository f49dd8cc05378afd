/*
 * The "http" export of a vSphere VM: its disks fetched from the datastore
 * file service (/folder), descriptors first, then their extents and parents.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "disk/vmdk_descriptor.h"
#include "core/util.h"
#include "providers/vmware/export_internal.h"
#include "providers/vmware/vmw_internal.h"

#define DESCRIPTOR_MAX (64u * 1024u)
#define MAX_PARENTS 32

/* Fetches descriptor @name in datastore folder @dir and queues its extents and
 * parents; the descriptor is written to @local_dir. */
static int
http_descriptor(h2k_vmware_client *c, const char *dc, const char *ds, const char *dir,
                const char *name, const char *local_dir, hk_vmw_dl_list *l, int depth,
                char **local_out)
{
    h2k_ctx *ctx = c->ctx;
    char *rel = *dir ? hk_asprintf("%s/%s", dir, name) : strdup(name);
    char *url = rel ? hk_vmw_folder_url(c, dc, ds, rel) : NULL;
    char *local = hk_path_join(local_dir, name);
    char *text = NULL;
    size_t len = 0;
    int rc = 0;
    hk_vmdk_descriptor d = {0};
    if (!rel || !url || !local) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    rc = hk_vmw_fetch_small(c, url, DESCRIPTOR_MAX, &text, &len);
    if (rc == H2K_ERR_FORMAT) {
        /* too large for a descriptor: a self-contained (sparse) disk */
        h2k_ctx_clear_error(ctx);
        rc = hk_vmw_dl_add(ctx, l, url, local, true);
        url = local = NULL;
        if (rc == 0 && local_out)
            *local_out = strdup(l->v[l->n - 1].path);
        goto out;
    }
    if (rc < 0)
        goto out;
    if (len >= 4 && (memcmp(text, "KDMV", 4) == 0 || memcmp(text, "COWD", 4) == 0)) {
        rc = hk_write_file_atomic(ctx, local, text, len, 0, NULL); /* a small sparse disk */
        goto done;
    }
    if (len == 0) {
        rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: [%s] %s: the disk descriptor is empty", c->host, ds,
                      rel);
        goto out;
    }
    char label[512];
    snprintf(label, sizeof(label), "%s: [%s] %s", c->host, ds, rel);
    if ((rc = hk_vmdk_descriptor_parse(ctx, text, len, label, 0, &d)) < 0 ||
        (rc = hk_vmdk_descriptor_validate(ctx, &d, label, 0, false)) < 0)
        goto out;
    for (size_t i = 0; i < d.n_extents; i++) {
        const char *f = d.extents[i].file;
        if (!f)
            continue; /* ZERO extent */
        if (!hk_vmw_plain_name(f)) {
            rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, label, (int64_t)d.extents[i].text_offset,
                             "extent", "extent file \"%s\" is not in the descriptor's folder", f);
            goto out;
        }
        char *erel = *dir ? hk_asprintf("%s/%s", dir, f) : strdup(f);
        char *eurl = erel ? hk_vmw_folder_url(c, dc, ds, erel) : NULL;
        free(erel);
        if ((rc = hk_vmw_dl_add(ctx, l, eurl, hk_path_join(local_dir, f), true)) < 0)
            goto out;
    }
    if (d.parent_hint) {
        if (!hk_vmw_plain_name(d.parent_hint)) {
            rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, label, -1, "parentFileNameHint",
                             "parent disk \"%s\" is not in the same folder", d.parent_hint);
            goto out;
        }
        if (depth >= MAX_PARENTS) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, label, -1, "parentFileNameHint",
                             "snapshot chain longer than %d disks", MAX_PARENTS);
            goto out;
        }
        if ((rc = http_descriptor(c, dc, ds, dir, d.parent_hint, local_dir, l, depth + 1, NULL)) <
            0)
            goto out;
    }
    rc = hk_write_file_atomic(ctx, local, text, len, 0, NULL);
done:
    if (rc == 0 && local_out && !(*local_out = strdup(local)))
        rc = hk_error_nomem(ctx);
out:
    hk_vmdk_descriptor_clear(&d);
    free(text);
    free(rel);
    free(url);
    free(local);
    return rc;
}

int
hk_vmw_export_http(h2k_vmware_client *c, hk_vmw_vm *vm, const char *out_dir, char **paths,
                   h2k_vmware_export_result *res)
{
    h2k_ctx *ctx = c->ctx;
    h2k_vm_spec *s = vm->spec;
    char *dc = NULL;
    int rc = hk_vmw_datacenter_of(c, vm->moref, &dc);
    if (rc < 0)
        return rc;
    hk_vmw_dl_list l = {0};
    for (size_t i = 0; rc == 0 && i < s->n_disks; i++) {
        const char *ref = s->disks[i].file_ref;
        char *ds = NULL, *p = NULL;
        if (!ref || hk_vmw_split_ds_path(ref, &ds, &p) < 0) {
            rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: disk %zu of %s has no datastore path (%s)",
                          c->host, i + 1, s->name, ref ? ref : "none");
            break;
        }
        char *dir = hk_dirname(p);
        const char *name = hk_vmw_base_name(p);
        /* two disks with the same file name go into their own sub-folders */
        bool clash = false;
        for (size_t j = 0; j < i; j++)
            clash |= strcmp(hk_vmw_base_name(paths[j]), name) == 0;
        char *local_dir = NULL;
        if (clash)
            local_dir = hk_asprintf("%s/disk%zu", out_dir, i + 1);
        else
            local_dir = strdup(out_dir);
        if (!dir || !local_dir)
            rc = hk_error_nomem(ctx);
        else if (!hk_vmw_plain_name(name)) {
            char *sr = hk_str_safe(ref);
            rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: disk file name \"%s\" is not usable", c->host,
                          sr ? sr : "?");
            free(sr);
        } else if ((rc = hk_vmw_mkdir_p(ctx, local_dir)) == 0)
            rc = http_descriptor(c, dc, ds, strcmp(dir, ".") == 0 ? "" : dir, name, local_dir, &l,
                                 0, &paths[i]);
        free(local_dir);
        free(dir);
        free(ds);
        free(p);
    }
    if (rc == 0)
        rc = hk_vmw_download(c, l.v, l.n, NULL, NULL);
    for (size_t i = 0; i < l.n; i++) {
        res->bytes_downloaded += l.v[i].received;
        res->bytes_resumed += l.v[i].resumed;
    }
    hk_vmw_dl_free(&l);
    free(dc);
    return rc;
}
