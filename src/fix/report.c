/*
 * The repair report: JSON (everything, with full before/after contents) and
 * Markdown (a summary a person reads, with a line diff of each file).
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/json_util.h"
#include "fixer_internal.h"
#include "report_md.h"

void
hk_md_registry_row(hk_buf *b, const char *hive, const char *key, const char *value,
                   const char *action, const char *type, const char *before, const char *after)
{
    hk_buf_printf(b, "| %s | `%s` | %s | %s | %s | %s |\n", hive ? hive : "?", key ? key : "?",
                  value    ? (*value ? value : "(default)")
                  : action ? action
                           : "?",
                  type ? type : "key", before ? before : "-",
                  after ? after : (value ? "(deleted)" : "-"));
}

json_object *
hk_fix_result_json(const h2k_fix_result *r)
{
    json_object *o = json_object_new_object();
    hk_json_add_str(o, "name", h2k_fix_kind_name(r->kind));
    hk_json_add_str(o, "status", h2k_fix_status_name(r->status));
    hk_json_add_str(o, "message", r->message);
    json_object_object_add(o, "dry_run", json_object_new_boolean(r->dry_run));
    json_object_object_add(o, "duration_seconds", json_object_new_double(r->duration_seconds));
    json_object *ch = json_object_new_array();
    for (size_t i = 0; i < r->n_changes; i++) {
        const h2k_file_change *c = &r->changes[i];
        json_object *jc = json_object_new_object();
        hk_json_add_str(jc, "path", c->path);
        hk_json_add_str(jc, "action", c->action);
        hk_json_add_strv(jc, "notes", c->notes, c->n_notes);
        hk_json_add_str(jc, "before", c->before);
        hk_json_add_str(jc, "after", c->after);
        json_object_array_add(ch, jc);
    }
    json_object_object_add(o, "changes", ch);
    json_object *cmds = json_object_new_array();
    for (size_t i = 0; i < r->n_commands; i++) {
        const h2k_command_record *c = &r->commands[i];
        json_object *jc = json_object_new_object();
        hk_json_add_str(jc, "command", c->command);
        json_object_object_add(jc, "exit_status", json_object_new_int(c->exit_status));
        hk_json_add_str(jc, "output_tail", c->output_tail);
        json_object_object_add(jc, "duration_seconds", json_object_new_double(c->duration_seconds));
        json_object_array_add(cmds, jc);
    }
    json_object_object_add(o, "commands", cmds);
    json_object *reg = json_object_new_array();
    for (size_t i = 0; i < r->n_registry_changes; i++) {
        const h2k_registry_change *c = &r->registry_changes[i];
        json_object *jc = json_object_new_object();
        hk_json_add_str(jc, "hive", c->hive);
        hk_json_add_str(jc, "key", c->key);
        hk_json_add_str(jc, "value", c->value);
        hk_json_add_str(jc, "action", c->action);
        hk_json_add_str(jc, "type", c->type);
        hk_json_add_str(jc, "before", c->before);
        hk_json_add_str(jc, "after", c->after);
        json_object_array_add(reg, jc);
    }
    json_object_object_add(o, "registry_changes", reg);
    return o;
}

char *
h2k_offline_fixer_report_json(const h2k_offline_fixer *fx)
{
    if (!fx)
        return NULL;
    json_object *o = json_object_new_object();
    char *idj = h2k_guest_identity_to_json(fx->id);
    json_object_object_add(o, "guest", idj ? json_tokener_parse(idj) : NULL);
    free(idj);
    json_object_object_add(o, "dry_run", json_object_new_boolean(fx->opts.dry_run));
    json_object *fixes = json_object_new_array();
    for (size_t i = 0; i < fx->n_results; i++)
        json_object_array_add(fixes, hk_fix_result_json(fx->results[i]));
    json_object_object_add(o, "fixes", fixes);
    return hk_json_steal_string(o);
}

/* Splits text into lines (pointers into a copy). */
static char **
split_lines(const char *text, size_t *n, char **storage)
{
    *storage = strdup(text ? text : "");
    *n = 0;
    if (!*storage)
        return NULL;
    size_t cap = 1;
    for (const char *p = *storage; *p; p++)
        cap += *p == '\n';
    char **v = calloc(cap + 1, sizeof(char *));
    if (!v)
        return NULL;
    char *s = *storage;
    while (*s) {
        v[(*n)++] = s;
        char *nl = strchr(s, '\n');
        if (!nl)
            break;
        *nl = '\0';
        s = nl + 1;
    }
    return v;
}

/* A compact diff: the changed middle after trimming common leading/trailing lines. */
static void
md_diff(hk_buf *b, const char *before, const char *after)
{
    char *sa = NULL, *sb = NULL;
    size_t na = 0, nb = 0;
    char **a = split_lines(before, &na, &sa);
    char **c = split_lines(after, &nb, &sb);
    if (!a || !c)
        goto out;
    size_t pre = 0;
    while (pre < na && pre < nb && strcmp(a[pre], c[pre]) == 0)
        pre++;
    size_t suf = 0;
    while (suf < na - pre && suf < nb - pre && strcmp(a[na - 1 - suf], c[nb - 1 - suf]) == 0)
        suf++;
    hk_buf_puts(b, "```diff\n");
    size_t shown = 0;
    for (size_t i = pre; i < na - suf && shown < 200; i++, shown++)
        hk_buf_printf(b, "-%s\n", a[i]);
    for (size_t i = pre; i < nb - suf && shown < 400; i++, shown++)
        hk_buf_printf(b, "+%s\n", c[i]);
    if (shown >= 200)
        hk_buf_puts(b, "... (truncated; the JSON report has both versions)\n");
    hk_buf_puts(b, "```\n");
out:
    free(a);
    free(c);
    free(sa);
    free(sb);
}

char *
h2k_offline_fixer_report_markdown(const h2k_offline_fixer *fx)
{
    if (!fx)
        return NULL;
    const h2k_guest_identity *id = fx->id;
    hk_buf b = {0};
    hk_buf_printf(&b, "# hyper2kvm repair report%s\n\n", fx->opts.dry_run ? " (dry run)" : "");
    hk_buf_printf(&b, "Guest: **%s** (%s %s, %s, %s), hostname %s\n\n",
                  id->os_pretty ? id->os_pretty : "unknown", id->os_id ? id->os_id : "?",
                  id->os_version ? id->os_version : "?", id->architecture ? id->architecture : "?",
                  h2k_firmware_name(id->firmware), id->hostname ? id->hostname : "-");
    if (id->windows && id->windows->n_drives) {
        hk_buf_puts(&b, "Drive letters:");
        for (size_t i = 0; i < id->windows->n_drives; i++)
            hk_buf_printf(&b, "%s %s: %s", i ? "," : "", id->windows->drive_letters[i],
                          id->windows->drive_devices[i] ? id->windows->drive_devices[i]
                                                        : "(on no disk of this VM)");
        hk_buf_puts(&b, "\n\n");
    }
    hk_buf_puts(&b, "| repair | status | detail | time |\n| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < fx->n_results; i++) {
        const h2k_fix_result *r = fx->results[i];
        hk_buf_printf(&b, "| %s | %s | %s | %.1f s |\n", h2k_fix_kind_name(r->kind),
                      h2k_fix_status_name(r->status), r->message ? r->message : "",
                      r->duration_seconds);
    }
    for (size_t i = 0; i < fx->n_results; i++) {
        const h2k_fix_result *r = fx->results[i];
        if (!r->n_changes && !r->n_commands && !r->n_registry_changes)
            continue;
        hk_buf_printf(&b, "\n## %s\n", h2k_fix_kind_name(r->kind));
        for (size_t k = 0; k < r->n_changes; k++) {
            const h2k_file_change *c = &r->changes[k];
            hk_buf_printf(&b, "\n### `%s` (%s)\n\n", c->path, c->action);
            for (size_t n = 0; n < c->n_notes; n++)
                hk_buf_printf(&b, "- %s\n", c->notes[n]);
            if (c->before || c->after) {
                hk_buf_puts(&b, "\n");
                md_diff(&b, c->before, c->after);
            }
        }
        if (r->n_registry_changes)
            hk_buf_printf(&b,
                          "\n### Registry%s\n\n| hive | key | value | type | before | after |\n"
                          "| --- | --- | --- | --- | --- | --- |\n",
                          r->dry_run ? " (would change)" : "");
        for (size_t k = 0; k < r->n_registry_changes; k++) {
            const h2k_registry_change *c = &r->registry_changes[k];
            hk_md_registry_row(&b, c->hive, c->key, c->value, c->action, c->type, c->before,
                               c->after);
        }
        for (size_t k = 0; k < r->n_commands; k++) {
            const h2k_command_record *c = &r->commands[k];
            size_t cl = strlen(c->command);
            if (memchr(c->command, '\n', cl)) /* a script: a block, not inline code */
                hk_buf_printf(&b, "\n```sh\n%s%s```\n\nexited %d after %.1f s\n", c->command,
                              cl && c->command[cl - 1] == '\n' ? "" : "\n", c->exit_status,
                              c->duration_seconds);
            else
                hk_buf_printf(&b, "\n`%s` exited %d after %.1f s\n", c->command, c->exit_status,
                              c->duration_seconds);
            if (c->output_tail && *c->output_tail)
                hk_buf_printf(&b, "\n```\n%s%s```\n", c->output_tail,
                              c->output_tail[strlen(c->output_tail) - 1] == '\n' ? "" : "\n");
        }
    }
    return hk_buf_steal(&b);
}
