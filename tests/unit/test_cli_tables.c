/*
 * The CLI's option tables: every option of every command is in the man page
 * (and every command in the README), a short option means one thing, the
 * parser applies aliases, values and global options the same way everywhere,
 * the migration options are shared, untrusted text is escaped for terminals
 * and a password variable is gone from the environment once read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "testsupport.h"

extern char **environ;

/* "--output-format" as the man page spells it: "\-\-output\-format". */
static char *
man_spelling(const char *dashes, const char *name, size_t len)
{
    char *out = malloc(2 * (strlen(dashes) + len) + 1), *o = out;
    for (const char *p = dashes; *p; p++) {
        *o++ = '\\';
        *o++ = '-';
    }
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '-')
            *o++ = '\\';
        *o++ = name[i];
    }
    *o = '\0';
    return out;
}

/* The part of the man page that documents @cmd: from its .SS heading to the next. */
static char *
man_section(const char *man, const char *cmd)
{
    char head[64];
    snprintf(head, sizeof(head), ".SS \"%s\"\n", cmd);
    const char *a = strstr(man, head);
    if (!a)
        return NULL;
    const char *b = strstr(a + strlen(head), "\n.SS ");
    const char *c = strstr(a + strlen(head), "\n.SH ");
    if (!b || (c && c < b))
        b = c;
    return b ? strndup(a, (size_t)(b - a)) : strdup(a);
}

static void
check_documented(const char *section, const char *where, const cli_option *o, int *missing)
{
    char *s = man_spelling("--", o->name, strlen(o->name));
    if (!strstr(section, s)) {
        fprintf(stderr, "docs/hyper2kvm.1: %s does not document --%s\n", where, o->name);
        (*missing)++;
    }
    free(s);
    for (const char *p = o->aliases; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        s = man_spelling("--", p, l);
        if (!strstr(section, s)) {
            fprintf(stderr, "docs/hyper2kvm.1: %s does not document the alias --%.*s\n", where,
                    (int)l, p);
            (*missing)++;
        }
        free(s);
        if (!e)
            break;
        p = e + 1;
    }
    if (o->short_name) {
        char sh[8];
        snprintf(sh, sizeof(sh), "\\-%c", o->short_name);
        if (!strstr(section, sh)) {
            fprintf(stderr, "docs/hyper2kvm.1: %s does not document -%c\n", where, o->short_name);
            (*missing)++;
        }
    }
}

static char *
read_source_file(const char *rel)
{
    const char *src = ts_env("H2K_SOURCE_DIR");
    char *path = ts_join(src, rel);
    size_t len = 0;
    char *text = ts_read_file(path, &len);
    free(path);
    return text;
}

static void
test_man_page_covers_every_option(void **state)
{
    (void)state;
    char *man = read_source_file("docs/hyper2kvm.1");
    int missing = 0;
    const char *g = strstr(man, ".SH GLOBAL OPTIONS");
    const char *ge = g ? strstr(g, "\n.SH ") : NULL;
    assert_non_null(ge);
    char *global = strndup(g, (size_t)(ge - g));
    for (const cli_option *o = cli_global_options; o->id; o++)
        check_documented(global, "GLOBAL OPTIONS", o, &missing);
    free(global);
    for (size_t i = 0; cli_commands[i]; i++) {
        const cli_command *c = cli_commands[i];
        char *sec = man_section(man, c->name);
        if (!sec) {
            fprintf(stderr, "docs/hyper2kvm.1: no section .SS \"%s\"\n", c->name);
            missing++;
            continue;
        }
        for (size_t t = 0; c->tables && c->tables[t]; t++)
            for (const cli_option *o = c->tables[t]; o->id; o++)
                check_documented(sec, c->name, o, &missing);
        free(sec);
    }
    free(man);
    assert_int_equal(missing, 0);
}

/* The option paragraphs of @c as the tables give them, between their markers. */
static char *
generated_block(const cli_command *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fprintf(f, ".\\\" options of %s: generated from its option tables (see test_cli_tables)\n",
            c->name);
    for (size_t t = 0; c->tables && c->tables[t]; t++)
        cli_print_man_options(f, c->tables[t]);
    fprintf(f, ".\\\" end of the options of %s\n", c->name);
    fclose(f);
    return buf;
}

/* Every command's section ends with its options exactly as the tables give them.
 * H2K_UPDATE_MANPAGE=1 rewrites docs/hyper2kvm.1 so (the prose stays as written). */
static void
test_man_page_options_generated(void **state)
{
    (void)state;
    char *man = read_source_file("docs/hyper2kvm.1");
    char *want = NULL;
    size_t want_len = 0;
    FILE *w = open_memstream(&want, &want_len);
    assert_non_null(w);
    const char *rest = man;
    int stale = 0;
    for (size_t i = 0; cli_commands[i]; i++) {
        const cli_command *c = cli_commands[i];
        char head[64], begin[96], end[96];
        snprintf(head, sizeof(head), ".SS \"%s\"\n", c->name);
        snprintf(begin, sizeof(begin), ".\\\" options of %s:", c->name);
        snprintf(end, sizeof(end), ".\\\" end of the options of %s\n", c->name);
        const char *sec = strstr(rest, head);
        if (!sec) {
            fprintf(stderr, "docs/hyper2kvm.1: no section .SS \"%s\" (in command order)\n",
                    c->name);
            stale++;
            continue;
        }
        const char *next = strstr(sec + strlen(head), "\n.SS ");
        const char *next_sh = strstr(sec + strlen(head), "\n.SH ");
        if (!next || (next_sh && next_sh < next))
            next = next_sh;
        next = next ? next + 1 : sec + strlen(sec);
        const char *b = strstr(sec, begin), *e = b ? strstr(b, end) : NULL;
        if (b && b > next)
            b = NULL;
        if (e && e > next)
            e = NULL;
        char *gen = generated_block(c);
        if (b && e) {
            e += strlen(end);
            if ((size_t)(e - b) != strlen(gen) || memcmp(b, gen, strlen(gen)) != 0) {
                fprintf(stderr, "docs/hyper2kvm.1: the options of %s differ from the tables\n",
                        c->name);
                stale++;
            }
            fwrite(rest, 1, (size_t)(b - rest), w);
            fputs(gen, w);
            fwrite(e, 1, (size_t)(next - e), w);
        } else {
            fprintf(stderr, "docs/hyper2kvm.1: the section of %s has no generated options\n",
                    c->name);
            stale++;
            fwrite(rest, 1, (size_t)(next - rest), w);
            fputs(gen, w);
        }
        free(gen);
        rest = next;
    }
    fputs(rest, w);
    fclose(w);
    if (stale && getenv("H2K_UPDATE_MANPAGE")) {
        char *path = ts_join(ts_env("H2K_SOURCE_DIR"), "docs/hyper2kvm.1");
        ts_write_file(path, want, want_len);
        fprintf(stderr, "rewrote %s\n", path);
        free(path);
    } else if (stale) {
        fprintf(stderr, "run the test with H2K_UPDATE_MANPAGE=1 to regenerate them\n");
    }
    free(want);
    free(man);
    assert_int_equal(stale, 0);
}

static void
test_readme_lists_every_command(void **state)
{
    (void)state;
    char *readme = read_source_file("README.md");
    int missing = 0;
    for (size_t i = 0; cli_commands[i]; i++) {
        char want[64];
        snprintf(want, sizeof(want), "\nhyper2kvm %s", cli_commands[i]->name);
        if (!strstr(readme, want)) {
            fprintf(stderr, "README.md: the command list lacks '%s'\n", want + 1);
            missing++;
        }
    }
    free(readme);
    assert_int_equal(missing, 0);
}

/* Every spelling (long name, alias, short letter) means one option id in every
 * command, and "--format" is only ever the output format. */
static void
test_one_meaning_per_spelling(void **state)
{
    (void)state;
    const cli_option *seen[256] = {0};
    const cli_option *all[1024];
    size_t n = 0;
    for (const cli_option *o = cli_global_options; o->id; o++)
        all[n++] = o;
    for (size_t i = 0; cli_commands[i]; i++)
        for (size_t t = 0; cli_commands[i]->tables && cli_commands[i]->tables[t]; t++)
            for (const cli_option *o = cli_commands[i]->tables[t]; o->id; o++) {
                assert_true(n < HK_ARRAY_LEN(all));
                all[n++] = o;
            }
    for (size_t i = 0; i < n; i++) {
        const cli_option *o = all[i];
        assert_non_null(o->help);
        if (o->short_name) {
            unsigned char s = (unsigned char)o->short_name;
            if (seen[s] && seen[s]->id != o->id)
                fail_msg("-%c means --%s and --%s", o->short_name, seen[s]->name, o->name);
            seen[s] = o;
        }
        /* every long spelling of o (name and aliases) against every other option's */
        for (size_t j = 0; j < n; j++) {
            const cli_option *q = all[j];
            if (q->id == o->id)
                continue;
            const char *words[2] = {o->name, o->aliases};
            for (size_t w = 0; w < 2; w++) {
                for (const char *sp = words[w]; sp && *sp;) {
                    const char *e = w ? strchr(sp, ' ') : NULL;
                    size_t l = e ? (size_t)(e - sp) : strlen(sp);
                    bool clash = strlen(q->name) == l && strncmp(q->name, sp, l) == 0;
                    for (const char *qa = q->aliases; qa && *qa && !clash;) {
                        const char *qe = strchr(qa, ' ');
                        size_t ql = qe ? (size_t)(qe - qa) : strlen(qa);
                        clash = ql == l && strncmp(qa, sp, l) == 0;
                        if (!qe)
                            break;
                        qa = qe + 1;
                    }
                    if (clash)
                        fail_msg("--%.*s means --%s and --%s", (int)l, sp, o->name, q->name);
                    if (!e)
                        break;
                    sp = e + 1;
                }
            }
        }
        if (strcmp(o->name, "format") == 0 || (o->aliases && strcmp(o->aliases, "format") == 0))
            assert_int_equal(o->id, OPT_OUTPUT_FORMAT);
    }
}

/* Parses a command line given as words (copied: the parser may write to them). */
static int
parse(const char *cmd, cli_parsed *p, ...)
{
    static char buf[32][128];
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, p);
    for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *)) {
        snprintf(buf[argc], sizeof(buf[argc]), "%s", a);
        argv[argc] = buf[argc];
        argc++;
    }
    va_end(ap);
    const cli_command *c = cli_find_command(cmd);
    assert_non_null(c);
    return cli_parse(c, argc, argv, p);
}

static const char *
value_of(const cli_parsed *p, int id)
{
    for (size_t i = 0; i < p->n_items; i++)
        if (p->items[i].opt->id == id)
            return p->items[i].value;
    return NULL;
}

static void
test_parser(void **state)
{
    (void)state;
    cli_parsed p;
    /* aliases, "=value", a glued short value, global options after the command */
    assert_int_equal(parse("convert", &p, "--format=raw", "a", "b", "--json", "-vq", NULL), 0);
    assert_string_equal(value_of(&p, OPT_OUTPUT_FORMAT), "raw");
    assert_non_null(cli_find_command("convert"));
    assert_int_equal(p.n_pos, 2);
    cli_env env = {0};
    assert_int_equal(cli_apply_globals(&env, &p, 0), 0);
    assert_true(env.json && env.quiet);
    assert_int_equal(env.verbose, 1);
    cli_parsed_free(&p);
    assert_int_equal(parse("convert", &p, "-Oraw", "--source-format", "vmdk", "a", "b", NULL), 0);
    assert_string_equal(value_of(&p, OPT_OUTPUT_FORMAT), "raw");
    assert_string_equal(value_of(&p, OPT_INPUT_FORMAT), "vmdk");
    cli_parsed_free(&p);
    /* choices, unknown options, missing values, repeats, positional counts */
    assert_int_equal(parse("convert", &p, "-O", "vdi", "a", "b", NULL), CLI_EXIT_USAGE);
    cli_parsed_free(&p);
    assert_int_equal(parse("convert", &p, "--frob", "a", "b", NULL), CLI_EXIT_USAGE);
    cli_parsed_free(&p);
    assert_int_equal(parse("local", &p, "--input", NULL), CLI_EXIT_USAGE);
    cli_parsed_free(&p);
    assert_int_equal(parse("local", &p, "--name", "a", "--name", "b", NULL), CLI_EXIT_USAGE);
    cli_parsed_free(&p);
    assert_int_equal(parse("local", &p, "--input", "a", "--input", "b", NULL), 0);
    cli_parsed_free(&p);
    assert_int_equal(parse("convert", &p, "a", NULL), CLI_EXIT_USAGE);
    cli_parsed_free(&p);
    assert_int_equal(parse("convert", &p, "--compress=yes", "a", "b", NULL), CLI_EXIT_USAGE);
    cli_parsed_free(&p);
    /* --help skips the positional checks; "--" ends the options */
    assert_int_equal(parse("convert", &p, "--help", NULL), 0);
    assert_true(p.help);
    cli_parsed_free(&p);
    assert_int_equal(parse("fix", &p, "--", "--odd-name.img", NULL), 0);
    assert_string_equal(p.pos[0], "--odd-name.img");
    cli_parsed_free(&p);
    /* the old "--define URI" and the new "--define --connect URI"; --libvirt is -c */
    assert_int_equal(parse("xml", &p, "--define", "test:///default", "d.qcow2", NULL), 0);
    assert_string_equal(value_of(&p, OPT_DEFINE), "test:///default");
    assert_int_equal(p.n_pos, 1);
    cli_parsed_free(&p);
    assert_int_equal(parse("xml", &p, "--define", "d.qcow2", "-c", "test:///default", NULL), 0);
    assert_null(value_of(&p, OPT_DEFINE));
    assert_string_equal(value_of(&p, OPT_CONNECT), "test:///default");
    cli_parsed_free(&p);
    assert_int_equal(parse("test", &p, "--libvirt", "qemu:///system", "i.qcow2", NULL), 0);
    assert_string_equal(value_of(&p, OPT_CONNECT), "qemu:///system");
    cli_parsed_free(&p);
    /* fix: --only is --fixes */
    assert_int_equal(parse("fix", &p, "--only", "grub", "i.qcow2", NULL), 0);
    assert_string_equal(value_of(&p, OPT_FIXES), "grub");
    cli_parsed_free(&p);
}

/* local and vsphere apply the migration options through the same code. */
static void
test_migration_options_shared(void **state)
{
    (void)state;
    const char *cmds[] = {"local", "vsphere"};
    h2k_run_options got[2];
    for (size_t c = 0; c < 2; c++) {
        cli_parsed p;
        assert_int_equal(parse(cmds[c], &p, "--output-dir", "out", "-O", "raw", "--only",
                               "grub,fstab", "--skip", "grub", "--boot-timeout", "30", "--define",
                               "-c", "test:///default", "--network-map", "*=bridge:br0",
                               "--new-mac", NULL),
                         0);
        cli_migration m;
        cli_migration_init(&m);
        for (size_t i = 0; i < p.n_items; i++)
            assert_int_equal(cli_migration_apply(p.cmd, &m, &p.items[i]), 1);
        assert_int_equal(cli_migration_finish(p.cmd, &m, true), 0);
        got[c] = m.ro;
        assert_int_equal(m.ro.output_format, H2K_FORMAT_RAW);
        assert_int_equal(m.ro.fixes, (unsigned)h2k_fix_kinds_parse("fstab"));
        assert_int_equal(m.ro.boot_timeout, 30);
        assert_string_equal(m.ro.define_uri, "test:///default");
        assert_int_equal(m.ro.n_network_map, 1);
        assert_null(m.ro.network_map[0].source_name);
        assert_string_equal(m.ro.network_map[0].target, "br0");
        assert_int_equal(m.ro.keep_mac, 0);
        cli_migration_free(&m);
        cli_parsed_free(&p);
        /* the same refusals */
        assert_int_equal(parse(cmds[c], &p, "--boot-timeout", "0", NULL), 0);
        cli_migration_init(&m);
        assert_int_equal(cli_migration_apply(p.cmd, &m, &p.items[0]), CLI_EXIT_USAGE);
        cli_migration_free(&m);
        cli_parsed_free(&p);
        assert_int_equal(parse(cmds[c], &p, "-c", "test:///default", "--output-dir", "o", NULL), 0);
        cli_migration_init(&m);
        for (size_t i = 0; i < p.n_items; i++)
            assert_int_equal(cli_migration_apply(p.cmd, &m, &p.items[i]), 1);
        assert_int_equal(cli_migration_finish(p.cmd, &m, true), CLI_EXIT_USAGE);
        cli_migration_free(&m);
        cli_parsed_free(&p);
    }
    assert_int_equal(got[0].fixes, got[1].fixes);
    assert_int_equal(got[0].boot_timeout, got[1].boot_timeout);
}

/* Plan fields go through the same checks as the options they stand for. */
static void
test_plan_checked_like_options(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    static const char ok[] = "{\"output_dir\": \"out\", \"defaults\": {\"compress\": true},"
                             " \"vms\": [{\"name\": \"a\", \"inputs\": [\"a.vmdk\"]},"
                             " {\"name\": \"b\", \"inputs\": [\"b.vmdk\"], \"format\": \"raw\","
                             " \"compress\": false}]}";
    static const char bad[] = "{\"output_dir\": \"out\", \"vms\": [{\"name\": \"a\","
                              " \"inputs\": [\"a.vmdk\"], \"format\": \"raw\","
                              " \"compress\": true}]}";
    const cli_command *batch = cli_find_command("batch");
    h2k_plan *plan = NULL;
    assert_int_equal(h2k_plan_parse(ctx, ok, strlen(ok), "/tmp", "ok.json", &plan), 0);
    assert_int_equal(cli_migration_check_plan(batch, "ok.json", plan), 0);
    h2k_plan_free(plan);
    assert_int_equal(h2k_plan_parse(ctx, bad, strlen(bad), "/tmp", "bad.json", &plan), 0);
    assert_int_equal(cli_migration_check_plan(batch, "bad.json", plan), CLI_EXIT_USAGE);
    h2k_plan_free(plan);
    h2k_ctx_free(ctx);
}

static void
check_escape(const char *in, bool lines, const char *want)
{
    char *got = cli_escape(in, lines);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void
test_escape(void **state)
{
    (void)state;
    check_escape("plain name", false, "plain name");
    check_escape("caf\xc3\xa9 \xe2\x82\xac", false, "caf\xc3\xa9 \xe2\x82\xac");
    check_escape("\x1b]0;owned\x07\x1b[2J", false, "\\x1b]0;owned\\x07\\x1b[2J");
    check_escape("a\nb\tc\rd", false, "a\\x0ab\\x09c\\x0dd");
    check_escape("a\nb\tc\rd", true, "a\nb\tc\\x0dd");
    check_escape("del\x7f", false, "del\\x7f");
    check_escape("c1 \xc2\x9b"
                 "31m raw \x9b",
                 false, "c1 \\u009b31m raw \\x9b");
    check_escape("back\\slash", false, "back\\\\slash");
    check_escape("bad \xff\xfe utf8 \xc3", false, "bad \\xff\\xfe utf8 \\xc3");
    check_escape("", false, "");
    cli_env env = {0};
    assert_string_equal(cli_safe(&env, NULL), "-");
    assert_string_equal(cli_safe(&env, "x\x1b"), "x\\x1b");
    cli_env_release(&env);
}

static void
test_secret_env(void **state)
{
    (void)state;
    setenv("H2K_TEST_SECRET", "hunter2-secret", 1);
    char *pw = NULL;
    assert_int_equal(cli_take_secret_env("H2K_TEST_SECRET", &pw), 0);
    assert_string_equal(pw, "hunter2-secret");
    assert_null(getenv("H2K_TEST_SECRET"));
    for (char **e = environ; *e; e++)
        assert_null(strstr(*e, "hunter2-secret"));
    cli_secret_free(pw);
    assert_int_equal(cli_take_secret_env("H2K_TEST_SECRET", &pw), -1);
    assert_null(pw);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_man_page_covers_every_option),
        cmocka_unit_test(test_man_page_options_generated),
        cmocka_unit_test(test_readme_lists_every_command),
        cmocka_unit_test(test_one_meaning_per_spelling),
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_migration_options_shared),
        cmocka_unit_test(test_plan_checked_like_options),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_secret_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
