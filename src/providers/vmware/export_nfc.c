/*
 * The "nfc" export of a vSphere VM: VirtualMachine.ExportVm and its
 * HttpNfcLease (state, info, progress, manifest, complete, abort).
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

/* ------------------------------------------------------------ nfc */

typedef struct lease_state {
    h2k_vmware_client *c;
    char *state;
    char *err;
    hk_vmw_device_url *urls;
    size_t n_urls;
    bool want_info;
    int rc;
} lease_state;

static int
lease_cb(void *ud, const xmlNode *obj)
{
    lease_state *l = ud;
    bool oom = false;
    free(l->state);
    l->state = hk_vmw_text(hk_vmw_obj_prop(obj, "state"), &oom);
    xmlNodePtr err = hk_vmw_obj_prop(obj, "error");
    if (err) {
        free(l->err);
        l->err = hk_vmw_child_text(err, "localizedMessage", &oom);
    }
    if (oom)
        return hk_error_nomem(l->c->ctx);
    xmlNodePtr info = hk_vmw_obj_prop(obj, "info");
    if (l->want_info && info && !l->urls)
        return hk_vmw_parse_lease_info(l->c->ctx, l->c->host, info, &l->urls, &l->n_urls);
    return 0;
}

static int
lease_call(h2k_vmware_client *c, const char *method, const char *lease, const char *args,
           hk_vmw_response *keep)
{
    hk_vmw_response r = {0};
    int rc = hk_vmw_call(c, method, "HttpNfcLease", lease, args, &r);
    if (rc == 0 && keep)
        *keep = r;
    else
        hk_vmw_response_clear(&r);
    return rc;
}

typedef struct nfc_tick {
    h2k_vmware_client *c;
    const char *lease;
    double last;
} nfc_tick;

static int
nfc_progress(void *ud, uint64_t done, uint64_t total)
{
    nfc_tick *t = ud;
    if (hk_now() - t->last < 2.0)
        return 0;
    t->last = hk_now();
    int pct = total ? (int)(done * 100 / total) : 0;
    if (pct > 99)
        pct = 99;
    char args[64];
    snprintf(args, sizeof(args), "<percent>%d</percent>", pct);
    return lease_call(t->c, "HttpNfcLeaseProgress", t->lease, args, NULL);
}

static int
nfc_verify(h2k_vmware_client *c, const char *lease, hk_vmw_device_url **disks, char **paths,
           size_t n)
{
    hk_vmw_response r = {0};
    int rc = lease_call(c, "HttpNfcLeaseGetManifest", lease, "", &r);
    if (rc < 0)
        return rc;
    hk_vmw_manifest_entry *m = NULL;
    size_t nm = 0;
    rc = hk_vmw_parse_manifest(c->ctx, c->host, r.result, &m, &nm);
    hk_vmw_response_clear(&r);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const hk_vmw_manifest_entry *e = NULL;
        for (size_t j = 0; j < nm; j++)
            if (m[j].key && disks[i]->key && strcmp(m[j].key, disks[i]->key) == 0)
                e = &m[j];
        if (!e || !e->sha1) {
            rc = hk_error(c->ctx, H2K_ERR_VALIDATION,
                          "%s: HttpNfcLeaseGetManifest: no SHA-1 for %s (key %s)", c->host,
                          paths[i], disks[i]->key ? disks[i]->key : "none");
            break;
        }
        char hex[41] = "";
        uint64_t size = 0;
        if ((rc = hk_digest_file(c->ctx, paths[i], HK_DIGEST_SHA1, hex, &size)) < 0)
            break;
        if (e->size >= 0 && (uint64_t)e->size != size)
            rc = hk_error(c->ctx, H2K_ERR_VALIDATION,
                          "%s: %s has %" PRIu64 " bytes, the lease manifest says %" PRId64, c->host,
                          paths[i], size, e->size);
        else if (strcmp(hex, e->sha1) != 0)
            rc = hk_error(c->ctx, H2K_ERR_VALIDATION,
                          "%s: %s: SHA-1 %s does not match the lease manifest (%s)", c->host,
                          paths[i], hex, e->sha1);
        else
            hk_debug(c->ctx, HK_VMW_DOMAIN, "%s: %s: SHA-1 %s verified", c->host, paths[i], hex);
        if (rc < 0)
            unlink(paths[i]);
    }
    hk_vmw_manifest_free(m, nm);
    return rc;
}

/* Replaces the "*" host of a lease URL with ours. */
static char *
lease_url(h2k_vmware_client *c, const char *u)
{
    if (strncmp(u, "https://*/", 10) == 0)
        return hk_asprintf("%s/%s", c->base_url, u + 10);
    if (strncmp(u, "https://", 8) == 0)
        return strdup(u);
    return NULL;
}

int
hk_vmw_export_nfc(h2k_vmware_client *c, hk_vmw_vm *vm, const char *out_dir, char ***paths_out,
                  size_t *n_paths, h2k_vmware_export_result *res)
{
    h2k_ctx *ctx = c->ctx;
    hk_vmw_response r = {0};
    int rc = hk_vmw_call(c, "ExportVm", "VirtualMachine", vm->moref, "", &r);
    if (rc < 0)
        return rc;
    bool oom = false;
    char *lease = hk_vmw_child_text(r.result, "returnval", &oom);
    hk_vmw_response_clear(&r);
    if (!lease)
        return oom ? hk_error_nomem(ctx)
                   : hk_error(ctx, H2K_ERR_FORMAT, "%s: ExportVm returned no lease", c->host);
    hk_info(ctx, HK_VMW_DOMAIN, "%s: export lease %s for %s", c->host, lease, vm->spec->name);
    static const char *const lp[] = {"state", "error", NULL};
    static const char *const ip[] = {"state", "info", NULL};
    lease_state ls = {c, NULL, NULL, NULL, 0, false, 0};
    hk_vmw_device_url **disks = NULL;
    char **paths = NULL;
    size_t nd = 0;
    hk_vmw_dl_list l = {0};
    double start = hk_now();
    unsigned delay = 50;
    for (;;) {
        if ((rc = hk_vmw_retrieve(c, "HttpNfcLease", lp, "HttpNfcLease", lease, false, lease_cb,
                                  &ls)) < 0)
            goto fail;
        if (ls.state && strcmp(ls.state, "ready") == 0)
            break;
        if (ls.state && strcmp(ls.state, "error") == 0) {
            rc = hk_error(ctx, H2K_ERR_GENERIC, "%s: HttpNfcLease %s: %s", c->host, lease,
                          ls.err ? ls.err : "the lease failed");
            goto fail;
        }
        if (ls.state && strcmp(ls.state, "done") == 0) {
            rc = hk_error(ctx, H2K_ERR_GENERIC, "%s: HttpNfcLease %s ended before the transfer",
                          c->host, lease);
            goto fail;
        }
        if ((rc = hk_check_cancel(ctx)) < 0)
            goto fail;
        if (hk_now() - start > (double)c->timeout * 10) {
            rc = hk_error(ctx, H2K_ERR_TIMEOUT, "%s: HttpNfcLease %s: not ready after %u s",
                          c->host, lease, c->timeout * 10);
            goto fail;
        }
        struct timespec ts = {0, (long)delay * 1000000L};
        nanosleep(&ts, NULL);
        if (delay < 800)
            delay *= 2;
    }
    ls.want_info = true;
    if ((rc = hk_vmw_retrieve(c, "HttpNfcLease", ip, "HttpNfcLease", lease, false, lease_cb, &ls)) <
        0)
        goto fail;
    disks = calloc(ls.n_urls ? ls.n_urls : 1, sizeof(*disks));
    paths = calloc(ls.n_urls ? ls.n_urls : 1, sizeof(*paths));
    if (!disks || !paths) {
        rc = hk_error_nomem(ctx);
        goto fail;
    }
    for (size_t i = 0; i < ls.n_urls; i++) {
        hk_vmw_device_url *u = &ls.urls[i];
        if (!u->disk)
            continue;
        char *url = lease_url(c, u->url);
        if (!url) {
            rc = hk_error(ctx, H2K_ERR_FORMAT,
                          "%s: HttpNfcLease %s: unusable device URL \"%.100s\"", c->host, lease,
                          u->url);
            goto fail;
        }
        char fallback[32];
        snprintf(fallback, sizeof(fallback), "disk-%zu.vmdk", nd);
        const char *name = hk_vmw_plain_name(u->target_id) && u->target_id[0] != '.' ? u->target_id
                                                                                     : fallback;
        for (size_t j = 0; j < nd; j++)
            if (strcmp(hk_vmw_base_name(paths[j]), name) == 0)
                name = fallback;
        char *local = hk_path_join(out_dir, name);
        if ((rc = hk_vmw_dl_add(ctx, &l, url, local, false)) < 0)
            goto fail;
        l.v[l.n - 1].size = u->file_size > 0 ? (uint64_t)u->file_size : 0;
        disks[nd] = u;
        paths[nd] = strdup(l.v[l.n - 1].path);
        if (!paths[nd]) {
            rc = hk_error_nomem(ctx);
            goto fail;
        }
        nd++;
    }
    if (nd != vm->spec->n_disks)
        hk_warn(ctx, HK_VMW_DOMAIN, "%s: HttpNfcLease %s offers %zu disks, the VM has %zu", c->host,
                lease, nd, vm->spec->n_disks);
    nfc_tick tick = {c, lease, hk_now()};
    rc = hk_vmw_download(c, l.v, l.n, nfc_progress, &tick);
    for (size_t i = 0; i < l.n; i++)
        res->bytes_downloaded += l.v[i].received;
    if (rc < 0)
        goto fail;
    if ((rc = lease_call(c, "HttpNfcLeaseProgress", lease, "<percent>100</percent>", NULL)) < 0)
        goto fail;
    if ((rc = nfc_verify(c, lease, disks, paths, nd)) < 0)
        goto fail;
    if ((rc = lease_call(c, "HttpNfcLeaseComplete", lease, "", NULL)) < 0)
        goto fail;
    hk_info(ctx, HK_VMW_DOMAIN, "%s: lease %s complete", c->host, lease);
    *paths_out = paths;
    *n_paths = nd;
    paths = NULL;
    goto out;
fail : {
    /* abort the lease, keeping the first error */
    int code = h2k_ctx_last_error(ctx)->code;
    char *msg = strdup(h2k_ctx_last_error(ctx)->message);
    hk_buf b = {0};
    hk_buf_puts(&b, "<fault xsi:type=\"LocalizedMethodFault\"><fault xsi:type=\"SystemError\">"
                    "<reason>hyper2kvm export failed</reason></fault><localizedMessage>");
    hk_buf_xml_escape(&b, msg ? msg : "export failed");
    hk_buf_puts(&b, "</localizedMessage></fault>");
    bool cancelled = h2k_ctx_is_cancelled(ctx);
    if (cancelled)
        h2k_ctx_reset_cancel(ctx);
    if (b.data && lease_call(c, "HttpNfcLeaseAbort", lease, b.data, NULL) < 0)
        hk_warn(ctx, HK_VMW_DOMAIN, "%s: HttpNfcLeaseAbort failed", c->host);
    else
        hk_info(ctx, HK_VMW_DOMAIN, "%s: lease %s aborted", c->host, lease);
    if (cancelled)
        h2k_ctx_cancel(ctx);
    hk_buf_free(&b);
    if (code && msg)
        hk_error(ctx, code, "%s", msg);
    free(msg);
    if (rc == 0)
        rc = code ? code : H2K_ERR_GENERIC;
}
out:
    if (paths) {
        for (size_t i = 0; i < nd; i++)
            free(paths[i]);
        free(paths);
    }
    free(disks);
    hk_vmw_dl_free(&l);
    hk_vmw_device_urls_free(ls.urls, ls.n_urls);
    free(ls.state);
    free(ls.err);
    free(lease);
    return rc;
}
