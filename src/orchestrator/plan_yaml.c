/*
 * Batch plans written in YAML.  The document is read with libyaml's event
 * API and turned into the json-c tree a JSON plan gives, so that the same
 * checks (plan.c, hk_plan_from_json) run on both.
 *
 * Scalars follow the YAML 1.2 core schema, restricted: quoted and block
 * scalars are strings; plain ones are null (empty, ~, null), booleans
 * (true/false), integers (decimal, 0o octal, 0x hex), floats, or strings.
 * "yes"/"no"/"on"/"off" and 00:50:56:... stay strings (no YAML 1.1 typing).
 *
 * Untrusted input: one document only, nesting at most YAML_MAX_DEPTH deep,
 * at most YAML_MAX_NODES values once aliases are expanded (an alias costs as
 * many values as its anchor: the "billion laughs" stops there), no merge keys,
 * no duplicate keys, no NUL in strings, no tags but the standard ones.
 * Every error names the file, the line and column and, when known, the field.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <yaml.h>

#include "orch_internal.h"

#define YAML_MAX_SIZE HK_PLAN_MAX_SIZE /* as for JSON plans */
#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 1000000u
#define YAML_PATH_MAX 256

#define TAG_PREFIX "tag:yaml.org,2002:"

typedef struct ymark {
    json_object *obj;
    size_t line, column; /* 1-based */
} ymark;

typedef struct yanchor {
    char *name;
    json_object *obj; /* in the tree being built (NULL for a null) */
    size_t nodes;     /* values it holds, nested aliases expanded */
} yanchor;

typedef struct yconv {
    h2k_ctx *ctx;
    const char *doc;
    yaml_parser_t parser;
    ymark *marks;
    size_t n_marks, cap_marks;
    yanchor *anchors;
    size_t n_anchors, cap_anchors;
    /* anchor name -> index in anchors of its latest definition (open
       addressing, SIZE_MAX = empty; at most half full): aliases are looked up
       in constant time, however many anchors a plan defines */
    size_t *anchor_slots;
    size_t n_slots;
    size_t nodes;
    size_t events; /* cancellation is checked every few thousand */
} yconv;

static int yerr(yconv *c, yaml_mark_t m, const char *field, const char *fmt, ...) HK_PRINTF(4, 5);

static int
yerr(yconv *c, yaml_mark_t m, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *body = hk_vasprintf(fmt, ap);
    va_end(ap);
    if (!body)
        return hk_error_nomem(c->ctx);
    int rc = hk_error_at(c->ctx, H2K_ERR_FORMAT, c->doc, -1, field && *field ? field : NULL,
                         "line %zu, column %zu: %s", m.line + 1, m.column + 1, body);
    free(body);
    return rc;
}

static int
parse_error(yconv *c)
{
    yaml_parser_t *p = &c->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return hk_error_nomem(c->ctx);
    if (p->error == YAML_READER_ERROR)
        return hk_error_at(c->ctx, H2K_ERR_FORMAT, c->doc, (int64_t)p->problem_offset, NULL,
                           "invalid YAML: %s", p->problem ? p->problem : "unreadable text");
    if (p->context)
        return yerr(c, p->problem_mark, NULL, "invalid YAML: %s (%s, line %zu)",
                    p->problem ? p->problem : "syntax error", p->context, p->context_mark.line + 1);
    return yerr(c, p->problem_mark, NULL, "invalid YAML: %s",
                p->problem ? p->problem : "syntax error");
}

static int
next_event(yconv *c, yaml_event_t *ev)
{
    /* a signal stops a long parse within a few thousand events */
    if ((++c->events & 4095) == 0) {
        int rc = hk_check_cancel(c->ctx);
        if (rc < 0) {
            memset(ev, 0, sizeof(*ev));
            return rc;
        }
    }
    if (!yaml_parser_parse(&c->parser, ev))
        return parse_error(c);
    return 0;
}

static int
add_mark(yconv *c, json_object *obj, yaml_mark_t m)
{
    if (!obj)
        return 0;
    if (c->n_marks == c->cap_marks) {
        size_t cap = c->cap_marks ? c->cap_marks * 2 : 64;
        ymark *nm = realloc(c->marks, cap * sizeof(*nm));
        if (!nm)
            return hk_error_nomem(c->ctx);
        c->marks = nm;
        c->cap_marks = cap;
    }
    c->marks[c->n_marks++] = (ymark){obj, m.line + 1, m.column + 1};
    return 0;
}

static const ymark *
find_mark(const yconv *c, const json_object *obj)
{
    for (size_t i = 0; obj && i < c->n_marks; i++)
        if (c->marks[i].obj == obj)
            return &c->marks[i];
    return NULL;
}

/* ------------------------------------------------------------- scalars */

static bool
all_in(const char *s, size_t n, const char *set)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, s[i]))
            return false;
    return true;
}

static bool
is_float(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    if (n - i == 4 && (!strcmp(s + i, ".inf") || !strcmp(s + i, ".Inf") || !strcmp(s + i, ".INF")))
        return true;
    if (i == 0 && (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")))
        return true;
    size_t digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        if (i == n || !all_in(s + i, n - i, "0123456789"))
            return false;
        return true;
    }
    return i == n;
}

typedef enum {
    Y_NULL,
    Y_BOOL,
    Y_INT,
    Y_FLOAT,
    Y_STR
} ytype;

/* The type of a plain scalar (core schema). */
static ytype
plain_type(const char *s, size_t n)
{
    if (n == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
        return Y_NULL;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "false") ||
        !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return Y_BOOL;
    size_t sign = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (all_in(s + sign, n - sign, "0123456789"))
        return Y_INT;
    if (n > 2 && s[0] == '0' && s[1] == 'o' && all_in(s + 2, n - 2, "01234567"))
        return Y_INT;
    if (n > 2 && s[0] == '0' && s[1] == 'x' && all_in(s + 2, n - 2, "0123456789abcdefABCDEF"))
        return Y_INT;
    if (is_float(s, n))
        return Y_FLOAT;
    return Y_STR;
}

static int
scalar_to_json(yconv *c, const yaml_event_t *ev, const char *path, json_object **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    yaml_mark_t m = ev->start_mark;
    *out = NULL;
    if (memchr(s, '\0', n))
        return yerr(c, m, path, "a NUL character in a value");
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    ytype t = plain ? plain_type(s, n) : Y_STR;
    if (tag && strcmp(tag, "!") != 0) {
        ytype want;
        if (!strcmp(tag, TAG_PREFIX "str"))
            want = Y_STR;
        else if (!strcmp(tag, TAG_PREFIX "null"))
            want = Y_NULL;
        else if (!strcmp(tag, TAG_PREFIX "bool"))
            want = Y_BOOL;
        else if (!strcmp(tag, TAG_PREFIX "int"))
            want = Y_INT;
        else if (!strcmp(tag, TAG_PREFIX "float"))
            want = Y_FLOAT;
        else
            return yerr(c, m, path, "unsupported tag %.64s", tag);
        ytype got = plain_type(s, n);
        if (want == Y_FLOAT && got == Y_INT)
            got = Y_FLOAT;
        if (want != Y_STR && got != want)
            return yerr(c, m, path, "\"%.64s\" does not match its tag %.64s", s, tag);
        t = want;
    } else if (tag) {
        t = Y_STR; /* "!" : a non-specific tag makes a string */
    }
    switch (t) {
    case Y_NULL:
        return 0;
    case Y_BOOL:
        *out = json_object_new_boolean(s[0] == 't' || s[0] == 'T');
        break;
    case Y_INT: {
        int base = 10;
        const char *digits = s;
        if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
            base = s[1] == 'o' ? 8 : 16;
            digits = s + 2;
        }
        errno = 0;
        char *end = NULL;
        long long v = strtoll(digits, &end, base);
        if (errno == ERANGE || !end || *end)
            return yerr(c, m, path, "integer out of range: %.64s", s);
        *out = json_object_new_int64((int64_t)v);
        break;
    }
    case Y_FLOAT: {
        const char *p = s + ((s[0] == '-' || s[0] == '+') ? 1 : 0);
        double v;
        if (p[0] == '.' && (p[1] == 'i' || p[1] == 'I'))
            v = s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
        else if (p[0] == '.' && (p[1] == 'n' || p[1] == 'N'))
            v = NAN;
        else
            v = strtod(s, NULL);
        *out = json_object_new_double(v);
        break;
    }
    case Y_STR:
        *out = json_object_new_string_len(s, (int)n);
        break;
    }
    if (!*out)
        return hk_error_nomem(c->ctx);
    return add_mark(c, *out, m);
}

/* --------------------------------------------------------------- nodes */

static int convert_node(yconv *c, const yaml_event_t *ev, int depth, const char *path,
                        json_object **out);

static size_t
anchor_hash(const char *name)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* The slot of @name in the anchor table: its entry, or the empty slot where it
 * goes.  The table is never full (at most half). */
static size_t
anchor_slot(const yconv *c, const char *name)
{
    size_t mask = c->n_slots - 1;
    for (size_t i = anchor_hash(name) & mask;; i = (i + 1) & mask) {
        size_t a = c->anchor_slots[i];
        if (a == SIZE_MAX || !strcmp(c->anchors[a].name, name))
            return i;
    }
}

static int
grow_slots(yconv *c)
{
    size_t n = c->n_slots ? c->n_slots * 2 : 64;
    size_t *old = c->anchor_slots;
    size_t old_n = c->n_slots;
    if (!(c->anchor_slots = malloc(n * sizeof(*c->anchor_slots)))) {
        c->anchor_slots = old;
        return hk_error_nomem(c->ctx);
    }
    for (size_t i = 0; i < n; i++)
        c->anchor_slots[i] = SIZE_MAX;
    c->n_slots = n;
    for (size_t i = 0; i < old_n; i++)
        if (old[i] != SIZE_MAX)
            c->anchor_slots[anchor_slot(c, c->anchors[old[i]].name)] = old[i];
    free(old);
    return 0;
}

static int
add_anchor(yconv *c, const char *name, json_object *obj, size_t nodes)
{
    if (c->n_anchors == c->cap_anchors) {
        size_t cap = c->cap_anchors ? c->cap_anchors * 2 : 16;
        yanchor *na = realloc(c->anchors, cap * sizeof(*na));
        if (!na)
            return hk_error_nomem(c->ctx);
        c->anchors = na;
        c->cap_anchors = cap;
    }
    if (2 * (c->n_anchors + 1) > c->n_slots && grow_slots(c) < 0)
        return H2K_ERR_NO_MEMORY;
    char *dup = strdup(name);
    if (!dup)
        return hk_error_nomem(c->ctx);
    /* a redefinition takes the slot: the latest definition wins */
    size_t slot = anchor_slot(c, name);
    c->anchors[c->n_anchors] = (yanchor){dup, obj, nodes};
    c->anchor_slots[slot] = c->n_anchors++;
    return 0;
}

static int
expand_alias(yconv *c, const yaml_event_t *ev, const char *path, json_object **out)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const yanchor *a = NULL;
    if (c->n_slots) {
        size_t idx = c->anchor_slots[anchor_slot(c, name)];
        if (idx != SIZE_MAX)
            a = &c->anchors[idx];
    }
    if (!a)
        return yerr(c, ev->start_mark, path, "unknown alias *%.64s", name);
    /* an alias costs what it expands to: nested aliases cannot multiply past the bound */
    if (a->nodes > YAML_MAX_NODES - c->nodes + 1)
        return yerr(c, ev->start_mark, path,
                    "alias *%.64s expands the plan past %u values (nested aliases, "
                    "\"billion laughs\"): refused",
                    name, YAML_MAX_NODES);
    c->nodes += a->nodes - 1; /* the caller counted one */
    if (!a->obj)
        return 0;
    if (json_object_deep_copy(a->obj, out, NULL) != 0 || !*out)
        return hk_error_nomem(c->ctx);
    return add_mark(c, *out, ev->start_mark);
}

static int
convert_sequence(yconv *c, int depth, const char *path, json_object *arr)
{
    int rc = 0;
    for (size_t i = 0;; i++) {
        yaml_event_t ev;
        if ((rc = next_event(c, &ev)) < 0)
            return rc;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        char sub[YAML_PATH_MAX];
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        json_object *child = NULL;
        rc = convert_node(c, &ev, depth + 1, sub, &child);
        yaml_event_delete(&ev);
        if (rc < 0)
            return rc;
        if (json_object_array_add(arr, child) != 0) {
            json_object_put(child);
            return hk_error_nomem(c->ctx);
        }
    }
}

static int
convert_mapping(yconv *c, int depth, const char *path, json_object *obj)
{
    int rc = 0;
    for (;;) {
        yaml_event_t kev;
        if ((rc = next_event(c, &kev)) < 0)
            return rc;
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            return 0;
        }
        if (kev.type != YAML_SCALAR_EVENT) {
            rc = yerr(c, kev.start_mark, path, "a key must be a plain string, not a %s",
                      kev.type == YAML_ALIAS_EVENT ? "alias" : "collection");
            yaml_event_delete(&kev);
            return rc;
        }
        const char *key = (const char *)kev.data.scalar.value;
        char sub[YAML_PATH_MAX];
        snprintf(sub, sizeof(sub), "%s%s%.64s", path, *path ? "." : "", key);
        if (memchr(key, '\0', kev.data.scalar.length))
            rc = yerr(c, kev.start_mark, path, "a NUL character in a key");
        else if (kev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(key, "<<"))
            rc = yerr(c, kev.start_mark, path,
                      "merge keys (<<) are not supported: use the plan's \"defaults\"");
        else if (json_object_object_get_ex(obj, key, NULL))
            rc = yerr(c, kev.start_mark, sub, "duplicate key \"%.64s\"", key);
        if (rc < 0) {
            yaml_event_delete(&kev);
            return rc;
        }
        yaml_event_t vev;
        if ((rc = next_event(c, &vev)) < 0) {
            yaml_event_delete(&kev);
            return rc;
        }
        json_object *child = NULL;
        rc = convert_node(c, &vev, depth + 1, sub, &child);
        yaml_event_delete(&vev);
        if (rc == 0 && json_object_object_add(obj, key, child) != 0) {
            json_object_put(child);
            rc = hk_error_nomem(c->ctx);
        }
        yaml_event_delete(&kev);
        if (rc < 0)
            return rc;
    }
}

/* Converts the node that starts with @ev (owned by the caller). */
static int
convert_node(yconv *c, const yaml_event_t *ev, int depth, const char *path, json_object **out)
{
    *out = NULL;
    if (depth > YAML_MAX_DEPTH)
        return yerr(c, ev->start_mark, path, "nested deeper than %d levels", YAML_MAX_DEPTH);
    if (c->nodes >= YAML_MAX_NODES)
        return yerr(c, ev->start_mark, path, "more than %u values", YAML_MAX_NODES);
    size_t before = c->nodes++;
    const char *anchor = NULL;
    int rc;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return expand_alias(c, ev, path, out);
    case YAML_SCALAR_EVENT:
        anchor = (const char *)ev->data.scalar.anchor;
        rc = scalar_to_json(c, ev, path, out);
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = (const char *)ev->data.sequence_start.anchor;
        if (ev->data.sequence_start.tag &&
            strcmp((const char *)ev->data.sequence_start.tag, TAG_PREFIX "seq") != 0)
            return yerr(c, ev->start_mark, path, "unsupported tag %.64s",
                        (const char *)ev->data.sequence_start.tag);
        if (!(*out = json_object_new_array()))
            return hk_error_nomem(c->ctx);
        if ((rc = add_mark(c, *out, ev->start_mark)) == 0)
            rc = convert_sequence(c, depth, path, *out);
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = (const char *)ev->data.mapping_start.anchor;
        if (ev->data.mapping_start.tag &&
            strcmp((const char *)ev->data.mapping_start.tag, TAG_PREFIX "map") != 0)
            return yerr(c, ev->start_mark, path, "unsupported tag %.64s",
                        (const char *)ev->data.mapping_start.tag);
        if (!(*out = json_object_new_object()))
            return hk_error_nomem(c->ctx);
        if ((rc = add_mark(c, *out, ev->start_mark)) == 0)
            rc = convert_mapping(c, depth, path, *out);
        break;
    default:
        return yerr(c, ev->start_mark, path, "unexpected YAML event %d", (int)ev->type);
    }
    if (rc == 0 && anchor)
        rc = add_anchor(c, anchor, *out, c->nodes - before);
    if (rc < 0) {
        json_object_put(*out);
        *out = NULL;
    }
    return rc;
}

/* The single document of the stream, as a json-c tree (caller puts). */
static int
convert_stream(yconv *c, json_object **out)
{
    yaml_event_t ev;
    int rc;
    *out = NULL;
    if ((rc = next_event(c, &ev)) < 0)
        return rc;
    yaml_event_type_t t = ev.type;
    yaml_event_delete(&ev); /* STREAM_START */
    if (t != YAML_STREAM_START_EVENT)
        return hk_error_at(c->ctx, H2K_ERR_FORMAT, c->doc, -1, NULL, "invalid YAML stream");
    if ((rc = next_event(c, &ev)) < 0)
        return rc;
    if (ev.type != YAML_DOCUMENT_START_EVENT) {
        yaml_event_delete(&ev);
        return hk_error_at(c->ctx, H2K_ERR_FORMAT, c->doc, -1, NULL, "empty plan");
    }
    yaml_event_delete(&ev);
    if ((rc = next_event(c, &ev)) < 0)
        return rc;
    json_object *root = NULL;
    rc = convert_node(c, &ev, 1, "", &root);
    yaml_event_delete(&ev);
    if (rc < 0)
        return rc;
    if ((rc = next_event(c, &ev)) < 0) /* DOCUMENT_END */
        goto fail;
    yaml_event_delete(&ev);
    if ((rc = next_event(c, &ev)) < 0)
        goto fail;
    if (ev.type != YAML_STREAM_END_EVENT) {
        rc = yerr(c, ev.start_mark, NULL, "a plan is one YAML document, this is a second one");
        yaml_event_delete(&ev);
        goto fail;
    }
    yaml_event_delete(&ev);
    *out = root;
    return 0;
fail:
    json_object_put(root);
    return rc;
}

/* ------------------------------------------------- errors of the checks */

/* The value named by a field path such as "vms[1].inputs", or NULL. */
static json_object *
resolve_field(json_object *root, const char *field)
{
    json_object *cur = root;
    const char *p = field;
    while (cur && *p) {
        if (*p == '[') {
            char *end = NULL;
            unsigned long idx = strtoul(p + 1, &end, 10);
            if (!end || *end != ']' || !json_object_is_type(cur, json_type_array) ||
                idx >= json_object_array_length(cur))
                return NULL;
            cur = json_object_array_get_idx(cur, idx);
            p = end + 1;
        } else {
            if (*p == '.')
                p++;
            size_t n = strcspn(p, ".[");
            char key[128];
            if (n >= sizeof(key) || !json_object_is_type(cur, json_type_object))
                return NULL;
            memcpy(key, p, n);
            key[n] = '\0';
            if (!json_object_object_get_ex(cur, key, &cur))
                return NULL;
            p += n;
        }
    }
    return cur;
}

/* The plan checks know the field but not the line: add it to their error. */
static void
locate_error(yconv *c, json_object *root)
{
    const h2k_error *e = h2k_ctx_last_error(c->ctx);
    if (e->code != H2K_ERR_FORMAT)
        return;
    char *field = hk_strdup0(e->field);
    char *msg = hk_strdup0(e->message);
    if (!msg || (e->field && !field))
        goto done;
    /* a missing field: the nearest enclosing value that exists */
    json_object *node = root;
    if (field) {
        char *path = strdup(field);
        if (!path)
            goto done;
        while (!(node = resolve_field(root, path)) && *path) {
            char *cut = path + strlen(path);
            while (cut > path && *cut != '.' && *cut != '[')
                cut--;
            *cut = '\0';
        }
        free(path);
    }
    /* "vms[0]: \"format\" must be ...": point at the value of the key named */
    if (node && json_object_is_type(node, json_type_object)) {
        for (const char *q = strchr(msg, '"'); q; q = strchr(q + 1, '"')) {
            const char *qe = strchr(q + 1, '"');
            json_object *v;
            if (!qe)
                break;
            char key[128];
            size_t n = (size_t)(qe - q - 1);
            if (n > 0 && n < sizeof(key)) {
                memcpy(key, q + 1, n);
                key[n] = '\0';
                if (json_object_object_get_ex(node, key, &v) && find_mark(c, v)) {
                    node = v;
                    break;
                }
            }
            q = qe;
        }
    }
    const ymark *m = find_mark(c, node);
    if (!m)
        goto done;
    /* strip what hk_error_at adds again: "DOC: " and " (field F)" */
    char *core = msg;
    size_t dl = strlen(c->doc);
    if (!strncmp(core, c->doc, dl) && !strncmp(core + dl, ": ", 2))
        core += dl + 2;
    if (field) {
        char *suffix = hk_asprintf(" (field %s)", field);
        size_t cl = strlen(core), sl = suffix ? strlen(suffix) : 0;
        if (suffix && cl >= sl && !strcmp(core + cl - sl, suffix))
            core[cl - sl] = '\0';
        free(suffix);
    }
    hk_error_at(c->ctx, H2K_ERR_FORMAT, c->doc, -1, field, "line %zu, column %zu: %s", m->line,
                m->column, core);
done:
    free(field);
    free(msg);
}

/* ----------------------------------------------------------------- API */

int
h2k_plan_parse_yaml(h2k_ctx *ctx, const char *text, size_t len, const char *base_dir,
                    const char *name_for_errors, h2k_plan **out)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!text || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_plan_parse_yaml: NULL argument");
    *out = NULL;
    yconv c;
    memset(&c, 0, sizeof(c));
    c.ctx = ctx;
    c.doc = name_for_errors ? name_for_errors : "plan";
    if (len > YAML_MAX_SIZE)
        return hk_error_at(ctx, H2K_ERR_FORMAT, c.doc, -1, NULL, "plan too large");
    if (!yaml_parser_initialize(&c.parser))
        return hk_error_nomem(ctx);
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
    json_object *root = NULL;
    int rc = convert_stream(&c, &root);
    if (rc == 0) {
        rc = hk_plan_from_json(ctx, root, base_dir, c.doc, out);
        if (rc < 0)
            locate_error(&c, root);
    }
    json_object_put(root);
    yaml_parser_delete(&c.parser);
    for (size_t i = 0; i < c.n_anchors; i++)
        free(c.anchors[i].name);
    free(c.anchors);
    free(c.anchor_slots);
    free(c.marks);
    return rc;
}
