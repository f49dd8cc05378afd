/*
 * Exports of a vSphere VM's disks: "http" (datastore file service), "nfc"
 * (ExportVm / HttpNfcLease) and "vddk" (nbdkit's vddk plugin), each followed
 * by an OVF descriptor of what was written.
 *
 * References: vSphere Web Services API: VirtualMachine.ExportVm,
 * HttpNfcLease (state, info, HttpNfcLeaseProgress, HttpNfcLeaseGetManifest,
 * HttpNfcLeaseComplete, HttpNfcLeaseAbort), CreateSnapshot_Task,
 * RemoveSnapshot_Task; the datastore HTTP file service (/folder); VMware
 * "Virtual Disk Format 5.0" for descriptors.
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
#include "providers/vmware/vmw_internal.h"

extern char **environ;

#define DESCRIPTOR_MAX (64u * 1024u)
#define MAX_PARENTS 32

void
h2k_vmware_export_result_free(h2k_vmware_export_result *r)
{
    if (!r)
        return;
    free(r->vm_name);
    free(r->transport);
    free(r->output_dir);
    for (size_t i = 0; r->disk_paths && i < r->n_disks; i++)
        free(r->disk_paths[i]);
    free(r->disk_paths);
    free(r->ovf_path);
    h2k_vm_spec_free(r->spec);
    free(r);
}

static int
mkdir_p(h2k_ctx *ctx, const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return hk_error_nomem(ctx);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            int rc = hk_error_errno(ctx, errno, p, "create folder");
            free(p);
            return rc;
        }
        *s = '/';
    }
    int rc = 0;
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        rc = hk_error_errno(ctx, errno, p, "create folder");
    free(p);
    return rc;
}

/* A file name from the server is used as a local name only when it is plain. */
static bool
plain_name(const char *n)
{
    if (!n || !*n || strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strlen(n) > 255)
        return false;
    for (const char *p = n; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
            return false;
    return true;
}

static const char *
base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* ------------------------------------------------------------ snapshots */

typedef struct snap_hw {
    h2k_vmware_client *c;
    hk_vmw_vm *vm;
    bool seen;
} snap_hw;

static int
snap_hw_cb(void *ud, const xmlNode *obj)
{
    snap_hw *s = ud;
    xmlNodePtr hw = hk_vmw_obj_prop(obj, "config.hardware");
    if (!hw || s->seen)
        return 0;
    s->seen = true;
    return hk_vmw_parse_hardware(s->c->ctx, s->c->host, hw, s->vm);
}

/* Takes a snapshot of @vm and points its disks at the snapshot's (frozen) files. */
static int
take_snapshot(h2k_vmware_client *c, hk_vmw_vm *vm, char **snap_out)
{
    *snap_out = NULL;
    char name[64];
    snprintf(name, sizeof(name), "hyper2kvm-export-%lld", (long long)time(NULL));
    hk_buf b = { 0 };
    hk_buf_printf(&b, "<name>%s</name><description>Taken by hyper2kvm to copy the disks"
                      "</description><memory>false</memory><quiesce>false</quiesce>",
                  name);
    char *args = hk_buf_steal(&b);
    if (!args)
        return hk_error_nomem(c->ctx);
    hk_vmw_response r = { 0 };
    int rc = hk_vmw_call(c, "CreateSnapshot_Task", "VirtualMachine", vm->moref, args, &r);
    free(args);
    if (rc < 0)
        return rc;
    bool oom = false;
    char *task = hk_vmw_child_text(r.result, "returnval", &oom);
    hk_vmw_response_clear(&r);
    if (!task)
        return oom ? hk_error_nomem(c->ctx)
                   : hk_error(c->ctx, H2K_ERR_FORMAT, "%s: CreateSnapshot_Task returned no task",
                              c->host);
    char *snap = NULL;
    rc = hk_vmw_wait_task(c, task, "CreateSnapshot_Task", &snap);
    free(task);
    if (rc < 0)
        return rc;
    if (!snap)
        return hk_error(c->ctx, H2K_ERR_FORMAT, "%s: CreateSnapshot_Task returned no snapshot",
                        c->host);
    hk_info(c->ctx, HK_VMW_DOMAIN, "%s: snapshot %s of %s taken", c->host, snap, vm->spec->name);
    *snap_out = snap;
    /* the snapshot's own view of the disks */
    hk_vmw_vm sv = { 0 };
    if (!(sv.spec = h2k_vm_spec_new()))
        return hk_error_nomem(c->ctx);
    static const char *const paths[] = { "config.hardware", NULL };
    snap_hw s = { c, &sv, false };
    rc = hk_vmw_retrieve(c, "VirtualMachineSnapshot", paths, "VirtualMachineSnapshot", snap,
                         false, snap_hw_cb, &s);
    if (rc == 0 && s.seen && sv.spec->n_disks == vm->spec->n_disks) {
        for (size_t i = 0; i < sv.spec->n_disks; i++) {
            if (!sv.spec->disks[i].file_ref)
                continue;
            free(vm->spec->disks[i].file_ref);
            vm->spec->disks[i].file_ref = sv.spec->disks[i].file_ref;
            sv.spec->disks[i].file_ref = NULL;
        }
    } else if (rc == 0) {
        hk_warn(c->ctx, HK_VMW_DOMAIN, "%s: snapshot %s: disk list unavailable; copying the "
                                       "VM's current disk files", c->host, snap);
    }
    hk_vmw_vm_clear(&sv);
    return rc;
}

static void
remove_snapshot(h2k_vmware_client *c, const char *snap)
{
    hk_vmw_response r = { 0 };
    /* keep the export's error, if any */
    const h2k_error *e = h2k_ctx_last_error(c->ctx);
    int saved_code = e->code;
    char *saved_msg = saved_code ? strdup(e->message) : NULL;
    bool cancelled = h2k_ctx_is_cancelled(c->ctx);
    if (cancelled)
        h2k_ctx_reset_cancel(c->ctx); /* the snapshot must go even after a cancel */
    int rc = hk_vmw_call(c, "RemoveSnapshot_Task", "VirtualMachineSnapshot", snap,
                         "<removeChildren>false</removeChildren><consolidate>true</consolidate>",
                         &r);
    if (rc == 0) {
        bool oom = false;
        char *task = hk_vmw_child_text(r.result, "returnval", &oom);
        hk_vmw_response_clear(&r);
        if (task)
            rc = hk_vmw_wait_task(c, task, "RemoveSnapshot_Task", NULL);
        free(task);
    }
    if (rc < 0)
        hk_warn(c->ctx, HK_VMW_DOMAIN, "%s: could not remove snapshot %s: %s", c->host, snap,
                h2k_ctx_last_error(c->ctx)->message);
    if (cancelled)
        h2k_ctx_cancel(c->ctx);
    if (saved_code && saved_msg)
        hk_error(c->ctx, saved_code, "%s", saved_msg);
    else if (saved_code == 0)
        h2k_ctx_clear_error(c->ctx);
    free(saved_msg);
}

/* ------------------------------------------------------------ http */

typedef struct dl_list {
    hk_vmw_dl *v;
    char **owned; /* url and path strings */
    size_t n, cap, n_owned;
} dl_list;

static int
dl_add(h2k_ctx *ctx, dl_list *l, char *url, char *path, bool resume)
{
    if (!url || !path) {
        free(url);
        free(path);
        return hk_error_nomem(ctx);
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        hk_vmw_dl *v = realloc(l->v, cap * sizeof(*v));
        char **o = v ? realloc(l->owned, cap * 2 * sizeof(*o)) : NULL;
        if (v)
            l->v = v;
        if (!v || !o) {
            free(url);
            free(path);
            return hk_error_nomem(ctx);
        }
        l->owned = o;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof(l->v[0]));
    l->v[l->n].url = url;
    l->v[l->n].path = path;
    l->v[l->n].resume = resume;
    l->n++;
    l->owned[l->n_owned++] = url;
    l->owned[l->n_owned++] = path;
    return 0;
}

static void
dl_free(dl_list *l)
{
    for (size_t i = 0; i < l->n_owned; i++)
        free(l->owned[i]);
    free(l->owned);
    free(l->v);
}

/* Fetches descriptor @name in datastore folder @dir and queues its extents and
 * parents; the descriptor is written to @local_dir. */
static int
http_descriptor(h2k_vmware_client *c, const char *dc, const char *ds, const char *dir,
                const char *name, const char *local_dir, dl_list *l, int depth,
                char **local_out)
{
    h2k_ctx *ctx = c->ctx;
    char *rel = *dir ? hk_asprintf("%s/%s", dir, name) : strdup(name);
    char *url = rel ? hk_vmw_folder_url(c, dc, ds, rel) : NULL;
    char *local = hk_path_join(local_dir, name);
    char *text = NULL;
    size_t len = 0;
    int rc = 0;
    hk_vmdk_descriptor d = { 0 };
    if (!rel || !url || !local) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    rc = hk_vmw_fetch_small(c, url, DESCRIPTOR_MAX, &text, &len);
    if (rc == H2K_ERR_FORMAT) {
        /* too large for a descriptor: a self-contained (sparse) disk */
        h2k_ctx_clear_error(ctx);
        rc = dl_add(ctx, l, url, local, true);
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
        rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: [%s] %s: the disk descriptor is empty", c->host,
                      ds, rel);
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
        if (!plain_name(f)) {
            rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, label, (int64_t)d.extents[i].text_offset,
                             "extent", "extent file \"%s\" is not in the descriptor's folder", f);
            goto out;
        }
        char *erel = *dir ? hk_asprintf("%s/%s", dir, f) : strdup(f);
        char *eurl = erel ? hk_vmw_folder_url(c, dc, ds, erel) : NULL;
        free(erel);
        if ((rc = dl_add(ctx, l, eurl, hk_path_join(local_dir, f), true)) < 0)
            goto out;
    }
    if (d.parent_hint) {
        if (!plain_name(d.parent_hint)) {
            rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, label, -1, "parentFileNameHint",
                             "parent disk \"%s\" is not in the same folder", d.parent_hint);
            goto out;
        }
        if (depth >= MAX_PARENTS) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, label, -1, "parentFileNameHint",
                             "snapshot chain longer than %d disks", MAX_PARENTS);
            goto out;
        }
        if ((rc = http_descriptor(c, dc, ds, dir, d.parent_hint, local_dir, l, depth + 1,
                                  NULL)) < 0)
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

static int
export_http(h2k_vmware_client *c, hk_vmw_vm *vm, const char *out_dir, char **paths,
            h2k_vmware_export_result *res)
{
    h2k_ctx *ctx = c->ctx;
    h2k_vm_spec *s = vm->spec;
    char *dc = NULL;
    int rc = hk_vmw_datacenter_of(c, vm->moref, &dc);
    if (rc < 0)
        return rc;
    dl_list l = { 0 };
    for (size_t i = 0; rc == 0 && i < s->n_disks; i++) {
        const char *ref = s->disks[i].file_ref;
        char *ds = NULL, *p = NULL;
        if (!ref || hk_vmw_split_ds_path(ref, &ds, &p) < 0) {
            rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: disk %zu of %s has no datastore path (%s)",
                          c->host, i + 1, s->name, ref ? ref : "none");
            break;
        }
        char *dir = hk_dirname(p);
        const char *name = base_name(p);
        /* two disks with the same file name go into their own sub-folders */
        bool clash = false;
        for (size_t j = 0; j < i; j++)
            clash |= strcmp(base_name(paths[j]), name) == 0;
        char *local_dir = NULL;
        if (clash)
            local_dir = hk_asprintf("%s/disk%zu", out_dir, i + 1);
        else
            local_dir = strdup(out_dir);
        if (!dir || !local_dir)
            rc = hk_error_nomem(ctx);
        else if (!plain_name(name)) {
            char *sr = hk_str_safe(ref);
            rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: disk file name \"%s\" is not usable", c->host,
                          sr ? sr : "?");
            free(sr);
        } else if ((rc = mkdir_p(ctx, local_dir)) == 0)
            rc = http_descriptor(c, dc, ds, strcmp(dir, ".") == 0 ? "" : dir, name, local_dir,
                                 &l, 0, &paths[i]);
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
    dl_free(&l);
    free(dc);
    return rc;
}

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
    hk_vmw_response r = { 0 };
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
    hk_vmw_response r = { 0 };
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
                          "%s: %s has %" PRIu64 " bytes, the lease manifest says %" PRId64,
                          c->host, paths[i], size, e->size);
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

static int
export_nfc(h2k_vmware_client *c, hk_vmw_vm *vm, const char *out_dir, char ***paths_out,
           size_t *n_paths, h2k_vmware_export_result *res)
{
    h2k_ctx *ctx = c->ctx;
    hk_vmw_response r = { 0 };
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
    static const char *const lp[] = { "state", "error", NULL };
    static const char *const ip[] = { "state", "info", NULL };
    lease_state ls = { c, NULL, NULL, NULL, 0, false, 0 };
    hk_vmw_device_url **disks = NULL;
    char **paths = NULL;
    size_t nd = 0;
    dl_list l = { 0 };
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
        struct timespec ts = { 0, (long)delay * 1000000L };
        nanosleep(&ts, NULL);
        if (delay < 800)
            delay *= 2;
    }
    ls.want_info = true;
    if ((rc = hk_vmw_retrieve(c, "HttpNfcLease", ip, "HttpNfcLease", lease, false, lease_cb,
                              &ls)) < 0)
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
            rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: HttpNfcLease %s: unusable device URL \"%.100s\"",
                          c->host, lease, u->url);
            goto fail;
        }
        char fallback[32];
        snprintf(fallback, sizeof(fallback), "disk-%zu.vmdk", nd);
        const char *name = plain_name(u->target_id) && u->target_id[0] != '.' ? u->target_id
                                                                               : fallback;
        for (size_t j = 0; j < nd; j++)
            if (strcmp(base_name(paths[j]), name) == 0)
                name = fallback;
        char *local = hk_path_join(out_dir, name);
        if ((rc = dl_add(ctx, &l, url, local, false)) < 0)
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
        hk_warn(ctx, HK_VMW_DOMAIN, "%s: HttpNfcLease %s offers %zu disks, the VM has %zu",
                c->host, lease, nd, vm->spec->n_disks);
    nfc_tick tick = { c, lease, hk_now() };
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
fail: {
    /* abort the lease, keeping the first error */
    int code = h2k_ctx_last_error(ctx)->code;
    char *msg = strdup(h2k_ctx_last_error(ctx)->message);
    hk_buf b = { 0 };
    hk_buf_puts(&b, "<fault xsi:type=\"LocalizedMethodFault\"><fault xsi:type=\"SystemError\">"
                    "<reason>hyper2kvm export failed</reason></fault><localizedMessage>");
    hk_vmw_buf_escape(&b, msg ? msg : "export failed");
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
    dl_free(&l);
    hk_vmw_device_urls_free(ls.urls, ls.n_urls);
    free(ls.state);
    free(ls.err);
    free(lease);
    return rc;
}

/* ------------------------------------------------------------ vddk */

/* The folder where nbdkit keeps its plugins ("plugindir=" of --dump-config). */
static char *
nbdkit_plugindir(h2k_vmware_client *c)
{
    const char *argv[] = { "nbdkit", "--dump-config", NULL };
    hk_run_opts o = { 0 };
    o.timeout_seconds = 30;
    hk_run_result r = { 0 };
    char *dir = NULL;
    if (hk_run(c->ctx, argv, &o, &r) == 0 && r.exit_status == 0 && r.stdout_tail) {
        const char *p = strstr(r.stdout_tail, "plugindir=");
        if (p) {
            p += 10;
            dir = hk_strndup(p, strcspn(p, "\n"));
        }
    }
    hk_run_result_clear(&r);
    h2k_ctx_clear_error(c->ctx);
    return dir;
}

static int
wait_socket(const char *path, pid_t pid, double timeout)
{
    double start = hk_now();
    struct stat st;
    while (hk_now() - start < timeout) {
        if (stat(path, &st) == 0)
            return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return -1;
        struct timespec ts = { 0, 50000000L };
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int
export_vddk(h2k_vmware_client *c, hk_vmw_vm *vm, const char *snap, const char *out_dir,
            char **paths)
{
    h2k_ctx *ctx = c->ctx;
    if (!c->vddk_libdir)
        return hk_error(ctx, H2K_ERR_UNSUPPORTED,
                        "%s: the vddk transport needs VMware's VDDK library: pass its folder "
                        "with --vddk-libdir (vddk_libdir)",
                        c->host);
    struct stat st;
    char *lib = hk_path_join(c->vddk_libdir, "lib64/libvixDiskLib.so");
    bool have_lib = lib && stat(lib, &st) == 0;
    free(lib);
    if (!have_lib)
        return hk_error(ctx, H2K_ERR_UNSUPPORTED,
                        "%s: the vddk transport needs VMware's VDDK library: %s has no "
                        "lib64/libvixDiskLib.so",
                        c->host, c->vddk_libdir);
    char *nbdkit = hk_find_program("nbdkit");
    char *pdir = nbdkit ? nbdkit_plugindir(c) : NULL;
    char *plugin = pdir ? hk_path_join(pdir, "nbdkit-vddk-plugin.so") : NULL;
    bool have_plugin = plugin && stat(plugin, &st) == 0;
    free(pdir);
    free(plugin);
    if (!have_plugin) {
        int rc = hk_error(ctx, H2K_ERR_UNSUPPORTED,
                          "%s: the vddk transport needs %s (package nbdkit-plugin-vddk)", c->host,
                          nbdkit ? "nbdkit's vddk plugin" : "nbdkit and its vddk plugin");
        free(nbdkit);
        return rc;
    }
    if (!c->seen_sha1[0]) {
        free(nbdkit);
        return hk_error(ctx, H2K_ERR_UNSUPPORTED,
                        "%s: the vddk transport needs the server's certificate thumbprint", c->host);
    }
    /* the password goes to nbdkit through a private file, never argv */
    char *tmpdir = NULL;
    int trc = hk_temp_dir(ctx, "h2k-vddk-", "vddk folder", &tmpdir);
    if (trc < 0) {
        free(nbdkit);
        return trc;
    }
    char *pwfile = hk_path_join(tmpdir, "pw");
    char *sock = hk_path_join(tmpdir, "nbd.sock");
    int rc = 0;
    int fd = pwfile ? open(pwfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    if (fd < 0 || write(fd, c->password, c->password_len) != (ssize_t)c->password_len)
        rc = hk_error_errno(ctx, errno, pwfile ? pwfile : tmpdir, "write");
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; rc == 0 && i < vm->spec->n_disks; i++) {
        const char *ref = vm->spec->disks[i].file_ref;
        char *name = hk_asprintf("%s-disk%zu.raw", vm->spec->name, i + 1);
        for (char *p = name; p && *p; p++)
            if (*p == '/')
                *p = '_';
        char *a_lib = hk_asprintf("libdir=%s", c->vddk_libdir);
        char *a_srv = hk_asprintf("server=%s", c->host);
        char *a_usr = hk_asprintf("user=%s", c->user);
        char *a_pw = hk_asprintf("password=+%s", pwfile);
        char *a_tp = hk_asprintf("thumbprint=%s", c->seen_sha1);
        char *a_vm = hk_asprintf("vm=moref=%s", vm->moref);
        char *a_file = hk_asprintf("file=%s", ref ? ref : "");
        char *a_snap = snap ? hk_asprintf("snapshot=%s", snap) : NULL;
        char *out = name ? hk_path_join(out_dir, name) : NULL;
        char *nbd = hk_asprintf("nbd+unix:///?socket=%s", sock);
        if (!name || !a_lib || !a_srv || !a_usr || !a_pw || !a_tp || !a_vm || !a_file ||
            (snap && !a_snap) || !out || !nbd) {
            rc = hk_error_nomem(ctx);
        } else {
            char *argv[] = { nbdkit, "-r", "-f", "-U", sock, "vddk", a_lib, a_srv, a_usr, a_pw,
                             a_tp, a_vm, a_file, a_snap, NULL };
            pid_t pid;
            unlink(sock);
            if (posix_spawn(&pid, nbdkit, NULL, NULL, argv, environ) != 0) {
                rc = hk_error_errno(ctx, errno, nbdkit, "start");
            } else {
                if (wait_socket(sock, pid, c->timeout) < 0) {
                    rc = hk_error(ctx, H2K_ERR_CONNECTION, "%s: nbdkit vddk did not start for %s",
                                  c->host, ref ? ref : "?");
                } else {
                    const char *qargv[] = { "qemu-img", "convert", "-p", "-f", "raw", "-O", "raw",
                                            nbd, out, NULL };
                    hk_run_opts o = { 0 };
                    hk_run_result r = { 0 };
                    rc = hk_run(ctx, qargv, &o, &r);
                    if (rc == 0 && r.exit_status != 0)
                        rc = hk_error(ctx, H2K_ERR_CONNECTION, "%s: vddk copy of %s failed: %s",
                                      c->host, ref ? ref : "?",
                                      r.stderr_tail ? r.stderr_tail : "qemu-img failed");
                    hk_run_result_clear(&r);
                }
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
            }
        }
        if (rc == 0) {
            paths[i] = out;
            out = NULL;
        }
        free(name);
        free(a_lib);
        free(a_srv);
        free(a_usr);
        free(a_pw);
        free(a_tp);
        free(a_vm);
        free(a_file);
        free(a_snap);
        free(out);
        free(nbd);
    }
    if (pwfile) {
        unlink(pwfile);
        free(pwfile);
    }
    if (sock) {
        unlink(sock);
        free(sock);
    }
    rmdir(tmpdir);
    free(tmpdir);
    free(nbdkit);
    return rc;
}

/* ------------------------------------------------------------ entry */

static char *
relative_to(const char *dir, const char *path)
{
    size_t l = strlen(dir);
    if (strncmp(path, dir, l) == 0 && path[l] == '/')
        return strdup(path + l + 1);
    return strdup(base_name(path));
}

int
h2k_vmware_export_vm(h2k_vmware_client *c, const char *vm_name, const char *output_dir,
                     const char *transport, h2k_vmware_export_result **out)
{
    if (out)
        *out = NULL;
    if (!c || !vm_name || !output_dir || !*output_dir)
        return c ? hk_error(c->ctx, H2K_ERR_INVALID_ARG,
                            "h2k_vmware_export_vm: VM name and output folder are required")
                 : H2K_ERR_INVALID_ARG;
    h2k_ctx *ctx = c->ctx;
    if (!transport)
        transport = "http";
    if (strcmp(transport, "http") != 0 && strcmp(transport, "nfc") != 0 &&
        strcmp(transport, "vddk") != 0)
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "unknown transport \"%.40s\" (use http, nfc or vddk)", transport);
    char *dir = hk_abspath(output_dir);
    if (!dir)
        return hk_error_nomem(ctx);
    char *moref = NULL, *snap = NULL;
    char **paths = NULL;
    size_t n_paths = 0;
    hk_vmw_vm vm = { 0 };
    h2k_vmware_export_result *res = calloc(1, sizeof(*res));
    int rc = res ? 0 : hk_error_nomem(ctx);
    if (rc == 0)
        rc = hk_vmw_find_vm(c, vm_name, &moref);
    if (rc == 0)
        rc = hk_vmw_get_vm(c, moref, &vm);
    if (rc < 0)
        goto out;
    if (vm.spec->n_disks > HK_VMW_MAX_DEVICES) {
        rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: VM %s has too many disks", c->host, vm_name);
        goto out;
    }
    bool on = vm.power_state && strcmp(vm.power_state, "poweredOn") == 0;
    if (on && c->powered_on != H2K_VMWARE_POWERED_ON_SNAPSHOT) {
        rc = hk_error(ctx, H2K_ERR_VALIDATION,
                      "%s: VM \"%s\" is %s: power it off first, or take a snapshot for the copy "
                      "(--snapshot)",
                      c->host, vm_name, vm.power_state);
        goto out;
    }
    if (on && strcmp(transport, "nfc") == 0) {
        rc = hk_error(ctx, H2K_ERR_VALIDATION,
                      "%s: VM \"%s\" is %s: ExportVm (nfc) needs a powered-off VM; use the http "
                      "or vddk transport with --snapshot",
                      c->host, vm_name, vm.power_state);
        goto out;
    }
    if ((rc = mkdir_p(ctx, dir)) < 0)
        goto out;
    if (on && (rc = take_snapshot(c, &vm, &snap)) < 0)
        goto out;
    res->used_snapshot = snap != NULL;
    if (strcmp(transport, "nfc") == 0) {
        rc = export_nfc(c, &vm, dir, &paths, &n_paths, res);
    } else {
        n_paths = vm.spec->n_disks;
        paths = calloc(n_paths ? n_paths : 1, sizeof(*paths));
        if (!paths)
            rc = hk_error_nomem(ctx);
        else if (strcmp(transport, "http") == 0)
            rc = export_http(c, &vm, dir, paths, res);
        else
            rc = export_vddk(c, &vm, snap, dir, paths);
    }
    if (snap && !c->keep_snapshot)
        remove_snapshot(c, snap);
    if (rc < 0)
        goto out;
    /* the spec with local paths, and the OVF */
    h2k_vm_spec *s = vm.spec;
    if (n_paths != s->n_disks) {
        rc = hk_error(ctx, H2K_ERR_VALIDATION, "%s: %zu disk files exported for %zu disks of %s",
                      c->host, n_paths, s->n_disks, vm_name);
        goto out;
    }
    char **hrefs = calloc(n_paths ? n_paths : 1, sizeof(*hrefs));
    if (!hrefs) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    for (size_t i = 0; i < n_paths && rc == 0; i++) {
        free(s->disks[i].path);
        s->disks[i].path = strdup(paths[i]);
        hrefs[i] = relative_to(dir, paths[i]);
        if (!s->disks[i].path || !hrefs[i])
            rc = hk_error_nomem(ctx);
        if (strcmp(transport, "nfc") == 0 && rc == 0) {
            free(s->disks[i].format_hint);
            if (!(s->disks[i].format_hint = strdup("vmdk-streamOptimized")))
                rc = hk_error_nomem(ctx);
        }
    }
    char *ovf_name = hk_asprintf("%s.ovf", vm_name);
    for (char *p = ovf_name; p && *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20)
            *p = '_';
    res->ovf_path = ovf_name ? hk_path_join(dir, ovf_name[0] == '.' ? "vm.ovf" : ovf_name) : NULL;
    free(ovf_name);
    if (rc == 0 && !res->ovf_path)
        rc = hk_error_nomem(ctx);
    if (rc == 0)
        rc = hk_vmw_write_ovf(ctx, s, (const char *const *)hrefs,
                              strcmp(transport, "nfc") == 0
                                  ? "http://www.vmware.com/interfaces/specifications/"
                                    "vmdk.html#streamOptimized"
                                  : NULL,
                              res->ovf_path);
    for (size_t i = 0; i < n_paths; i++)
        free(hrefs[i]);
    free(hrefs);
    if (rc < 0)
        goto out;
    res->vm_name = strdup(vm_name);
    res->transport = strdup(transport);
    res->output_dir = dir;
    dir = NULL;
    res->n_disks = n_paths;
    res->disk_paths = paths;
    paths = NULL;
    res->spec = vm.spec;
    vm.spec = NULL;
    if (!res->vm_name || !res->transport) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    hk_info(ctx, HK_VMW_DOMAIN, "%s: exported %s (%zu disks, %" PRIu64 " bytes received, %" PRIu64
                                " resumed) to %s",
            c->host, vm_name, res->n_disks, res->bytes_downloaded, res->bytes_resumed,
            res->output_dir);
    if (out) {
        *out = res;
        res = NULL;
    }
out:
    if (paths) {
        for (size_t i = 0; i < n_paths; i++)
            free(paths[i]);
        free(paths);
    }
    h2k_vmware_export_result_free(res);
    hk_vmw_vm_clear(&vm);
    free(moref);
    free(snap);
    free(dir);
    return rc;
}
