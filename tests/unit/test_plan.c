/*
 * Batch plans (parsing, defaults, errors naming the field), the state file
 * (round trip, "running" read back as "pending") and the migration result
 * as JSON and Markdown.
 */
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
    assert_string_equal(b->output_format, "raw");
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
        int rc =
            h2k_plan_parse(ctx, cases[i].json, strlen(cases[i].json), "/base", "plan.json", &p);
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
    assert_int_equal(
        h2k_batch_state_set(s, "b", H2K_VM_FAILED, H2K_ERR_FORMAT, "bad \"disk\"", 1.0), 0);
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
    free(md);
    free(js);
    h2k_migration_result_free(r);
    h2k_migration_result_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_file),
        cmocka_unit_test(test_plan_errors),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_result_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
