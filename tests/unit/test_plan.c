/*
 * Batch plans (parsing, defaults, errors naming the field), the state file
 * (round trip, "running" read back as "pending") and the migration result
 * as JSON and Markdown.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testsupport.h"

static void
test_plan_file(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char *path = ts_data_path("plan/two-vms.json");
    char *dir = hk_dirname(path);
    h2k_plan *p = NULL;
    ts_assert_rc(ctx, h2k_plan_parse_file(ctx, path, &p), 0);
    char *want = hk_path_join(dir, "converted");
    assert_string_equal(p->output_dir, want);
    assert_int_equal(p->jobs, 2);
    assert_int_equal(p->fixes, 0);
    assert_int_equal(p->compress, 1);
    assert_int_equal(p->dry_run, 0);
    assert_int_equal(p->n_vms, 2);
    const h2k_plan_vm *a = &p->vms[0], *b = &p->vms[1];
    assert_string_equal(a->name, "web01");
    assert_int_equal(a->n_inputs, 2);
    char *in0 = hk_path_join(dir, "disks/web01.vmdk");
    assert_string_equal(a->inputs[0], in0);
    assert_string_equal(a->inputs[1], "/abs/web01-data.vmdk");
    assert_int_equal(a->n_nic_macs, 1);
    assert_string_equal(a->nic_macs[0], "00:50:56:00:00:01");
    assert_null(a->output_dir);
    assert_int_equal(a->fixes, -1);
    assert_int_equal(a->compress, -1);
    assert_string_equal(b->name, "db01");
    assert_int_equal(b->n_inputs, 1);
    assert_string_equal(b->output_dir, "/srv/db");
    assert_int_equal(b->output_format, H2K_FORMAT_RAW);
    assert_int_equal(b->fixes, H2K_FIX_FSTAB | H2K_FIX_GRUB);
    assert_int_equal(b->dry_run, 1);
    assert_int_equal(b->test_boot, 0);
    assert_int_equal(b->compress, 0);
    h2k_plan_free(p);
    free(in0);
    free(want);
    free(dir);
    free(path);
    h2k_ctx_free(ctx);
}

/* "virtio_win" in "defaults" and per VM: resolved against the plan's folder,
 * a VM's own wins; a non-string is refused naming the field. */
static void
test_plan_virtio_win(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    static const char json[] =
        "{\"output_dir\": \"o\", \"defaults\": {\"virtio_win\": \"virtio-win.iso\"},"
        " \"vms\": [{\"name\": \"a\", \"inputs\": \"x\"},"
        " {\"name\": \"b\", \"inputs\": \"y\", \"virtio_win\": \"/srv/virtio-win\"}]}";
    h2k_plan *p = NULL;
    ts_assert_rc(ctx, h2k_plan_parse(ctx, json, strlen(json), "/base", "p.json", &p), 0);
    assert_string_equal(p->virtio_win, "/base/virtio-win.iso");
    assert_null(p->vms[0].virtio_win);
    assert_string_equal(p->vms[1].virtio_win, "/srv/virtio-win");
    h2k_plan_free(p);
    static const char none[] = "{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a\", "
                               "\"inputs\": \"x\"}]}";
    ts_assert_rc(ctx, h2k_plan_parse(ctx, none, strlen(none), "/base", "p.json", &p), 0);
    assert_null(p->virtio_win);
    assert_null(p->vms[0].virtio_win);
    h2k_plan_free(p);
    static const char bad_vm[] = "{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a\", "
                                 "\"inputs\": \"x\", \"virtio_win\": 3}]}";
    assert_int_equal(h2k_plan_parse(ctx, bad_vm, strlen(bad_vm), NULL, "p.json", &p),
                     H2K_ERR_FORMAT);
    assert_null(p);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "vms[0]");
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "virtio_win"));
    static const char bad_def[] = "{\"output_dir\": \"o\", \"defaults\": {\"virtio_win\": \"\"},"
                                  " \"vms\": [{\"name\": \"a\", \"inputs\": \"x\"}]}";
    assert_int_equal(h2k_plan_parse(ctx, bad_def, strlen(bad_def), NULL, "p.json", &p),
                     H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "defaults");
    h2k_ctx_free(ctx);
}

static void
test_plan_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *field;
    } cases[] = {
        {"[]", NULL},
        {"{\"vms\": [", NULL},
        {"{\"output_dir\": \"o\"}", "vms"},
        {"{\"output_dir\": \"o\", \"vms\": []}", "vms"},
        {"{\"output_dir\": \"o\", \"vms\": [{\"inputs\": [\"a\"]}]}", "vms[0]"},
        {"{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a\"}]}", "vms[0]"},
        {"{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a/b\", \"inputs\": \"x\"}]}", "vms[0]"},
        {"{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a\", \"inputs\": [1]}]}", "vms[0]"},
        {"{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a\", \"inputs\": \"x\"},"
         " {\"name\": \"a\", \"inputs\": \"y\"}]}",
         "vms[1].name"},
        {"{\"vms\": [{\"name\": \"a\", \"inputs\": \"x\"}]}", "vms[0].output_dir"},
        {"{\"output_dir\": \"o\", \"jobs\": 0, \"vms\": [{\"name\": \"a\", \"inputs\": \"x\"}]}",
         "jobs"},
        {"{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a\", \"inputs\": \"x\", "
         "\"fixes\": \"fstab,bogus\"}]}",
         "vms[0]"},
        {"{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a\", \"inputs\": \"x\", "
         "\"format\": \"vmdk\"}]}",
         "vms[0]"},
        {"{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a\", \"inputs\": \"x\", "
         "\"dry_run\": \"yes\"}]}",
         "vms[0]"},
    };
    h2k_ctx *ctx = ts_ctx();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h2k_plan *p = NULL;
        int rc = h2k_plan_parse(ctx, cases[i].json, strlen(cases[i].json), "/base", "plan.json",
                                &p);
        if (rc != H2K_ERR_FORMAT)
            print_error("case %zu: rc %d\n", i, rc);
        assert_int_equal(rc, H2K_ERR_FORMAT);
        assert_null(p);
        const h2k_error *e = h2k_ctx_last_error(ctx);
        assert_string_equal(e->source_path, "plan.json");
        if (cases[i].field) {
            if (!e->field || strcmp(e->field, cases[i].field) != 0)
                print_error("case %zu: field %s, message %s\n", i, e->field, e->message);
            assert_non_null(e->field);
            assert_string_equal(e->field, cases[i].field);
        }
    }
    h2k_ctx_free(ctx);
}

static void
test_plan_vsphere(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char *path = ts_data_path("plan/vsphere.json");
    char *dir = hk_dirname(path);
    h2k_plan *p = NULL;
    ts_assert_rc(ctx, h2k_plan_parse_file(ctx, path, &p), 0);
    assert_int_equal(p->n_vms, 3);
    assert_non_null(p->vsphere);
    assert_string_equal(p->vsphere->host, "vcenter.example.com:8443");
    /* the plan's server */
    const h2k_plan_vm *a = &p->vms[0], *b = &p->vms[1], *c = &p->vms[2];
    assert_string_equal(a->vm, "Web Server 01");
    assert_int_equal(a->n_inputs, 0);
    assert_non_null(a->vsphere);
    assert_ptr_not_equal(a->vsphere, p->vsphere);
    assert_string_equal(a->vsphere->host, "vcenter.example.com:8443");
    assert_string_equal(a->vsphere->user, "migrator@vsphere.local");
    assert_string_equal(a->vsphere->password_env, "H2K_PLAN_TEST_PASSWORD");
    assert_null(a->vsphere->password_file);
    assert_string_equal(a->vsphere->datacenter, "DC0");
    assert_int_equal(a->vsphere->insecure, 1);
    assert_string_equal(a->vsphere->transport, "nfc");
    assert_null(a->vsphere->ca_file);
    /* the VM's object completes and overrides it field by field */
    assert_string_equal(b->vm, "db01");
    assert_string_equal(b->vsphere->host, "esx1.example.com");
    assert_string_equal(b->vsphere->user, "migrator@vsphere.local");
    assert_null(b->vsphere->password_env); /* replaced by the file */
    char *pw = hk_path_join(dir, "secrets/esx1.pw");
    assert_string_equal(b->vsphere->password_file, pw);
    assert_string_equal(b->vsphere->ca_file, "/etc/pki/esx.pem");
    assert_int_equal(b->vsphere->insecure, 0);
    assert_string_equal(b->vsphere->transport, "http");
    assert_string_equal(b->vsphere->datacenter, "DC0");
    /* a local VM beside them */
    assert_null(c->vm);
    assert_null(c->vsphere);
    assert_int_equal(c->n_inputs, 1);
    h2k_plan_free(p);
    free(pw);
    free(dir);
    free(path);
    h2k_ctx_free(ctx);
}

static void
test_plan_vsphere_errors(void **state)
{
    (void)state;
#define VS "\"vsphere\": {\"host\": \"vc\", \"user\": \"u\", \"password_env\": \"P\"}"
    static const struct {
        const char *json;
        const char *field;
    } cases[] = {
        /* the VM's name on the server */
        {"{\"output_dir\": \"o\", " VS ", \"vms\": [{\"name\": \"a\", \"vm\": \"x\"},"
         " {\"name\": \"b\", \"vm\": 7}]}",
         "vms[1].vm"},
        {"{\"output_dir\": \"o\", " VS ", \"vms\": [{\"name\": \"a\", \"vm\": \"x\"},"
         " {\"name\": \"b\", \"vm\": \"\"}]}",
         "vms[1].vm"},
        {"{\"output_dir\": \"o\", " VS ", \"vms\": [{\"name\": \"a\", \"vm\": \"x\","
         " \"inputs\": \"d.vmdk\"}]}",
         "vms[0].vm"},
        /* no server for it, or a server but no VM */
        {"{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a\", \"vm\": \"x\"}]}", "vms[0].vsphere"},
        {"{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a\", \"inputs\": \"d\", " VS "}]}",
         "vms[0].vsphere"},
        {"{\"output_dir\": \"o\", \"vms\": [{\"name\": \"a\", \"vm\": \"x\", \"vsphere\": 3}]}",
         "vms[0].vsphere"},
        /* incomplete servers */
        {"{\"output_dir\": \"o\", \"vsphere\": {\"user\": \"u\", \"password_env\": \"P\"},"
         " \"vms\": [{\"name\": \"a\", \"vm\": \"x\"}]}",
         "vms[0].vsphere.host"},
        {"{\"output_dir\": \"o\", \"vsphere\": {\"host\": \"h\", \"password_env\": \"P\"},"
         " \"vms\": [{\"name\": \"a\", \"vm\": \"x\"}]}",
         "vms[0].vsphere.user"},
        {"{\"output_dir\": \"o\", \"vsphere\": {\"host\": \"h\", \"user\": \"u\"},"
         " \"vms\": [{\"name\": \"a\", \"vm\": \"x\"}]}",
         "vms[0].vsphere.password_env"},
        /* bad fields of the plan's object */
        {"{\"output_dir\": \"o\", \"vsphere\": [], \"vms\": [{\"name\": \"a\", \"inputs\": \"d\"}]}",
         "vsphere"},
        {"{\"output_dir\": \"o\", \"vsphere\": {\"host\": 5}, \"vms\": [{\"name\": \"a\", "
         "\"inputs\": \"d\"}]}",
         "vsphere.host"},
        {"{\"output_dir\": \"o\", \"vsphere\": {\"password\": \"pw\"}, \"vms\": [{\"name\": "
         "\"a\", \"inputs\": \"d\"}]}",
         "vsphere.password"},
        {"{\"output_dir\": \"o\", \"vsphere\": {\"hots\": \"h\"}, \"vms\": [{\"name\": \"a\", "
         "\"inputs\": \"d\"}]}",
         "vsphere.hots"},
        {"{\"output_dir\": \"o\", \"vsphere\": {\"url\": \"http://vc/sdk\"}, \"vms\": "
         "[{\"name\": \"a\", \"inputs\": \"d\"}]}",
         "vsphere.url"},
        {"{\"output_dir\": \"o\", \"vsphere\": {\"url\": \"https://u@vc/sdk\"}, \"vms\": "
         "[{\"name\": \"a\", \"inputs\": \"d\"}]}",
         "vsphere.url"},
        {"{\"output_dir\": \"o\", \"vsphere\": {\"host\": \"h\", \"url\": \"https://vc/sdk\"}, "
         "\"vms\": [{\"name\": \"a\", \"inputs\": \"d\"}]}",
         "vsphere.url"},
        {"{\"output_dir\": \"o\", \"vsphere\": {\"password_env\": \"A\", \"password_file\": "
         "\"f\"}, \"vms\": [{\"name\": \"a\", \"inputs\": \"d\"}]}",
         "vsphere.password_env"},
        {"{\"output_dir\": \"o\", \"vsphere\": {\"insecure\": \"yes\"}, \"vms\": [{\"name\": "
         "\"a\", \"inputs\": \"d\"}]}",
         "vsphere.insecure"},
        {"{\"output_dir\": \"o\", \"vsphere\": {\"transport\": \"ftp\"}, \"vms\": [{\"name\": "
         "\"a\", \"inputs\": \"d\"}]}",
         "vsphere.transport"},
        /* and of a VM's */
        {"{\"output_dir\": \"o\", " VS ", \"vms\": [{\"name\": \"a\", \"vm\": \"x\"}, "
         "{\"name\": \"b\", \"vm\": \"y\", \"vsphere\": {\"datacenter\": \"\"}}]}",
         "vms[1].vsphere.datacenter"},
    };
#undef VS
    h2k_ctx *ctx = ts_ctx();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h2k_plan *p = NULL;
        int rc = h2k_plan_parse(ctx, cases[i].json, strlen(cases[i].json), "/base", "plan.json",
                                &p);
        const h2k_error *e = h2k_ctx_last_error(ctx);
        if (rc != H2K_ERR_FORMAT || !e->field || strcmp(e->field, cases[i].field) != 0)
            print_error("case %zu: rc %d, field %s, message %s\n", i, rc, e->field, e->message);
        assert_int_equal(rc, H2K_ERR_FORMAT);
        assert_null(p);
        assert_string_equal(e->source_path, "plan.json");
        assert_non_null(e->field);
        assert_string_equal(e->field, cases[i].field);
        /* a password never shows up in a message */
        assert_null(strstr(e->message, "\"pw\""));
    }
    h2k_ctx_free(ctx);
}

/* The vSphere fields of h2k_run_options are checked before any work; a
 * version 1 struct (which ends at "trim") is still accepted. */
static void
test_run_options_vsphere(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    const char *inputs[] = {"/nonexistent/disk.vmdk"};
    h2k_migration_result *res = NULL;

    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    assert_int_equal(o.version, 5); /* version 5 added the Azure source */
    assert_null(o.input_format);
    assert_int_equal(o.output_mode, 0);
    assert_null(o.virtio_win);
    assert_int_equal(o.fixes, 0x7f);
    assert_null(o.azure);
    assert_null(o.azure_vm);
    assert_null(o.vmware);
    assert_int_equal(o.keep_export, 0);
    assert_int_equal(o.trim, 1);
    o.output_dir = out;
    o.vmware_vm = "vm1"; /* without a client */
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &o, &res), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "vmware");
    assert_null(res);
    /* a client and local inputs: refused before the client is used (never
     * dereferenced, so a dummy pointer is enough here) */
    o.vmware = (h2k_vmware_client *)(void *)&o;
    o.inputs = inputs;
    o.n_inputs = 1;
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &o, &res), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "inputs");
    o.inputs = NULL;
    o.n_inputs = 0;
    o.vmware_vm = "";
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &o, &res), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "vmware_vm");
    assert_null(res);
    assert_false(ts_exists(out));

    /* version 1: only the fields up to "trim" are read */
    struct {
        h2k_run_options v1;
    } holder;
    memset(&holder, 0xff, sizeof(holder)); /* the version 2 fields are garbage */
    h2k_run_options init = H2K_RUN_OPTIONS_INIT;
    memcpy(&holder.v1, &init, offsetof(h2k_run_options, vmware));
    holder.v1.version = 1;
    holder.v1.inputs = inputs;
    holder.v1.n_inputs = 1;
    holder.v1.output_dir = out;
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &holder.v1, &res), H2K_ERR_NOT_FOUND);
    assert_non_null(res);
    assert_string_equal(res->failed_stage, "probe");
    h2k_migration_result_free(res);
    res = NULL;
    /* version 2: read up to "keep_export"; input_format and output_mode are garbage */
    memset(&holder, 0xff, sizeof(holder));
    memcpy(&holder.v1, &init, offsetof(h2k_run_options, input_format));
    holder.v1.version = 2;
    holder.v1.inputs = inputs;
    holder.v1.n_inputs = 1;
    holder.v1.output_dir = out;
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &holder.v1, &res), H2K_ERR_NOT_FOUND);
    assert_non_null(res);
    h2k_migration_result_free(res);
    res = NULL;
    holder.v1.version = 99; /* unknown */
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &holder.v1, &res), H2K_ERR_INVALID_ARG);
    /* version 3: a bad input format or mode is refused before anything is read */
    o = init;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.input_format = "floppy";
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &o, &res), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "input_format");
    o.input_format = "raw";
    o.output_mode = 01777;
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &o, &res), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "output_mode");
    assert_null(res);
    assert_false(ts_exists(out));
    ts_rmtree(dir);
    free(out);
    free(dir);
    h2k_ctx_free(ctx);
}

static void
test_state_round_trip(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char *dir = ts_mkdtemp();
    char *path = ts_join(dir, "plan.state.json");
    h2k_batch_state *s = NULL;
    ts_assert_rc(ctx, h2k_batch_state_load(ctx, path, &s), 0); /* missing: empty */
    assert_int_equal(s->n_entries, 0);
    assert_int_equal(h2k_batch_state_set(s, "a", H2K_VM_DONE, 0, NULL, 12.5), 0);
    assert_int_equal(h2k_batch_state_set(s, "b", H2K_VM_FAILED, H2K_ERR_FORMAT, "bad \"disk\"",
                                         1.0),
                     0);
    assert_int_equal(h2k_batch_state_set(s, "c", H2K_VM_RUNNING, 0, NULL, 0), 0);
    assert_int_equal(h2k_batch_state_set(s, "a", H2K_VM_DONE, 0, NULL, 13.0), 0);
    assert_int_equal(s->n_entries, 3);
    ts_assert_rc(ctx, h2k_batch_state_save(ctx, path, s), 0);
    assert_int_equal(ts_count_dir(dir), 1); /* no temporary file left */
    h2k_batch_state_free(s);
    s = NULL;
    ts_assert_rc(ctx, h2k_batch_state_load(ctx, path, &s), 0);
    assert_int_equal(s->n_entries, 3);
    h2k_batch_entry *a = h2k_batch_state_find(s, "a");
    assert_non_null(a);
    assert_int_equal(a->state, H2K_VM_DONE);
    assert_true(a->seconds > 12.9 && a->seconds < 13.1);
    h2k_batch_entry *b = h2k_batch_state_find(s, "b");
    assert_int_equal(b->state, H2K_VM_FAILED);
    assert_int_equal(b->code, H2K_ERR_FORMAT);
    assert_string_equal(b->message, "bad \"disk\"");
    assert_int_equal(h2k_batch_state_find(s, "c")->state, H2K_VM_PENDING);
    assert_null(h2k_batch_state_find(s, "d"));
    h2k_batch_state_free(s);
    /* a corrupt file is an error, not an empty state */
    ts_write_file(path, "{\"vms\": 3}", 10);
    s = NULL;
    assert_int_equal(h2k_batch_state_load(ctx, path, &s), H2K_ERR_FORMAT);
    assert_null(s);
    assert_string_equal(h2k_vm_state_name(H2K_VM_FAILED), "failed");
    ts_rmtree(dir);
    free(path);
    free(dir);
    h2k_ctx_free(ctx);
}

static void
test_result_json(void **state)
{
    (void)state;
    h2k_migration_result *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->name = strdup("vm1");
    r->backend = strdup("native");
    r->code = H2K_ERR_CANCELLED;
    r->failed_stage = strdup("copy");
    r->error_message = strdup("cancelled");
    r->sources = calloc(1, sizeof(char *));
    r->sources[0] = strdup("/d/vm1.vmdk");
    r->n_sources = 1;
    r->outputs = calloc(1, sizeof(*r->outputs));
    r->n_outputs = 1;
    r->outputs[0].path = strdup("/o/vm1-disk1.qcow2");
    r->outputs[0].format = strdup("qcow2");
    r->outputs[0].virtual_size = 1ull << 32;
    memset(r->outputs[0].sha256, 'a', 64);
    r->fixes = calloc(1, sizeof(*r->fixes));
    r->n_fixes = 1;
    r->fixes[0].name = strdup("grub");
    r->fixes[0].status = strdup("changed");
    r->identity_json = strdup("{\"os_id\": \"debian\"}");
    r->timings = calloc(1, sizeof(*r->timings));
    r->timings[0].stage = strdup("probe");
    r->timings[0].seconds = 0.25;
    r->n_timings = 1;
    char *js = h2k_migration_result_to_json(r);
    assert_non_null(js);
    json_object *o = json_tokener_parse(js);
    assert_non_null(o);
    json_object *v, *e;
    assert_true(json_object_object_get_ex(o, "success", &v));
    assert_false(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(o, "error", &e));
    assert_true(json_object_object_get_ex(e, "stage", &v));
    assert_string_equal(json_object_get_string(v), "copy");
    assert_true(json_object_object_get_ex(e, "code", &v));
    assert_string_equal(json_object_get_string(v), "CANCELLED");
    assert_true(json_object_object_get_ex(o, "outputs", &v));
    assert_int_equal(json_object_array_length(v), 1);
    json_object *d = json_object_array_get_idx(v, 0), *x;
    assert_true(json_object_object_get_ex(d, "virtual_size", &x));
    assert_int_equal(json_object_get_int64(x), 1ll << 32);
    assert_true(json_object_object_get_ex(o, "identity", &v));
    assert_true(json_object_object_get_ex(v, "os_id", &x));
    assert_string_equal(json_object_get_string(x), "debian");
    assert_true(json_object_object_get_ex(o, "timings", &v));
    assert_true(json_object_object_get_ex(v, "probe", &x));
    assert_true(json_object_get_double(x) == 0.25);
    assert_true(json_object_object_get_ex(o, "boot", &v));
    assert_null(v);
    json_object_put(o);
    char *md = h2k_migration_result_to_markdown(r);
    assert_non_null(strstr(md, "# Migration of vm1"));
    assert_non_null(strstr(md, "| Error | CANCELLED at stage copy: cancelled |"));
    assert_non_null(strstr(md, "| grub | changed |"));
    assert_null(strstr(md, "Console (last lines)"));
    free(md);
    /* a failed boot proof: the Markdown report shows the console tail */
    r->boot = calloc(1, sizeof(*r->boot));
    assert_non_null(r->boot);
    r->boot->accel = strdup("tcg");
    r->boot->error_message = strdup("no boot marker after 120 s");
    r->boot->console_tail = strdup("BdsDxe: failed to load Boot0001\nShell>");
    md = h2k_migration_result_to_markdown(r);
    assert_non_null(strstr(md, "Did NOT boot"));
    assert_non_null(strstr(md, "no boot marker after 120 s"));
    assert_non_null(
        strstr(md,
               "Console (last lines):\n\n```text\nBdsDxe: failed to load Boot0001\nShell>\n```\n"));
    free(md);
    /* a guest that reached its probe but brought no address up did boot */
    r->boot->proof_line = strdup("H2K-BOOT-OK 0123456789abcdef vm1 none");
    free(r->boot->error_message);
    r->boot->error_message = strdup("the guest booted but its network did not come up");
    md = h2k_migration_result_to_markdown(r);
    assert_null(strstr(md, "Did NOT boot"));
    assert_non_null(strstr(md, "Booted after 0.0 s (tcg), but the boot proof FAILED\n"));
    assert_non_null(strstr(md, "\nthe guest booted but its network did not come up\n"));
    free(md);
    free(js);
    h2k_migration_result_free(r);
    h2k_migration_result_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_file),           cmocka_unit_test(test_plan_errors),
        cmocka_unit_test(test_plan_virtio_win),     cmocka_unit_test(test_plan_vsphere),
        cmocka_unit_test(test_plan_vsphere_errors), cmocka_unit_test(test_run_options_vsphere),
        cmocka_unit_test(test_state_round_trip),    cmocka_unit_test(test_result_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
