/*
 * Batch plans with Azure VMs: the "azure" objects of a plan and of its VMs
 * (JSON and YAML), their inheritance, and the errors naming the field.
 */
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

static h2k_plan *
parse_ok(h2k_ctx *ctx, const char *json)
{
    h2k_plan *p = NULL;
    int rc = h2k_plan_parse(ctx, json, strlen(json), "/plans", "plan.json", &p);
    if (rc < 0)
        fail_msg("plan: %s", h2k_ctx_last_error(ctx)->message);
    return p;
}

static void
parse_err(h2k_ctx *ctx, const char *json, const char *field, const char *words)
{
    h2k_plan *p = NULL;
    assert_int_equal(h2k_plan_parse(ctx, json, strlen(json), "/plans", "plan.json", &p),
                     H2K_ERR_FORMAT);
    assert_null(p);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_non_null(e->field);
    assert_string_equal(e->field, field);
    if (!strstr(e->message, words))
        fail_msg("\"%s\" not in \"%s\"", words, e->message);
}

#define AZ                                                                                         \
    "\"azure\":{\"subscription_id\":\"sub\",\"resource_group\":\"rg\",\"tenant_id\":\"t\","        \
    "\"client_id\":\"c\",\"client_secret_env\":\"AZ_SECRET\",\"ca_file\":\"ca.pem\"}"

static void
test_inherit(void **state)
{
    ts_fixture *f = *state;
    h2k_plan *p = parse_ok(f->ctx, "{\"output_dir\":\"out\"," AZ ",\"vms\":["
                                   "{\"name\":\"a\",\"vm\":\"vm-a\"},"
                                   "{\"name\":\"b\",\"vm\":\"vm-b\",\"azure\":{\"resource_group\":"
                                   "\"rg2\",\"client_secret_file\":\"s.txt\",\"snapshot\":true}},"
                                   "{\"name\":\"c\",\"inputs\":[\"d.vmdk\"]}]}");
    assert_non_null(p->azure);
    assert_int_equal(p->n_vms, 3);
    h2k_plan_vm *a = &p->vms[0], *b = &p->vms[1], *c = &p->vms[2];
    assert_string_equal(a->vm, "vm-a");
    assert_non_null(a->azure);
    assert_null(a->vsphere);
    assert_string_equal(a->azure->resource_group, "rg");
    assert_string_equal(a->azure->client_secret_env, "AZ_SECRET");
    assert_string_equal(a->azure->ca_file, "/plans/ca.pem");
    assert_string_equal(b->azure->resource_group, "rg2");
    assert_string_equal(b->azure->subscription_id, "sub");
    assert_null(b->azure->client_secret_env); /* replaced by the file */
    assert_string_equal(b->azure->client_secret_file, "/plans/s.txt");
    assert_int_equal(b->azure->snapshot, 1);
    assert_null(c->azure);
    assert_null(c->vm);
    h2k_plan_free(p);
}

static void
test_yaml(void **state)
{
    ts_fixture *f = *state;
    static const char y[] = "output_dir: out\n"
                            "azure:\n  subscription_id: sub\n  resource_group: rg\n"
                            "  managed_identity: true\n"
                            "vms:\n  - name: a\n    vm: vm-a\n";
    h2k_plan *p = NULL;
    int rc = h2k_plan_parse_yaml(f->ctx, y, strlen(y), "/plans", "plan.yaml", &p);
    if (rc < 0)
        fail_msg("yaml: %s", h2k_ctx_last_error(f->ctx)->message);
    assert_non_null(p->vms[0].azure);
    assert_int_equal(p->vms[0].azure->managed_identity, 1);
    h2k_plan_free(p);
}

static void
test_errors(void **state)
{
    ts_fixture *f = *state;
    parse_err(f->ctx,
              "{\"output_dir\":\"o\",\"azure\":{\"client_secret\":\"x\"},\"vms\":[{\"name\":\"a\","
              "\"inputs\":[\"x\"]}]}",
              "azure.client_secret", "not allowed");
    parse_err(f->ctx,
              "{\"output_dir\":\"o\",\"vms\":[{\"name\":\"a\",\"vm\":\"v\",\"azure\":{"
              "\"subscription_id\":\"s\",\"resource_group\":\"r\",\"client_id\":\"c\","
              "\"client_secret_env\":\"E\"}}]}",
              "vms[0].azure.tenant_id", "tenant_id");
    parse_err(f->ctx,
              "{\"output_dir\":\"o\"," AZ ",\"vsphere\":{\"host\":\"h\",\"user\":\"u\","
              "\"password_env\":\"P\"},\"vms\":[{\"name\":\"a\",\"vm\":\"v\"}]}",
              "vms[0].vm", "say which");
    parse_err(f->ctx,
              "{\"output_dir\":\"o\",\"vms\":[{\"name\":\"a\",\"vm\":\"v\",\"azure\":{},"
              "\"vsphere\":{}}]}",
              "vms[0].azure", "give one source");
    parse_err(f->ctx,
              "{\"output_dir\":\"o\"," AZ ",\"vms\":[{\"name\":\"a\",\"vm\":\"v\",\"azure\":{"
              "\"client_secret_env\":\"E\",\"managed_identity\":true}}]}",
              "vms[0].azure.client_secret_env", "give one of");
    parse_err(f->ctx,
              "{\"output_dir\":\"o\"," AZ ",\"vms\":[{\"name\":\"a\",\"vm\":\"v\",\"azure\":{"
              "\"location\":\"x\"}}]}",
              "vms[0].azure.location", "unknown field");
    /* a plan with vSphere only still treats "vm" as a vSphere VM */
    h2k_plan *p = parse_ok(f->ctx, "{\"output_dir\":\"o\",\"vsphere\":{\"host\":\"h\",\"user\":"
                                   "\"u\",\"password_env\":\"P\"},\"vms\":[{\"name\":\"a\",\"vm\":"
                                   "\"v\"}]}");
    assert_non_null(p->vms[0].vsphere);
    assert_null(p->vms[0].azure);
    h2k_plan_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inherit, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_yaml, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_errors, ts_fixture_setup, ts_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
