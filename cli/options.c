/* hyper2kvm command-line tool: the table-driven parser, --help and the bash
 * completion script, all generated from the commands' option tables. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const cli_option cli_global_options[] = {
    {OPT_JSON, "json", 0, NULL, NULL, NULL, 0,
     "result as one JSON document on stdout, events as JSON lines on stderr"},
    {OPT_VERBOSE, "verbose", 'v', NULL, NULL, NULL, CLI_OPT_REPEAT,
     "more log output (twice for debug)"},
    {OPT_QUIET, "quiet", 'q', NULL, NULL, NULL, 0, "errors only, no progress bar"},
    {OPT_ALLOW_PATH, "allow-path", 0, NULL, "DIR", NULL, CLI_OPT_REPEAT | CLI_OPT_DIR,
     "let files named by the inputs (extents, parents, backing files) lie under DIR"},
    {OPT_HELP, "help", 'h', NULL, NULL, NULL, 0, "show the options of the command"},
    {0},
};

const cli_command *const cli_commands[] = {
    &cli_cmd_probe,   &cli_cmd_convert, &cli_cmd_ovf,        &cli_cmd_inspect,
    &cli_cmd_fix,     &cli_cmd_test,    &cli_cmd_xml,        &cli_cmd_vsphere,
    &cli_cmd_azure,   &cli_cmd_local,   &cli_cmd_batch,      &cli_cmd_live_fix,
    &cli_cmd_version, &cli_cmd_help,    &cli_cmd_completion, NULL,
};

const cli_command *
cli_find_command(const char *name)
{
    for (size_t i = 0; cli_commands[i]; i++)
        if (strcmp(cli_commands[i]->name, name) == 0)
            return cli_commands[i];
    return NULL;
}

/* True when @name (@len bytes) is one of the space-separated words of @list. */
static bool
in_words(const char *list, const char *name, size_t len, char sep)
{
    if (!list)
        return false;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, sep);
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && strncmp(p, name, len) == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

static const cli_option *
lookup_in(const cli_option *t, const char *name, size_t len, char short_name)
{
    for (; t && t->id; t++) {
        if (short_name) {
            if (t->short_name == short_name)
                return t;
        } else if ((strlen(t->name) == len && strncmp(t->name, name, len) == 0) ||
                   in_words(t->aliases, name, len, ' ')) {
            return t;
        }
    }
    return NULL;
}

static const cli_option *
lookup(const cli_command *cmd, const char *name, size_t len, char short_name)
{
    const cli_option *o = NULL;
    for (size_t i = 0; cmd && cmd->tables && cmd->tables[i] && !o; i++)
        o = lookup_in(cmd->tables[i], name, len, short_name);
    if (!o)
        o = lookup_in(cli_global_options, name, len, short_name);
    return o;
}

const cli_option *
cli_lookup_long(const cli_command *cmd, const char *name, size_t len)
{
    return lookup(cmd, name, len, 0);
}

int
cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "hyper2kvm%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'hyper2kvm %s%s--help'.\n", cmd ? cmd->name : "", cmd ? " " : "");
    return CLI_EXIT_USAGE;
}

static int
add_item(cli_parsed *p, const cli_option *o, const char *value, const char *spelled)
{
    cli_item *n = realloc(p->items, (p->n_items + 1) * sizeof(*n));
    if (!n)
        return -1;
    p->items = n;
    p->items[p->n_items++] = (cli_item){o, value, spelled};
    return 0;
}

static bool
looks_like_uri(const char *s)
{
    return s && s[0] != '-' && strstr(s, "://") != NULL;
}

static int
check_value(const cli_command *cmd, const cli_option *o, const char *spelled, const char *v)
{
    if (!o->choices || !v)
        return 0;
    if (in_words(o->choices, v, strlen(v), '|'))
        return 0;
    return cli_usage_error(cmd, "%s must be one of %s, not '%s'", spelled, o->choices, v);
}

int
cli_parse(const cli_command *cmd, int argc, char **argv, cli_parsed *p)
{
    memset(p, 0, sizeof(*p));
    p->cmd = cmd;
    p->pos = calloc((size_t)argc + 1, sizeof(*p->pos));
    if (!p->pos)
        return cli_exit_code(H2K_ERR_NO_MEMORY);
    bool only_pos = false;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            p->pos[p->n_pos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (a[1] == '-') {
            char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            if (eq)
                *eq = '\0'; /* messages name the option, not "--opt=value" */
            const cli_option *o = lookup(cmd, name, len, 0);
            if (!o)
                return cli_usage_error(cmd, "unknown option --%.*s", (int)len, name);
            const char *v = NULL;
            if (o->arg) {
                if (eq)
                    v = eq + 1;
                else if (i + 1 < argc)
                    v = argv[++i];
                else
                    return cli_usage_error(cmd, "--%.*s needs a value (%s)", (int)len, name,
                                           o->arg);
            } else if (o->flags & CLI_OPT_OPTVAL) {
                if (eq)
                    v = eq + 1;
                else if (i + 1 < argc && looks_like_uri(argv[i + 1]))
                    v = argv[++i];
            } else if (eq) {
                return cli_usage_error(cmd, "--%.*s takes no value", (int)len, name);
            }
            if (check_value(cmd, o, a, v) || add_item(p, o, v, a) < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        /* a cluster of short options: -vq, -Oraw, -O raw */
        for (const char *s = a + 1; *s; s++) {
            const cli_option *o = lookup(cmd, NULL, 0, *s);
            if (!o)
                return cli_usage_error(cmd, "unknown option -%c", *s);
            const char *v = NULL;
            if (o->arg) {
                if (s[1])
                    v = s + 1;
                else if (i + 1 < argc)
                    v = argv[++i];
                else
                    return cli_usage_error(cmd, "-%c needs a value (%s)", *s, o->arg);
            }
            if (check_value(cmd, o, a, v) || add_item(p, o, v, a) < 0)
                return CLI_EXIT_USAGE;
            if (v)
                break;
        }
    }
    /* an option given twice is an error unless it may repeat */
    for (size_t i = 0; i < p->n_items; i++) {
        if (p->items[i].opt->id == OPT_HELP)
            p->help = true;
        if (p->items[i].opt->flags & CLI_OPT_REPEAT)
            continue;
        for (size_t j = i + 1; j < p->n_items; j++)
            if (p->items[j].opt == p->items[i].opt)
                return cli_usage_error(cmd, "--%s given twice", p->items[i].opt->name);
    }
    if (p->help || !cmd)
        return 0;
    if ((int)p->n_pos < cmd->min_pos)
        return cli_usage_error(cmd, "missing argument%s%s", cmd->args ? ": " : "",
                               cmd->args ? cmd->args : "");
    if (cmd->max_pos >= 0 && (int)p->n_pos > cmd->max_pos)
        return cli_usage_error(cmd, "unexpected argument '%s'", p->pos[cmd->max_pos]);
    return 0;
}

void
cli_parsed_free(cli_parsed *p)
{
    free(p->items);
    free(p->pos);
    memset(p, 0, sizeof(*p));
}

/* ---- help ------------------------------------------------------------ */

static void
print_option(FILE *f, const cli_option *o)
{
    char head[96];
    int n = o->short_name ? snprintf(head, sizeof(head), "  -%c, --%s", o->short_name, o->name)
                          : snprintf(head, sizeof(head), "      --%s", o->name);
    if (o->arg || (o->flags & CLI_OPT_OPTVAL)) {
        const char *meta = o->choices ? o->choices : o->arg ? o->arg : "URI";
        snprintf(head + n, sizeof(head) - (size_t)n, (o->flags & CLI_OPT_OPTVAL) ? " [%s]" : " %s",
                 meta);
    }
    fprintf(f, "%-38s %s", head, o->help);
    if (o->flags & CLI_OPT_REPEAT)
        fputs(" (repeatable)", f);
    if (o->aliases) {
        fputs(" (also", f);
        const char *p = o->aliases;
        while (*p) {
            const char *e = strchr(p, ' ');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            fprintf(f, " --%.*s", (int)l, p);
            if (!e)
                break;
            p = e + 1;
        }
        fputc(')', f);
    }
    fputc('\n', f);
}

void
cli_print_usage(FILE *f)
{
    fprintf(f, "usage: hyper2kvm [--json] [-v] [-q] [--allow-path DIR] COMMAND [ARGS]\n\n"
               "commands:\n");
    for (size_t i = 0; cli_commands[i]; i++)
        fprintf(f, "  %-11s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
    fprintf(f, "\nglobal options (before or after the command):\n");
    for (const cli_option *o = cli_global_options; o->id; o++)
        print_option(f, o);
    fprintf(f, "\n'hyper2kvm help COMMAND' or 'hyper2kvm COMMAND --help' lists the options of "
               "a command;\nsee hyper2kvm(1) for details and exit codes.\n");
}

void
cli_print_help(FILE *f, const cli_command *cmd)
{
    fprintf(f, "usage: hyper2kvm %s [OPTIONS]%s%s\n%s\n", cmd->name, cmd->args ? " " : "",
            cmd->args ? cmd->args : "", cmd->summary);
    for (size_t t = 0; cmd->tables && cmd->tables[t]; t++) {
        fputc('\n', f);
        for (const cli_option *o = cmd->tables[t]; o->id; o++)
            print_option(f, o);
    }
    fprintf(f, "\nglobal options:\n");
    for (const cli_option *o = cli_global_options; o->id; o++)
        print_option(f, o);
}

/* ---- bash completion --------------------------------------------------- */

/* Prints the spellings of @o separated by '|' (for a case pattern). */
static void
print_spellings(FILE *f, const cli_option *o)
{
    fprintf(f, "--%s", o->name);
    if (o->short_name)
        fprintf(f, "|-%c", o->short_name);
    for (const char *p = o->aliases; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        fprintf(f, "|--%.*s", (int)l, p);
        if (!e)
            break;
        p = e + 1;
    }
}

static void
print_value_cases(FILE *f, const cli_option *t, const char *indent)
{
    for (const cli_option *o = t; o && o->id; o++) {
        if (!o->arg)
            continue;
        fputs(indent, f);
        print_spellings(f, o);
        if (o->choices) {
            fputs(") COMPREPLY=($(compgen -W \"", f);
            for (const char *c = o->choices; *c; c++)
                fputc(*c == '|' ? ' ' : *c, f);
            fputs("\" -- \"$cur\")); return ;;\n", f);
        } else if (o->flags & CLI_OPT_DIR) {
            fputs(") COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n", f);
        } else if (o->flags & CLI_OPT_FILE) {
            fputs(") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", f);
        } else {
            fputs(") COMPREPLY=(); return ;;\n", f);
        }
    }
}

static void
print_words(FILE *f, const cli_option *t)
{
    for (const cli_option *o = t; o && o->id; o++) {
        fprintf(f, " --%s", o->name);
        if (o->short_name)
            fprintf(f, " -%c", o->short_name);
    }
}

void
cli_print_completion(FILE *f)
{
    fputs("# bash completion for hyper2kvm, generated from its option tables\n"
          "# (hyper2kvm completion bash); do not edit.\n"
          "_hyper2kvm()\n{\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=\n"
          "    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    local global='",
          f);
    print_words(f, cli_global_options);
    fputs("'\n    local cmd= i\n"
          "    for (( i = 1; i < COMP_CWORD; i++ )); do\n"
          "        case ${COMP_WORDS[i]} in\n",
          f);
    /* the value of a global option before the command is not the command */
    bool any = false;
    for (const cli_option *o = cli_global_options; o->id; o++) {
        if (!o->arg)
            continue;
        fputs(any ? "|" : "            ", f);
        print_spellings(f, o);
        any = true;
    }
    if (any)
        fputs(") (( i++ )) ;;\n", f);
    fputs("            -*) ;;\n"
          "            *) cmd=${COMP_WORDS[i]}; break ;;\n"
          "        esac\n"
          "    done\n"
          "    case $prev in\n",
          f);
    print_value_cases(f, cli_global_options, "        ");
    fputs("    esac\n"
          "    if [[ -z $cmd ]]; then\n"
          "        if [[ $cur == -* ]]; then\n"
          "            COMPREPLY=($(compgen -W \"$global\" -- \"$cur\"))\n"
          "        else\n"
          "            COMPREPLY=($(compgen -W '",
          f);
    for (size_t i = 0; cli_commands[i]; i++)
        fprintf(f, "%s%s", i ? " " : "", cli_commands[i]->name);
    fputs("' -- \"$cur\"))\n"
          "        fi\n"
          "        return\n"
          "    fi\n"
          "    local opts= words=-f\n"
          "    case $cmd in\n",
          f);
    for (size_t i = 0; cli_commands[i]; i++) {
        const cli_command *c = cli_commands[i];
        fprintf(f, "        %s)\n            case $prev in\n", c->name);
        for (size_t t = 0; c->tables && c->tables[t]; t++)
            print_value_cases(f, c->tables[t], "                ");
        fputs("            esac\n            opts='", f);
        for (size_t t = 0; c->tables && c->tables[t]; t++)
            print_words(f, c->tables[t]);
        fputs("'\n", f);
        if (strcmp(c->name, "help") == 0) {
            fputs("            words='", f);
            for (size_t j = 0; cli_commands[j]; j++)
                fprintf(f, "%s%s", j ? " " : "", cli_commands[j]->name);
            fputs("'\n", f);
        } else if (strcmp(c->name, "completion") == 0) {
            fputs("            words='bash'\n", f);
        } else if (c->max_pos == 0) {
            fputs("            words=\n", f);
        }
        fputs("            ;;\n", f);
    }
    fputs("        *) return ;;\n"
          "    esac\n"
          "    if [[ $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$opts $global\" -- \"$cur\"))\n"
          "    elif [[ $words == -f ]]; then\n"
          "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "    else\n"
          "        COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
          "    fi\n"
          "}\n"
          "complete -o filenames -F _hyper2kvm hyper2kvm\n",
          f);
}

/* ---- help and completion commands ---------------------------------------- */

static int
run_help(cli_env *env, const cli_parsed *p)
{
    (void)env;
    if (p->n_pos == 0) {
        cli_print_usage(stdout);
        return CLI_EXIT_OK;
    }
    const cli_command *c = cli_find_command(p->pos[0]);
    if (!c)
        return cli_usage_error(p->cmd, "unknown command '%s'", p->pos[0]);
    cli_print_help(stdout, c);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_help = {
    "help", "[COMMAND]", "list the commands, or the options of one command", 0, 1, NULL, run_help,
};

static int
run_completion(cli_env *env, const cli_parsed *p)
{
    (void)env;
    if (strcmp(p->pos[0], "bash") != 0)
        return cli_usage_error(p->cmd, "only 'bash' is supported, not '%s'", p->pos[0]);
    cli_print_completion(stdout);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_completion = {
    "completion", "bash", "print the bash completion script", 1, 1, NULL, run_completion,
};

/* ---- man page -------------------------------------------------------- */

static void
roff_text(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        if (s[i] == '-')
            fputs("\\-", f);
        else if (s[i] == '\\')
            fputs("\\e", f);
        else
            fputc(s[i], f);
    }
}

void
cli_print_man_options(FILE *f, const cli_option *table)
{
    for (const cli_option *o = table; o && o->id; o++) {
        fputs(".TP\n", f);
        if (o->short_name)
            fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
        fputs("\\fB\\-\\-", f);
        roff_text(f, o->name, strlen(o->name));
        fputs("\\fR", f);
        if (o->arg || (o->flags & CLI_OPT_OPTVAL)) {
            const char *meta = o->choices ? o->choices : o->arg ? o->arg : "URI";
            bool opt = (o->flags & CLI_OPT_OPTVAL) != 0;
            fputs(opt ? " [\\fI" : " \\fI", f);
            roff_text(f, meta, strlen(meta));
            fputs(opt ? "\\fR]" : "\\fR", f);
        }
        fputc('\n', f);
        char first = o->help[0];
        fputc(first >= 'a' && first <= 'z' ? first - 'a' + 'A' : first, f);
        roff_text(f, o->help + 1, strlen(o->help + 1));
        fputc('.', f);
        if (o->flags & CLI_OPT_REPEAT)
            fputs(" May be repeated.", f);
        if (o->aliases) {
            fputs(" Old spelling, kept as an alias:", f);
            for (const char *p = o->aliases; *p;) {
                const char *e = strchr(p, ' ');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                fputs(p == o->aliases ? " \\fB\\-\\-" : ", \\fB\\-\\-", f);
                roff_text(f, p, l);
                fputs("\\fR", f);
                if (!e)
                    break;
                p = e + 1;
            }
            fputc('.', f);
        }
        fputc('\n', f);
    }
}
