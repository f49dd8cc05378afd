/*
 * Exports of a vSphere VM's disks: "http" (datastore file service), "nfc"
 * (ExportVm / HttpNfcLease) and "vddk" (nbdkit's vddk plugin), each followed
 * by an OVF descriptor of what was written.  This file holds the entry point,
 * the snapshot and what the transports share; each transport has its file
 * (export_http.c, export_nfc.c, export_vddk.c).
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
#include "providers/vmware/export_internal.h"
#include "providers/vmware/vmw_internal.h"

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

int
hk_vmw_mkdir_p(h2k_ctx *ctx, const char *dir)
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
bool
hk_vmw_plain_name(const char *n)
{
    if (!n || !*n || strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strlen(n) > 255)
        return false;
    for (const char *p = n; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
            return false;
    return true;
}

const char *
hk_vmw_base_name(const char *p)
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
    hk_buf b = {0};
    hk_buf_printf(&b,
                  "<name>%s</name><description>Taken by hyper2kvm to copy the disks"
                  "</description><memory>false</memory><quiesce>false</quiesce>",
                  name);
    char *args = hk_buf_steal(&b);
    if (!args)
        return hk_error_nomem(c->ctx);
    hk_vmw_response r = {0};
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
    hk_vmw_vm sv = {0};
    if (!(sv.spec = h2k_vm_spec_new()))
        return hk_error_nomem(c->ctx);
    static const char *const paths[] = {"config.hardware", NULL};
    snap_hw s = {c, &sv, false};
    rc = hk_vmw_retrieve(c, "VirtualMachineSnapshot", paths, "VirtualMachineSnapshot", snap, false,
                         snap_hw_cb, &s);
    if (rc == 0 && s.seen && sv.spec->n_disks == vm->spec->n_disks) {
        for (size_t i = 0; i < sv.spec->n_disks; i++) {
            if (!sv.spec->disks[i].file_ref)
                continue;
            free(vm->spec->disks[i].file_ref);
            vm->spec->disks[i].file_ref = sv.spec->disks[i].file_ref;
            sv.spec->disks[i].file_ref = NULL;
        }
    } else if (rc == 0) {
        hk_warn(c->ctx, HK_VMW_DOMAIN,
                "%s: snapshot %s: disk list unavailable; copying the "
                "VM's current disk files",
                c->host, snap);
    }
    hk_vmw_vm_clear(&sv);
    return rc;
}

static void
remove_snapshot(h2k_vmware_client *c, const char *snap)
{
    hk_vmw_response r = {0};
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

/* ------------------------------------------------------------ download lists */

int
hk_vmw_dl_add(h2k_ctx *ctx, hk_vmw_dl_list *l, char *url, char *path, bool resume)
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

void
hk_vmw_dl_free(hk_vmw_dl_list *l)
{
    for (size_t i = 0; i < l->n_owned; i++)
        free(l->owned[i]);
    free(l->owned);
    free(l->v);
}

/* ------------------------------------------------------------ entry */

static char *
relative_to(const char *dir, const char *path)
{
    size_t l = strlen(dir);
    if (strncmp(path, dir, l) == 0 && path[l] == '/')
        return strdup(path + l + 1);
    return strdup(hk_vmw_base_name(path));
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
    hk_vmw_vm vm = {0};
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
    if ((rc = hk_vmw_mkdir_p(ctx, dir)) < 0)
        goto out;
    if (on && (rc = take_snapshot(c, &vm, &snap)) < 0)
        goto out;
    res->used_snapshot = snap != NULL;
    if (strcmp(transport, "nfc") == 0) {
        rc = hk_vmw_export_nfc(c, &vm, dir, &paths, &n_paths, res);
    } else {
        n_paths = vm.spec->n_disks;
        paths = calloc(n_paths ? n_paths : 1, sizeof(*paths));
        if (!paths)
            rc = hk_error_nomem(ctx);
        else if (strcmp(transport, "http") == 0)
            rc = hk_vmw_export_http(c, &vm, dir, paths, res);
        else
            rc = hk_vmw_export_vddk(c, &vm, snap, dir, paths);
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
    hk_info(ctx, HK_VMW_DOMAIN,
            "%s: exported %s (%zu disks, %" PRIu64 " bytes received, %" PRIu64 " resumed) to %s",
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
