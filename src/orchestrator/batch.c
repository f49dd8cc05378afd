/* Batches: the resumable state file and the runner of a plan (plans are read
 * in plan.c and plan_yaml.c).
 *
 * The runner: `jobs` is the number of slots of the gate of the appliance-bound
 * stages (sched.h: repairs, boot test, virt-v2v); twice as many worker threads
 * each take the next VM of the plan and run its whole migration, waiting at
 * the gate before those stages, so that while some VMs are in their
 * appliances the others export, probe, make overlays, copy and write their
 * XML and reports.  Each worker has its own context; the batch's context only
 * gathers their logs, and its cancellation is passed on to them and to the
 * gate. */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json_util.h"
#include "hyper2kvm/h2k_fix.h"
#include "orch_internal.h"
#include "sched.h"

#define STATE_MAX_SIZE (16u << 20)
/* ---------------------------------------------------------------- state */

const char *
h2k_vm_state_name(h2k_vm_state st)
{
    switch (st) {
    case H2K_VM_PENDING:
        return "pending";
    case H2K_VM_RUNNING:
        return "running";
    case H2K_VM_DONE:
        return "done";
    case H2K_VM_FAILED:
        return "failed";
    }
    return "pending";
}

static int
state_from_name(const char *s)
{
    for (int i = H2K_VM_PENDING; i <= H2K_VM_FAILED; i++)
        if (strcmp(s, h2k_vm_state_name((h2k_vm_state)i)) == 0)
            return i;
    return -1;
}

void
h2k_batch_state_free(h2k_batch_state *state)
{
    if (!state)
        return;
    for (size_t i = 0; i < state->n_entries; i++) {
        free(state->entries[i].name);
        free(state->entries[i].message);
    }
    free(state->entries);
    free(state);
}

h2k_batch_entry *
h2k_batch_state_find(h2k_batch_state *state, const char *name)
{
    if (!state || !name)
        return NULL;
    for (size_t i = 0; i < state->n_entries; i++)
        if (strcmp(state->entries[i].name, name) == 0)
            return &state->entries[i];
    return NULL;
}

int
h2k_batch_state_set(h2k_batch_state *state, const char *name, h2k_vm_state st, int code,
                    const char *message, double seconds)
{
    if (!state || !name)
        return H2K_ERR_INVALID_ARG;
    h2k_batch_entry *e = h2k_batch_state_find(state, name);
    if (!e) {
        h2k_batch_entry *ne = realloc(state->entries, (state->n_entries + 1) * sizeof(*ne));
        if (!ne)
            return H2K_ERR_NO_MEMORY;
        state->entries = ne;
        e = &ne[state->n_entries];
        memset(e, 0, sizeof(*e));
        if (!(e->name = strdup(name)))
            return H2K_ERR_NO_MEMORY;
        state->n_entries++;
    }
    char *m = message ? strdup(message) : NULL;
    if (message && !m)
        return H2K_ERR_NO_MEMORY;
    free(e->message);
    e->message = m;
    e->state = st;
    e->code = code;
    e->seconds = seconds;
    return 0;
}

int
h2k_batch_state_load(h2k_ctx *ctx, const char *path, h2k_batch_state **out)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!path || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_batch_state_load: NULL argument");
    *out = NULL;
    h2k_batch_state *st = calloc(1, sizeof(*st));
    if (!st)
        return hk_error_nomem(ctx);
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        *out = st;
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    int rc = hk_read_file(ctx, path, STATE_MAX_SIZE, &text, &len);
    json_object *root = NULL, *vms = NULL;
    if (rc < 0)
        goto done;
    root = json_tokener_parse(text);
    if (!root || !json_object_object_get_ex(root, "vms", &vms) ||
        !json_object_is_type(vms, json_type_array)) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, -1, "vms",
                         "not a batch state file (no \"vms\" array)");
        goto done;
    }
    for (size_t i = 0; i < json_object_array_length(vms); i++) {
        json_object *e = json_object_array_get_idx(vms, i), *v;
        const char *name = NULL, *state = NULL, *msg = NULL;
        int code = 0;
        double secs = 0;
        if (json_object_object_get_ex(e, "name", &v) && json_object_is_type(v, json_type_string))
            name = json_object_get_string(v);
        if (json_object_object_get_ex(e, "state", &v) && json_object_is_type(v, json_type_string))
            state = json_object_get_string(v);
        if (json_object_object_get_ex(e, "message", &v) && json_object_is_type(v, json_type_string))
            msg = json_object_get_string(v);
        if (json_object_object_get_ex(e, "code", &v))
            code = json_object_get_int(v);
        if (json_object_object_get_ex(e, "seconds", &v))
            secs = json_object_get_double(v);
        int sv = state ? state_from_name(state) : -1;
        if (!name || sv < 0) {
            char where[64];
            snprintf(where, sizeof(where), "vms[%zu]", i);
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, path, -1, where,
                             "an entry needs a name and a known state");
            goto done;
        }
        /* a VM "running" when the batch stopped did not finish */
        if (sv == H2K_VM_RUNNING)
            sv = H2K_VM_PENDING;
        if (h2k_batch_state_set(st, name, (h2k_vm_state)sv, code, msg, secs) < 0) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
    }
done:
    json_object_put(root);
    free(text);
    if (rc < 0) {
        h2k_batch_state_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

int
h2k_batch_state_save(h2k_ctx *ctx, const char *path, const h2k_batch_state *state)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!path || !state)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_batch_state_save: NULL argument");
    json_object *root = json_object_new_object();
    json_object *arr = json_object_new_array();
    if (!root || !arr) {
        json_object_put(root);
        json_object_put(arr);
        return hk_error_nomem(ctx);
    }
    json_object_object_add(root, "version", json_object_new_int(1));
    for (size_t i = 0; i < state->n_entries; i++) {
        const h2k_batch_entry *e = &state->entries[i];
        json_object *o = json_object_new_object();
        hk_json_add_str(o, "name", e->name);
        hk_json_add_str(o, "state", h2k_vm_state_name(e->state));
        json_object_object_add(o, "code", json_object_new_int(e->code));
        hk_json_add_str(o, "message", e->message);
        json_object_object_add(o, "seconds", json_object_new_double(e->seconds));
        json_object_array_add(arr, o);
    }
    json_object_object_add(root, "vms", arr);
    char *text = hk_json_steal_string(root);
    if (!text)
        return hk_error_nomem(ctx);
    int rc = h2k_output_write_file(ctx, path, text);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- batch */

typedef struct batch {
    h2k_ctx *ctx;
    const h2k_plan *plan;
    const char *state_path;
    h2k_batch_state *state;
    pthread_mutex_t lock;
    size_t next;
    size_t n_failed;
    int save_rc;
    h2k_batch_fn on_vm;
    void *userdata;
    hk_sched *sched; /* the gate of the appliance-bound stages */
} batch;

typedef struct batch_worker {
    batch *b;
    h2k_ctx *ctx;
    pthread_t tid;
    int started;
    h2k_vmware_client *vmw;             /* this worker's login, kept for its next VMs */
    const h2k_plan_vsphere *vmw_server; /* the server it is logged in to */
} batch_worker;

static void
run_one(batch_worker *w, const h2k_plan_vm *vm)
{
    batch *b = w->b;
    const h2k_plan *p = b->plan;
    char *out_dir = vm->output_dir ? strdup(vm->output_dir) : hk_path_join(p->output_dir, vm->name);
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = (const char *const *)vm->inputs;
    o.n_inputs = vm->n_inputs;
    o.output_dir = out_dir;
    o.name = vm->name;
    o.output_format = vm->output_format;
    o.compress = vm->compress >= 0 ? vm->compress : p->compress;
    o.fixes = vm->fixes >= 0 ? (unsigned)vm->fixes : p->fixes;
    o.dry_run = vm->dry_run >= 0 ? vm->dry_run : p->dry_run;
    o.test_boot = vm->test_boot >= 0 ? vm->test_boot : p->test_boot;
    o.nic_macs = (const char *const *)vm->nic_macs;
    o.n_nic_macs = vm->n_nic_macs;
    o.virtio_win = vm->virtio_win ? vm->virtio_win : p->virtio_win;
    h2k_migration_result *res = NULL;
    double t0 = hk_now();
    h2k_ctx_clear_error(w->ctx);
    int rc = out_dir ? 0 : H2K_ERR_NO_MEMORY;
    h2k_azure_client *azc = NULL;
    if (rc == 0 && vm->azure) {
        /* a client per VM: its token is fetched when the download starts */
        if ((rc = hk_plan_azure_connect(w->ctx, vm->azure, &azc)) < 0)
            hk_error_set_stage(w->ctx, "export");
        o.inputs = NULL;
        o.n_inputs = 0;
        o.azure = azc;
        o.azure_vm = vm->vm;
    } else if (rc == 0 && vm->vm) {
        /* one login per worker and server, kept for the worker's next VMs */
        if (w->vmw && !hk_plan_vsphere_same_server(w->vmw_server, vm->vsphere)) {
            h2k_vmware_client_free(w->vmw);
            w->vmw = NULL;
        }
        if (!w->vmw && (rc = hk_plan_vsphere_connect(w->ctx, vm->vsphere, &w->vmw)) < 0)
            hk_error_set_stage(w->ctx, "export");
        w->vmw_server = vm->vsphere;
        o.inputs = NULL;
        o.n_inputs = 0;
        o.vmware = w->vmw;
        o.vmware_vm = vm->vm;
        o.vmware_transport = vm->vsphere->transport;
    }
    hk_run_env env = {b->sched, vm->name};
    if (rc == 0)
        rc = hk_orch_run(w->ctx, &o, &env, &res);
    h2k_azure_client_free(azc);
    double secs = hk_now() - t0;
    bool cancelled = rc == H2K_ERR_CANCELLED || h2k_ctx_is_cancelled(b->ctx);
    pthread_mutex_lock(&b->lock);
    if (cancelled && rc < 0)
        h2k_batch_state_set(b->state, vm->name, H2K_VM_PENDING, 0, NULL, secs);
    else if (rc < 0)
        h2k_batch_state_set(b->state, vm->name, H2K_VM_FAILED, rc,
                            h2k_ctx_last_error(w->ctx)->message, secs);
    else
        h2k_batch_state_set(b->state, vm->name, H2K_VM_DONE, 0, NULL, secs);
    if (rc < 0 && !cancelled)
        b->n_failed++;
    if (b->state_path && h2k_batch_state_save(w->ctx, b->state_path, b->state) < 0)
        b->save_rc = H2K_ERR_IO;
    if (b->on_vm)
        b->on_vm(b->userdata, vm, rc, res);
    pthread_mutex_unlock(&b->lock);
    h2k_migration_result_free(res);
    free(out_dir);
}

static void *
batch_thread(void *arg)
{
    batch_worker *w = arg;
    batch *b = w->b;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        const h2k_plan_vm *vm = NULL;
        while (b->next < b->plan->n_vms && !h2k_ctx_is_cancelled(w->ctx)) {
            const h2k_plan_vm *cand = &b->plan->vms[b->next++];
            h2k_batch_entry *e = h2k_batch_state_find(b->state, cand->name);
            if (e && e->state == H2K_VM_DONE)
                continue; /* finished in an earlier run */
            vm = cand;
            h2k_batch_state_set(b->state, vm->name, H2K_VM_RUNNING, 0, NULL, 0);
            if (b->state_path)
                h2k_batch_state_save(w->ctx, b->state_path, b->state);
            break;
        }
        pthread_mutex_unlock(&b->lock);
        if (!vm)
            break;
        run_one(w, vm);
    }
    h2k_vmware_client_free(w->vmw);
    w->vmw = NULL;
    return NULL;
}

static void
forward_log(void *ud, h2k_log_level level, const char *domain, const char *msg)
{
    batch_worker *w = ud;
    hk_log(w->b->ctx, level, domain, "%s", msg);
}

int
h2k_batch_run(h2k_ctx *ctx, const h2k_plan *plan, const char *state_path, unsigned jobs,
              h2k_batch_fn on_vm, void *userdata)
{
    return hk_batch_run_hooked(ctx, plan, state_path, jobs, on_vm, userdata, NULL);
}

int
hk_batch_run_hooked(h2k_ctx *ctx, const h2k_plan *plan, const char *state_path, unsigned jobs,
                    h2k_batch_fn on_vm, void *userdata, const hk_sched_hooks *hooks)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!plan)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_batch_run: no plan");
    batch b;
    memset(&b, 0, sizeof(b));
    b.ctx = ctx;
    b.plan = plan;
    b.state_path = state_path;
    b.on_vm = on_vm;
    b.userdata = userdata;
    int rc = 0;
    if (state_path) {
        if ((rc = h2k_batch_state_load(ctx, state_path, &b.state)) < 0)
            return rc;
    } else if (!(b.state = calloc(1, sizeof(*b.state)))) {
        return hk_error_nomem(ctx);
    }
    if (jobs == 0)
        jobs = plan->jobs ? plan->jobs : 1;
    if (jobs > 64)
        jobs = 64;
    /* twice as many VMs in flight as slots, never more than the plan has */
    unsigned workers = 2 * jobs;
    if (plan->n_vms && workers > plan->n_vms)
        workers = (unsigned)plan->n_vms;
    pthread_mutex_init(&b.lock, NULL);
    batch_worker *ws = calloc(workers, sizeof(*ws));
    if (!ws || !(b.sched = hk_sched_new(jobs, hooks))) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    for (unsigned t = 0; t < workers; t++) {
        ws[t].b = &b;
        if (h2k_ctx_new(&ws[t].ctx) < 0)
            break;
        h2k_ctx_set_tmpdir(ws[t].ctx, h2k_ctx_tmpdir(ctx));
        if (hk_ctx_copy_allowed_roots(ctx, ws[t].ctx) < 0) {
            h2k_ctx_free(ws[t].ctx);
            ws[t].ctx = NULL;
            break;
        }
        h2k_ctx_set_log(ws[t].ctx, forward_log, &ws[t], H2K_LOG_WARNING);
        if (pthread_create(&ws[t].tid, NULL, batch_thread, &ws[t]) != 0)
            break;
        ws[t].started = 1;
    }
    for (unsigned t = 0; t < workers; t++) {
        if (!ws[t].started)
            continue;
        for (;;) {
            if (h2k_ctx_is_cancelled(ctx)) {
                for (unsigned k = 0; k < workers; k++)
                    if (ws[k].ctx)
                        h2k_ctx_cancel(ws[k].ctx);
                hk_sched_cancel(b.sched); /* wakes the VMs waiting at the gate */
            }
            if (pthread_tryjoin_np(ws[t].tid, NULL) == 0)
                break;
            usleep(50 * 1000);
        }
    }
    for (unsigned t = 0; t < workers; t++)
        h2k_ctx_free(ws[t].ctx);
    if (h2k_ctx_is_cancelled(ctx))
        rc = hk_error(ctx, H2K_ERR_CANCELLED, "batch cancelled");
    else if (b.save_rc < 0)
        rc = hk_error_at(ctx, H2K_ERR_IO, state_path, -1, NULL, "cannot save the state file");
    else if (b.n_failed)
        rc = hk_error(ctx, H2K_ERR_GENERIC, "%zu of %zu VMs failed", b.n_failed, plan->n_vms);
done:
    free(ws);
    hk_sched_free(b.sched);
    pthread_mutex_destroy(&b.lock);
    h2k_batch_state_free(b.state);
    return rc;
}
