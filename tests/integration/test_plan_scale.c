/*
 * Large plans are read in linear time and can be stopped: many YAML anchors
 * and aliases (alias lookup used to scan every anchor: a large plan took
 * minutes), many VMs (the duplicate-name check compared every pair), nested
 * aliases bounded ("billion laughs") with a clear error, and a cancelled
 * context stops the parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#define N_ANCHORS 100000
#define N_VMS 100000
/* generous: the linear code needs well under a second; the old one minutes */
#define TIME_LIMIT 20.0

static char *
many_aliases(size_t *len)
{
    hk_buf b = {0};
    hk_buf_puts(&b, "output_dir: out\nvms:\n  - name: vm\n    inputs: [a.raw]\n"
                    "    nic_macs: []\nx_anchors:\n");
    for (int i = 0; i < N_ANCHORS; i++)
        hk_buf_printf(&b, "  - &a%d v%d\n", i, i);
    hk_buf_puts(&b, "x_aliases:\n");
    for (int i = 0; i < N_ANCHORS; i++)
        hk_buf_printf(&b, "  - *a%d\n", N_ANCHORS - 1 - i);
    *len = b.len;
    return hk_buf_steal(&b);
}

static void
test_many_aliases_linear(void **state)
{
    (void)state;
    size_t len = 0;
    char *yaml = many_aliases(&len);
    h2k_ctx *ctx = ts_ctx();
    h2k_plan *p = NULL;
    double t0 = hk_now();
    int rc = h2k_plan_parse_yaml(ctx, yaml, len, "/tmp", "big.yaml", &p);
    double secs = hk_now() - t0;
    print_message("%d anchors, %d aliases: %.2f s (rc %d: %s)\n", N_ANCHORS, N_ANCHORS, secs, rc,
                  h2k_ctx_last_error(ctx)->message);
    assert_true(secs < TIME_LIMIT);
    /* the plan itself is then judged as usual (unknown fields or not): no
       error may come from the YAML layer */
    assert_null(strstr(h2k_ctx_last_error(ctx)->message, "alias"));
    h2k_plan_free(p);
    /* a cancelled context stops the parse */
    h2k_ctx_cancel(ctx);
    assert_int_equal(h2k_plan_parse_yaml(ctx, yaml, len, "/tmp", "big.yaml", &p),
                     H2K_ERR_CANCELLED);
    assert_null(p);
    h2k_ctx_free(ctx);
    free(yaml);
}

static void
test_billion_laughs(void **state)
{
    (void)state;
    hk_buf b = {0};
    hk_buf_puts(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++)
        hk_buf_printf(&b,
                      "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i,
                      i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    size_t len = b.len;
    char *yaml = hk_buf_steal(&b);
    h2k_ctx *ctx = ts_ctx();
    h2k_plan *p = NULL;
    double t0 = hk_now();
    assert_int_equal(h2k_plan_parse_yaml(ctx, yaml, len, "/tmp", "laughs.yaml", &p),
                     H2K_ERR_FORMAT);
    const char *msg = h2k_ctx_last_error(ctx)->message;
    print_message("%s (%.2f s)\n", msg, hk_now() - t0);
    assert_non_null(strstr(msg, "laughs.yaml"));
    assert_non_null(strstr(msg, "expands the plan past"));
    assert_true(hk_now() - t0 < TIME_LIMIT);
    h2k_ctx_free(ctx);
    free(yaml);
}

static void
test_many_vms_linear(void **state)
{
    (void)state;
    hk_buf b = {0};
    hk_buf_puts(&b, "{\"output_dir\": \"out\", \"vms\": [");
    for (int i = 0; i < N_VMS; i++)
        hk_buf_printf(&b, "%s{\"name\": \"vm%d\", \"inputs\": [\"d%d.raw\"]}", i ? "," : "", i, i);
    /* the last name repeats the first: found at the very end */
    hk_buf_puts(&b, "]}");
    size_t len = b.len;
    char *json = hk_buf_steal(&b);
    h2k_ctx *ctx = ts_ctx();
    h2k_plan *p = NULL;
    double t0 = hk_now();
    ts_assert_rc(ctx, h2k_plan_parse(ctx, json, len, "/tmp", "many.json", &p), 0);
    double secs = hk_now() - t0;
    print_message("%d VMs: %.2f s\n", N_VMS, secs);
    assert_int_equal(p->n_vms, N_VMS);
    assert_true(secs < TIME_LIMIT);
    h2k_plan_free(p);
    p = NULL;
    /* a duplicate name is still found */
    char *dup = strstr(json, "\"vm1\"");
    assert_non_null(dup);
    memcpy(dup, "\"vm0\"", 5);
    assert_int_equal(h2k_plan_parse(ctx, json, len, "/tmp", "many.json", &p), H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "used twice"));
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "vms[1].name");
    h2k_ctx_free(ctx);
    free(json);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_aliases_linear),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_many_vms_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
