/*
 * Batch plans in YAML: the same plan in JSON and in YAML gives the same
 * h2k_plan; the file type is chosen by extension, then by content; scalars
 * are typed like YAML 1.2 (no "yes" booleans, MACs stay strings); hostile
 * documents (billion laughs, deep nesting, several documents, huge texts) are
 * refused; every error names the file, the line and column, and the field.
 */
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

static void
assert_str_eq0(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void
assert_strv_eq(char **a, size_t na, char **b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(a[i], b[i]);
}

/* Every field but the file path. */
static void
assert_plans_equal(const h2k_plan *a, const h2k_plan *b)
{
    assert_str_eq0(a->output_dir, b->output_dir);
    assert_int_equal(a->jobs, b->jobs);
    assert_int_equal(a->compress, b->compress);
    assert_int_equal(a->fixes, b->fixes);
    assert_int_equal(a->dry_run, b->dry_run);
    assert_int_equal(a->test_boot, b->test_boot);
    assert_int_equal(a->n_vms, b->n_vms);
    for (size_t i = 0; i < a->n_vms; i++) {
        const h2k_plan_vm *x = &a->vms[i], *y = &b->vms[i];
        assert_string_equal(x->name, y->name);
        assert_strv_eq(x->inputs, x->n_inputs, y->inputs, y->n_inputs);
        assert_strv_eq(x->nic_macs, x->n_nic_macs, y->nic_macs, y->n_nic_macs);
        assert_str_eq0(x->output_dir, y->output_dir);
        assert_int_equal(x->output_format, y->output_format);
        assert_int_equal(x->compress, y->compress);
        assert_int_equal(x->fixes, y->fixes);
        assert_int_equal(x->dry_run, y->dry_run);
        assert_int_equal(x->test_boot, y->test_boot);
        assert_str_eq0(x->virtio_win, y->virtio_win);
    }
    assert_str_eq0(a->virtio_win, b->virtio_win);
}

static void
test_yaml_same_plan_as_json(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char *jpath = ts_data_path("plan/two-vms.json");
    char *ypath = ts_data_path("plan/two-vms.yaml");
    h2k_plan *j = NULL, *y = NULL;
    ts_assert_rc(ctx, h2k_plan_parse_file(ctx, jpath, &j), 0);
    ts_assert_rc(ctx, h2k_plan_parse_file(ctx, ypath, &y), 0);
    assert_plans_equal(j, y);
    /* a few exact values, so that two equally wrong parses cannot pass */
    assert_int_equal(y->jobs, 2);
    assert_int_equal(y->fixes, 0);
    assert_int_equal(y->vms[1].fixes, H2K_FIX_FSTAB | H2K_FIX_GRUB);
    assert_string_equal(y->vms[0].nic_macs[0], "00:50:56:00:00:01");
    assert_string_equal(y->vms[0].inputs[1], "/abs/web01-data.vmdk");
    char *yabs = hk_abspath(ypath);
    assert_string_equal(y->path, yabs);
    free(yabs);
    h2k_plan_free(j);
    h2k_plan_free(y);
    free(jpath);
    free(ypath);
    h2k_ctx_free(ctx);
}

/* Without a known extension, the first character decides. */
static void
test_yaml_by_content(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char *dir = ts_mkdtemp();
    char *jsrc = ts_data_path("plan/two-vms.json");
    char *ysrc = ts_data_path("plan/two-vms.yaml");
    char *jpath = ts_join(dir, "plan-a"), *ypath = ts_join(dir, "plan-b.txt");
    size_t jl, yl;
    char *jt = ts_read_file(jsrc, &jl), *yt = ts_read_file(ysrc, &yl);
    ts_write_file(jpath, jt, jl);
    ts_write_file(ypath, yt, yl);
    h2k_plan *j = NULL, *y = NULL;
    ts_assert_rc(ctx, h2k_plan_parse_file(ctx, jpath, &j), 0);
    ts_assert_rc(ctx, h2k_plan_parse_file(ctx, ypath, &y), 0);
    assert_plans_equal(j, y);
    char *want = ts_join(dir, "converted");
    assert_string_equal(y->output_dir, want);
    h2k_plan_free(j);
    h2k_plan_free(y);
    /* a .json name is JSON even when the text is YAML: a JSON error */
    char *misnamed = ts_join(dir, "plan.json");
    ts_write_file(misnamed, yt, yl);
    assert_int_equal(h2k_plan_parse_file(ctx, misnamed, &y), H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "invalid JSON"));
    ts_rmtree(dir);
    free(misnamed);
    free(want);
    free(jt);
    free(yt);
    free(jpath);
    free(ypath);
    free(jsrc);
    free(ysrc);
    free(dir);
    h2k_ctx_free(ctx);
}

static h2k_plan *
parse_ok(h2k_ctx *ctx, const char *yaml)
{
    h2k_plan *p = NULL;
    ts_assert_rc(ctx, h2k_plan_parse_yaml(ctx, yaml, strlen(yaml), "/base", "plan.yaml", &p), 0);
    return p;
}

static void
test_yaml_scalars_and_aliases(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_plan *p = parse_ok(ctx, "output_dir: 'out dir'\n"
                                "jobs: 0x4\n"
                                "defaults: {dry_run: TRUE, test_boot: ~, fixes: \"fstab,grub\"}\n"
                                "disks: &d [a.vmdk, \"b.vmdk\"]\n"
                                "vms:\n"
                                "  - name: \"true\"\n"
                                "    inputs: *d\n"
                                "    macs: [\"00:50:56:00:00:02\", 00:50:56:00:00:03]\n"
                                "    output_dir: null\n"
                                "    format: !!str qcow2\n"
                                "  - name: '007'\n"
                                "    inputs: *d\n"
                                "    compress: false\n"
                                "    dry_run: !!bool true\n"
                                "...\n");
    assert_string_equal(p->output_dir, "/base/out dir");
    assert_int_equal(p->jobs, 4);
    assert_int_equal(p->dry_run, 1);
    assert_int_equal(p->test_boot, 0);
    assert_int_equal(p->fixes, H2K_FIX_FSTAB | H2K_FIX_GRUB);
    assert_int_equal(p->n_vms, 2);
    assert_string_equal(p->vms[0].name, "true");
    assert_int_equal(p->vms[0].n_inputs, 2);
    assert_string_equal(p->vms[0].inputs[0], "/base/a.vmdk");
    assert_string_equal(p->vms[0].inputs[1], "/base/b.vmdk");
    assert_int_equal(p->vms[0].n_nic_macs, 2);
    assert_string_equal(p->vms[0].nic_macs[1], "00:50:56:00:00:03");
    assert_null(p->vms[0].output_dir);
    assert_int_equal(p->vms[0].output_format, H2K_FORMAT_QCOW2);
    assert_string_equal(p->vms[1].name, "007");
    assert_int_equal(p->vms[1].n_inputs, 2);
    assert_int_equal(p->vms[1].compress, 0);
    assert_int_equal(p->vms[1].dry_run, 1);
    h2k_plan_free(p);
    /* a quoted number is a string, a plain one an integer */
    p = NULL;
    const char *quoted = "output_dir: o\njobs: \"2\"\nvms: [{name: a, inputs: x}]\n";
    assert_int_equal(h2k_plan_parse_yaml(ctx, quoted, strlen(quoted), NULL, "q.yaml", &p),
                     H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "jobs");
    assert_null(p);
    h2k_ctx_free(ctx);
}

/* "a: &a [x, x, ...]", "b: &b [*a, *a, ...]", ... : 10^levels values. */
static char *
billion_laughs(int levels)
{
    hk_buf b = {0};
    hk_buf_puts(&b, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < levels; i++)
        hk_buf_printf(&b,
                      "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i,
                      i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    hk_buf_puts(&b, "output_dir: o\nvms: [{name: a, inputs: x}]\n");
    return hk_buf_steal(&b);
}

static void
test_yaml_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *field;  /* NULL: none */
        const char *in_msg; /* must appear in the message */
    } cases[] = {
        {"", NULL, "empty plan"},
        {"vms: [a, b\n", NULL, "line 2, column 1: invalid YAML"},
        {"output_dir: o\n  bad: indent\n", NULL, "line 2, column 6: invalid YAML"},
        {"output_dir: o\n---\nvms: []\n", NULL, "line 2, column 1: a plan is one YAML document"},
        {"- a\n- b\n", NULL, "line 1, column 1: a plan must be an object"},
        {"output_dir: o\noutput_dir: p\n", "output_dir", "line 2, column 1: duplicate key"},
        {"d: &d {jobs: 2}\n<<: *d\n", NULL, "line 2, column 1: merge keys"},
        {"vms: *nowhere\n", "vms", "line 1, column 6: unknown alias"},
        {"? [a]\n: b\n", NULL, "line 1, column 3: a key must be a plain string"},
        {"jobs: !!binary AAAA\n", "jobs", "line 1, column 7: unsupported tag"},
        {"jobs: !!int two\n", "jobs", "does not match its tag"},
        {"jobs: 99999999999999999999\n", "jobs", "integer out of range"},
        {"output_dir: \"a\\0b\"\n", "output_dir", "NUL character"},
        {"output_dir: o\njobs: 0\nvms: [{name: a, inputs: x}]\n", "jobs",
         "line 2, column 7: \"jobs\" must be an integer"},
        {"output_dir: o\nvms:\n  - name: a\n    inputs: x\n    dry_run: yes\n", "vms[0]",
         "line 5, column 14: \"dry_run\" must be true or false"},
        {"output_dir: o\nvms:\n  - name: a\n    inputs: [x, 3]\n", "vms[0]",
         "line 4, column 13: \"inputs\"[1] must be a non-empty string"},
        {"output_dir: o\nvms:\n  - {name: a, inputs: x}\n  - {name: a, inputs: y}\n", "vms[1].name",
         "line 4, column 12: VM name \"a\" is used twice"},
        {"output_dir: o\n", "vms", "line 1, column 1: a plan needs a \"vms\" array"},
    };
    h2k_ctx *ctx = ts_ctx();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h2k_plan *p = NULL;
        int rc = h2k_plan_parse_yaml(ctx, cases[i].yaml, strlen(cases[i].yaml), "/base",
                                     "plan.yaml", &p);
        const h2k_error *e = h2k_ctx_last_error(ctx);
        if (rc != H2K_ERR_FORMAT || !strstr(e->message, cases[i].in_msg) ||
            (cases[i].field ? !e->field || strcmp(e->field, cases[i].field) : e->field != NULL))
            fail_msg("case %zu: rc %d, field %s, message: %s", i, rc,
                     e->field ? e->field : "(none)", e->message);
        assert_null(p);
        assert_string_equal(e->source_path, "plan.yaml");
        assert_true(hk_startswith(e->message, "plan.yaml: "));
    }
    h2k_ctx_free(ctx);
}

static void
test_yaml_hostile(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_plan *p = NULL;
    /* a billion values from a few hundred bytes: refused, fast, small */
    char *laughs = billion_laughs(9);
    double t0 = hk_now();
    assert_int_equal(h2k_plan_parse_yaml(ctx, laughs, strlen(laughs), NULL, "l.yaml", &p),
                     H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "expands the plan past"));
    assert_true(hk_now() - t0 <
                60.0); /* a bound against a hang, not a speed test (valgrind, load) */
    free(laughs);
    /* three levels (1,110 values) is an ordinary plan with aliases */
    laughs = billion_laughs(3);
    ts_assert_rc(ctx, h2k_plan_parse_yaml(ctx, laughs, strlen(laughs), NULL, "l.yaml", &p), 0);
    h2k_plan_free(p);
    p = NULL;
    free(laughs);
    /* nesting */
    hk_buf b = {0};
    for (int i = 0; i < 100; i++)
        hk_buf_puts(&b, "[");
    for (int i = 0; i < 100; i++)
        hk_buf_puts(&b, "]");
    assert_int_equal(h2k_plan_parse_yaml(ctx, b.data, b.len, NULL, "d.yaml", &p), H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "nested deeper than 64"));
    hk_buf_free(&b);
    /* size */
    size_t big = (16u << 20) + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    assert_int_equal(h2k_plan_parse_yaml(ctx, huge, big, NULL, "h.yaml", &p), H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "too large"));
    free(huge);
    /* invalid UTF-8 */
    const char bad[] = "output_dir: \xff\xfe\n";
    assert_int_equal(h2k_plan_parse_yaml(ctx, bad, sizeof(bad) - 1, NULL, "u.yaml", &p),
                     H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "invalid YAML"));
    assert_null(p);
    h2k_ctx_free(ctx);
}

/* "virtio_win" in YAML, as in JSON: the plan's default and a VM's own. */
static void
test_yaml_virtio_win(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    static const char yaml[] = "output_dir: o\n"
                               "defaults:\n  virtio_win: drivers/virtio-win.iso\n"
                               "vms:\n"
                               "  - name: a\n    inputs: [x]\n"
                               "  - name: b\n    inputs: [y]\n    virtio_win: /srv/vw\n";
    h2k_plan *p = NULL;
    ts_assert_rc(ctx, h2k_plan_parse_yaml(ctx, yaml, strlen(yaml), "/base", "plan.yaml", &p), 0);
    assert_string_equal(p->virtio_win, "/base/drivers/virtio-win.iso");
    assert_null(p->vms[0].virtio_win);
    assert_string_equal(p->vms[1].virtio_win, "/srv/vw");
    h2k_plan_free(p);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_same_plan_as_json),
        cmocka_unit_test(test_yaml_virtio_win),
        cmocka_unit_test(test_yaml_by_content),
        cmocka_unit_test(test_yaml_scalars_and_aliases),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test(test_yaml_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
