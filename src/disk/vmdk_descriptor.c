/*
 * Pure parsers of VMDK metadata: descriptor text and sparse headers.
 * No file access here; see vmdk_descriptor.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/probe_internal.h"
#include "disk/vmdk_descriptor.h"

static const char *const extent_type_names[] = {
    [HK_VMDK_EXTENT_SPARSE] = "SPARSE",
    [HK_VMDK_EXTENT_FLAT] = "FLAT",
    [HK_VMDK_EXTENT_ZERO] = "ZERO",
    [HK_VMDK_EXTENT_VMFS] = "VMFS",
    [HK_VMDK_EXTENT_VMFSSPARSE] = "VMFSSPARSE",
    [HK_VMDK_EXTENT_SESPARSE] = "SESPARSE",
    [HK_VMDK_EXTENT_VMFSRDM] = "VMFSRDM",
    [HK_VMDK_EXTENT_VMFSRAW] = "VMFSRAW",
};

const char *
hk_vmdk_extent_type_name(hk_vmdk_extent_type t)
{
    if ((size_t)t < HK_ARRAY_LEN(extent_type_names))
        return extent_type_names[t];
    return "UNKNOWN";
}

void
hk_vmdk_descriptor_clear(hk_vmdk_descriptor *d)
{
    if (!d)
        return;
    free(d->encoding);
    free(d->create_type);
    free(d->parent_hint);
    for (size_t i = 0; i < d->n_extents; i++)
        free(d->extents[i].file);
    free(d->extents);
    for (size_t i = 0; i < d->n_ddb; i++) {
        free(d->ddb[i].key);
        free(d->ddb[i].value);
    }
    free(d->ddb);
    memset(d, 0, sizeof(*d));
}

const char *
hk_vmdk_descriptor_ddb(const hk_vmdk_descriptor *d, const char *key)
{
    for (size_t i = 0; d && key && i < d->n_ddb; i++)
        if (hk_streq_nocase(d->ddb[i].key, key))
            return d->ddb[i].value;
    return NULL;
}

/* ------------------------------------------------------------ descriptor */

/* State shared by the line parsers. */
typedef struct parse_state {
    h2k_ctx *ctx;
    const char *path;
    uint64_t base;     /* file offset of the text */
    uint64_t line_off; /* offset of the current line in the text */
    unsigned line;
    unsigned blank_from; /* first of the blank lines right before this one, 0: none */
    hk_vmdk_descriptor *d;
    bool seen_version, seen_encoding, seen_cid, seen_parent_cid, seen_create_type, seen_parent_hint;
} parse_state;

#define PERR(st, field, ...)                                                                       \
    hk_error_at((st)->ctx, H2K_ERR_FORMAT, (st)->path, (int64_t)((st)->base + (st)->line_off),     \
                (field), __VA_ARGS__)

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Next whitespace-delimited token of @s (advanced); returns its length, 0 at the end. */
static size_t
next_token(const char **s, const char **tok)
{
    const char *p = *s;
    while (*p && is_space(*p))
        p++;
    *tok = p;
    while (*p && !is_space(*p))
        p++;
    *s = p;
    return (size_t)(p - *tok);
}

static bool
tok_is(const char *tok, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(tok, word, n) == 0;
}

/* Parses a CID: 1..8 hex digits. */
static bool
parse_cid(const char *v, uint32_t *out)
{
    size_t n = strlen(v);
    if (n == 0 || n > 8)
        return false;
    uint64_t x;
    char tmp[16];
    snprintf(tmp, sizeof(tmp), "0x%s", v);
    if (!hk_parse_u64(tmp, &x, true) || x > UINT32_MAX)
        return false;
    *out = (uint32_t)x;
    return true;
}

/* Unquotes @v in place (a value may be "quoted" or bare).  False on a lone quote. */
static bool
unquote(char *v)
{
    size_t n = strlen(v);
    if (n == 0 || v[0] != '"') {
        return strchr(v, '"') == NULL;
    }
    if (n < 2 || v[n - 1] != '"')
        return false;
    memmove(v, v + 1, n - 2);
    v[n - 2] = '\0';
    return strchr(v, '"') == NULL;
}

static int
set_string(parse_state *st, bool *seen, char **slot, const char *key, const char *val)
{
    if (*seen)
        return PERR(st, key, "line %u: key %s is given twice", st->line, key);
    *seen = true;
    *slot = strdup(val);
    return *slot ? 0 : hk_error_nomem(st->ctx);
}

static int
parse_key_value(parse_state *st, char *line, char *eq)
{
    *eq = '\0';
    char *key = hk_strtrim(line);
    char *val = hk_strtrim(eq + 1);
    hk_vmdk_descriptor *d = st->d;
    if (!*key)
        return PERR(st, "descriptor", "line %u: empty key before '='", st->line);
    for (const char *k = key; *k; k++)
        if (is_space(*k) || *k == '"')
            return PERR(st, "descriptor", "line %u: malformed key \"%s\"", st->line, key);
    if (!unquote(val))
        return PERR(st, key, "line %u: unbalanced quotes in the value of %s", st->line, key);

    if (hk_startswith(key, "ddb.") || hk_startswith(key, "DDB.")) {
        if (d->n_ddb >= HK_VMDK_MAX_DDB)
            return PERR(st, key, "line %u: more than %u disk database entries", st->line,
                        HK_VMDK_MAX_DDB);
        if (hk_vmdk_descriptor_ddb(d, key))
            return PERR(st, key, "line %u: key %s is given twice", st->line, key);
        hk_vmdk_ddb_entry *n = realloc(d->ddb, (d->n_ddb + 1) * sizeof(*n));
        if (!n)
            return hk_error_nomem(st->ctx);
        d->ddb = n;
        n[d->n_ddb].key = strdup(key);
        n[d->n_ddb].value = strdup(val);
        d->n_ddb++;
        if (!n[d->n_ddb - 1].key || !n[d->n_ddb - 1].value)
            return hk_error_nomem(st->ctx);
        return 0;
    }
    if (hk_streq_nocase(key, "version")) {
        uint64_t v;
        if (st->seen_version)
            return PERR(st, "version", "line %u: key version is given twice", st->line);
        st->seen_version = true;
        if (!hk_parse_u64(val, &v, false) || v < 1 || v > 3)
            return PERR(st, "version", "line %u: unsupported descriptor version \"%s\"", st->line,
                        val);
        d->version = (unsigned)v;
        return 0;
    }
    if (hk_streq_nocase(key, "CID") || hk_streq_nocase(key, "parentCID")) {
        bool parent = hk_streq_nocase(key, "parentCID");
        bool *seen = parent ? &st->seen_parent_cid : &st->seen_cid;
        const char *field = parent ? "parentCID" : "CID";
        if (*seen)
            return PERR(st, field, "line %u: key %s is given twice", st->line, field);
        *seen = true;
        uint32_t v;
        if (!parse_cid(val, &v))
            return PERR(st, field, "line %u: %s \"%s\" is not a 32-bit hexadecimal number",
                        st->line, field, val);
        if (parent) {
            d->has_parent_cid = true;
            d->parent_cid = v;
        } else {
            d->has_cid = true;
            d->cid = v;
        }
        return 0;
    }
    if (hk_streq_nocase(key, "createType")) {
        if (!*val)
            return PERR(st, "createType", "line %u: empty createType", st->line);
        return set_string(st, &st->seen_create_type, &d->create_type, "createType", val);
    }
    if (hk_streq_nocase(key, "parentFileNameHint")) {
        if (!*val)
            return PERR(st, "parentFileNameHint", "line %u: empty parentFileNameHint", st->line);
        return set_string(st, &st->seen_parent_hint, &d->parent_hint, "parentFileNameHint", val);
    }
    if (hk_streq_nocase(key, "encoding"))
        return set_string(st, &st->seen_encoding, &d->encoding, "encoding", val);
    /* unknown keys (isNativeSnapshot, changeTrackPath, ...) are tolerated */
    return 0;
}

static bool
extent_type_from(const char *tok, size_t n, hk_vmdk_extent_type *out)
{
    for (size_t i = 0; i < HK_ARRAY_LEN(extent_type_names); i++) {
        if (tok_is(tok, n, extent_type_names[i])) {
            *out = (hk_vmdk_extent_type)i;
            return true;
        }
    }
    return false;
}

static int
parse_extent(parse_state *st, const char *line, const char *access)
{
    hk_vmdk_descriptor *d = st->d;
    const char *p = line, *tok;
    size_t n;
    char num[32];

    next_token(&p, &tok); /* the access word, already recognised */
    n = next_token(&p, &tok);
    if (n == 0 || n >= sizeof(num))
        return PERR(st, "extent", "line %u: extent size in sectors is missing or too long",
                    st->line);
    memcpy(num, tok, n);
    num[n] = '\0';
    uint64_t sectors;
    if (!hk_parse_u64(num, &sectors, false))
        return PERR(st, "extent", "line %u: extent size \"%s\" is not a number", st->line, num);
    if (sectors == 0)
        return PERR(st, "extent", "line %u: extent of 0 sectors", st->line);
    if (sectors > HK_MAX_VIRTUAL_SIZE / 512 ||
        d->total_sectors > HK_MAX_VIRTUAL_SIZE / 512 - sectors)
        return PERR(st, "extent", "line %u: extents add up to more than the %llu-byte limit",
                    st->line, (unsigned long long)HK_MAX_VIRTUAL_SIZE);

    n = next_token(&p, &tok);
    hk_vmdk_extent_type type;
    if (n == 0)
        return PERR(st, "extent", "line %u: extent type is missing", st->line);
    if (!extent_type_from(tok, n, &type))
        return PERR(st, "extent", "line %u: unknown extent type \"%.*s\"", st->line,
                    (int)(n > 32 ? 32 : n), tok);

    char *file = NULL;
    while (*p && is_space(*p))
        p++;
    if (*p == '"') {
        const char *end = strchr(p + 1, '"');
        if (!end)
            return PERR(st, "extent", "line %u: extent file name has no closing quote", st->line);
        if (end == p + 1)
            return PERR(st, "extent", "line %u: empty extent file name", st->line);
        file = hk_strndup(p + 1, (size_t)(end - p - 1));
        if (!file)
            return hk_error_nomem(st->ctx);
        p = end + 1;
        if (*p && !is_space(*p)) {
            free(file);
            return PERR(st, "extent", "line %u: junk after the extent file name", st->line);
        }
    } else if (*p) {
        return PERR(st, "extent", "line %u: extent file name must be in double quotes", st->line);
    }

    bool has_offset = false;
    uint64_t offset = 0;
    n = next_token(&p, &tok);
    if (n) {
        bool ok = n < sizeof(num);
        if (ok) {
            memcpy(num, tok, n);
            num[n] = '\0';
            ok = hk_parse_u64(num, &offset, false);
        }
        if (!ok) {
            free(file);
            return PERR(st, "extent", "line %u: extent offset is not a number", st->line);
        }
        has_offset = true;
        if (next_token(&p, &tok)) {
            free(file);
            return PERR(st, "extent", "line %u: unexpected text after the extent offset", st->line);
        }
    }

    if (type != HK_VMDK_EXTENT_ZERO && !file)
        return PERR(st, "extent", "line %u: %s extent without a file name", st->line,
                    hk_vmdk_extent_type_name(type));
    if (type == HK_VMDK_EXTENT_ZERO && has_offset) {
        free(file);
        return PERR(st, "extent", "line %u: ZERO extent with an offset", st->line);
    }
    if (has_offset && offset != 0 &&
        (type == HK_VMDK_EXTENT_SPARSE || type == HK_VMDK_EXTENT_VMFSSPARSE ||
         type == HK_VMDK_EXTENT_SESPARSE)) {
        free(file);
        return PERR(st, "extent", "line %u: %s extent cannot start at offset %llu", st->line,
                    hk_vmdk_extent_type_name(type), (unsigned long long)offset);
    }
    if (offset > HK_MAX_VIRTUAL_SIZE / 512) {
        free(file);
        return PERR(st, "extent", "line %u: extent offset %llu sectors is implausibly large",
                    st->line, (unsigned long long)offset);
    }
    if (d->n_extents >= HK_VMDK_MAX_EXTENTS) {
        free(file);
        return PERR(st, "extent", "line %u: more than %u extents", st->line, HK_VMDK_MAX_EXTENTS);
    }
    hk_vmdk_extent_line *ne = realloc(d->extents, (d->n_extents + 1) * sizeof(*ne));
    if (!ne) {
        free(file);
        return hk_error_nomem(st->ctx);
    }
    d->extents = ne;
    hk_vmdk_extent_line *e = &ne[d->n_extents++];
    e->access = access;
    e->sectors = sectors;
    e->type = type;
    e->file = file;
    e->has_offset = has_offset;
    e->offset = offset;
    e->line = st->line;
    e->text_offset = st->line_off;
    d->total_sectors += sectors;
    return 0;
}

static int
parse_line(parse_state *st, char *line)
{
    char *s = hk_strtrim(line);
    unsigned blank_from = st->blank_from;
    if (*s == '\0') {
        if (!st->blank_from)
            st->blank_from = st->line;
        return 0;
    }
    st->blank_from = 0;
    if (*s == '#')
        return 0;
    static const char *const access_words[] = {"RW", "RDONLY", "NOACCESS"};
    for (size_t i = 0; i < HK_ARRAY_LEN(access_words); i++) {
        size_t n = strlen(access_words[i]);
        if (strncmp(s, access_words[i], n) != 0 || (s[n] != '\0' && !is_space(s[n])))
            continue;
        /* qemu (7.2) scans each line with sscanf("%s ..."), which skips newlines:
         * a blank line reads the extent line after it, so that extent is counted
         * once more per blank line before it (a disk of twice the size, the same
         * data twice).  Such a descriptor means two different disks: refused. */
        if (blank_from)
            return PERR(st, "extent",
                        "line %u: the extent line follows blank line %u; qemu-img reads "
                        "an extent once more for each blank line right before it (the "
                        "disk would not be the one VMware describes): remove the blank "
                        "line%s",
                        st->line, blank_from, blank_from + 1 < st->line ? "s" : "");
        /* qemu (7.2) reads only RW extents and leaves the others out of the disk
         * (the extents after them move up; with none left it aborts), while VMware
         * reads an RDONLY extent as part of the disk: two different disks. */
        if (i != 0)
            return PERR(st, "extent",
                        "line %u: %s extent; qemu-img reads only RW extents and would leave "
                        "this one out of the disk (the disk would not be the one VMware "
                        "describes): make the extent RW in a copy of the descriptor if its "
                        "data belongs to the disk",
                        st->line, access_words[i]);
        return parse_extent(st, s, access_words[i]);
    }
    char *eq = strchr(s, '=');
    if (eq)
        return parse_key_value(st, s, eq);
    return PERR(st, "descriptor", "line %u: not a \"key = value\" pair nor an extent: \"%.40s\"",
                st->line, s);
}

int
hk_vmdk_descriptor_parse(h2k_ctx *ctx, const char *text, size_t len, const char *path,
                         uint64_t base_offset, hk_vmdk_descriptor *out)
{
    memset(out, 0, sizeof(*out));
    const char *nul = memchr(text, '\0', len);
    if (nul)
        len = (size_t)(nul - text);
    if (len > HK_VMDK_MAX_DESCRIPTOR)
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)base_offset, "descriptor",
                           "descriptor is larger than %llu bytes",
                           (unsigned long long)HK_VMDK_MAX_DESCRIPTOR);
    parse_state st = {.ctx = ctx, .path = path, .base = base_offset, .d = out};
    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3;
    char *line = malloc(len + 1);
    if (!line)
        return hk_error_nomem(ctx);
    int rc = 0;
    while (pos < len) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        memcpy(line, start, n);
        line[n] = '\0';
        st.line++;
        st.line_off = pos;
        pos += n + (nl ? 1 : 0);
        if ((rc = parse_line(&st, line)) < 0)
            break;
    }
    free(line);
    if (rc < 0)
        hk_vmdk_descriptor_clear(out);
    return rc;
}

/* ------------------------------------------------------------ validation */

typedef struct create_type_info {
    const char *name;
    unsigned allowed; /* bit mask of hk_vmdk_extent_type */
    bool monolithic;  /* exactly one extent */
    bool unsupported; /* raw devices */
} create_type_info;

#define EXT(t) (1u << HK_VMDK_EXTENT_##t)

static const create_type_info create_types[] = {
    {"monolithicSparse", EXT(SPARSE), true, false},
    {"streamOptimized", EXT(SPARSE), true, false},
    {"twoGbMaxExtentSparse", EXT(SPARSE) | EXT(ZERO), false, false},
    {"monolithicFlat", EXT(FLAT) | EXT(ZERO), false, false},
    {"twoGbMaxExtentFlat", EXT(FLAT) | EXT(ZERO), false, false},
    {"vmfs", EXT(VMFS) | EXT(FLAT) | EXT(ZERO), false, false},
    {"vmfsThin", EXT(VMFS) | EXT(FLAT) | EXT(ZERO), false, false},
    {"vmfsPreallocated", EXT(VMFS) | EXT(FLAT) | EXT(ZERO), false, false},
    {"vmfsEagerZeroedThick", EXT(VMFS) | EXT(FLAT) | EXT(ZERO), false, false},
    {"vmfsSparse", EXT(VMFSSPARSE) | EXT(ZERO), false, false},
    {"seSparse", EXT(SESPARSE), false, false},
    {"custom", EXT(SPARSE) | EXT(FLAT) | EXT(ZERO) | EXT(VMFS) | EXT(VMFSSPARSE) | EXT(SESPARSE),
     false, false},
    {"vmfsRaw", EXT(VMFSRAW) | EXT(VMFSRDM), false, true},
    {"vmfsRDM", EXT(VMFSRAW) | EXT(VMFSRDM), false, true},
    {"vmfsRawDeviceMap", EXT(VMFSRAW) | EXT(VMFSRDM), false, true},
    {"vmfsPassthroughRawDeviceMap", EXT(VMFSRAW) | EXT(VMFSRDM), false, true},
    {"fullDevice", EXT(FLAT), false, true},
    {"partitionedDevice", EXT(FLAT) | EXT(ZERO), false, true},
};

int
hk_vmdk_descriptor_validate(h2k_ctx *ctx, const hk_vmdk_descriptor *d, const char *path,
                            uint64_t base, bool embedded)
{
    const create_type_info *ct = NULL;
    if (d->create_type) {
        for (size_t i = 0; i < HK_ARRAY_LEN(create_types); i++)
            if (strcmp(create_types[i].name, d->create_type) == 0)
                ct = &create_types[i];
        if (!ct)
            return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, path, (int64_t)base, "createType",
                               "unsupported VMDK createType \"%s\"", d->create_type);
        if (ct->unsupported)
            return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, path, (int64_t)base, "createType",
                               "createType \"%s\" maps a raw host device, which cannot be "
                               "migrated as an image file",
                               d->create_type);
    } else if (!embedded) {
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)base, "createType",
                           "descriptor has no createType");
    }
    if (!embedded && d->n_extents == 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)base, "extent",
                           "descriptor lists no extent");
    for (size_t i = 0; i < d->n_extents; i++) {
        const hk_vmdk_extent_line *e = &d->extents[i];
        int64_t off = (int64_t)(base + e->text_offset);
        if (e->type == HK_VMDK_EXTENT_VMFSRDM || e->type == HK_VMDK_EXTENT_VMFSRAW)
            return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, path, off, "extent",
                               "line %u: %s extent \"%s\" maps a raw host device, which "
                               "cannot be migrated as an image file",
                               e->line, hk_vmdk_extent_type_name(e->type), e->file);
        if (ct && !(ct->allowed & (1u << e->type)))
            return hk_error_at(ctx, H2K_ERR_FORMAT, path, off, "extent",
                               "line %u: createType \"%s\" does not allow a %s extent", e->line,
                               ct->name, hk_vmdk_extent_type_name(e->type));
        if (e->type == HK_VMDK_EXTENT_FLAT && !e->has_offset)
            return hk_error_at(ctx, H2K_ERR_FORMAT, path, off, "extent",
                               "line %u: FLAT extent without its offset", e->line);
    }
    if (ct && ct->monolithic && d->n_extents > 1)
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)(base + d->extents[1].text_offset),
                           "extent", "createType \"%s\" must have a single extent, found %zu",
                           ct->name, d->n_extents);
    if (d->has_parent_cid && d->parent_cid != HK_VMDK_NO_PARENT_CID && !d->parent_hint)
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)base, "parentFileNameHint",
                           "delta disk (parentCID=%08x) does not name its parent", d->parent_cid);
    return 0;
}

/* ------------------------------------------------------------ headers */

static uint16_t
le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t
le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

void
hk_vmdk_sparse_header_decode(const uint8_t b[512], hk_vmdk_sparse_header *h)
{
    h->magic = le32(b);
    h->version = le32(b + 4);
    h->flags = le32(b + 8);
    h->capacity = le64(b + 12);
    h->grain_size = le64(b + 20);
    h->descriptor_offset = le64(b + 28);
    h->descriptor_size = le64(b + 36);
    h->num_gtes_per_gt = le32(b + 44);
    h->rgd_offset = le64(b + 48);
    h->gd_offset = le64(b + 56);
    h->overhead = le64(b + 64);
    h->unclean_shutdown = b[72];
    h->single_end_line = (char)b[73];
    h->non_end_line = (char)b[74];
    h->double_end_line1 = (char)b[75];
    h->double_end_line2 = (char)b[76];
    h->compress_algorithm = le16(b + 77);
}

static bool
is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

uint64_t
hk_vmdk_sparse_gd_entries(const hk_vmdk_sparse_header *h)
{
    uint64_t per_gt = h->grain_size * h->num_gtes_per_gt; /* checked: <= 2^30 */
    if (!per_gt)
        return 0;
    return h->capacity / per_gt + (h->capacity % per_gt ? 1 : 0);
}

/* True when [off_sectors*512, +bytes) lies within @size bytes. */
static bool
sectors_fit(uint64_t off_sectors, uint64_t bytes, uint64_t size)
{
    if (off_sectors > size / 512)
        return false;
    uint64_t off = off_sectors * 512;
    return bytes <= size - off;
}

#define HERR(field, fo, ...)                                                                       \
    hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)(file_offset + (fo)), (field), __VA_ARGS__)

int
hk_vmdk_sparse_header_check(h2k_ctx *ctx, const hk_vmdk_sparse_header *h, uint64_t image_size,
                            const char *path, uint64_t file_offset, bool allow_gd_at_end)
{
    if (h->magic != 0x564d444bu)
        return HERR("magic", 0, "bad sparse extent magic 0x%08x (want \"KDMV\")", h->magic);
    if (h->version < 1 || h->version > 3)
        return HERR("version", 4, "unsupported sparse extent version %u", h->version);
    if ((h->flags & HK_VMDK_FLAG_NL_DETECT) &&
        (h->single_end_line != '\n' || h->non_end_line != ' ' || h->double_end_line1 != '\r' ||
         h->double_end_line2 != '\n'))
        return HERR("singleEndLineChar", 73,
                    "newline-detection bytes are damaged: the file was transferred in "
                    "text mode");
    if (h->capacity == 0)
        return HERR("capacity", 12, "capacity is 0 sectors");
    if (h->capacity > HK_MAX_VIRTUAL_SIZE / 512)
        return HERR("capacity", 12, "capacity of %llu sectors exceeds the %llu-byte limit",
                    (unsigned long long)h->capacity, (unsigned long long)HK_MAX_VIRTUAL_SIZE);
    if (!is_pow2(h->grain_size) || h->grain_size < 8 || h->grain_size > HK_VMDK_MAX_GRAIN_SECTORS)
        return HERR("grainSize", 20,
                    "grain size of %llu sectors is not a power of two between 8 and %llu",
                    (unsigned long long)h->grain_size,
                    (unsigned long long)HK_VMDK_MAX_GRAIN_SECTORS);
    if (!is_pow2(h->num_gtes_per_gt) || h->num_gtes_per_gt > 512)
        return HERR("numGTEsPerGT", 44, "numGTEsPerGT %u is not a power of two up to 512",
                    h->num_gtes_per_gt);
    if (h->descriptor_offset) {
        if (h->descriptor_size == 0 || h->descriptor_size > HK_VMDK_MAX_DESCRIPTOR / 512)
            return HERR("descriptorSize", 36,
                        "embedded descriptor size of %llu sectors is 0 or over %llu bytes",
                        (unsigned long long)h->descriptor_size,
                        (unsigned long long)HK_VMDK_MAX_DESCRIPTOR);
        if (!sectors_fit(h->descriptor_offset, h->descriptor_size * 512, image_size))
            return HERR("descriptorOffset", 28,
                        "embedded descriptor (sector %llu, %llu sectors) lies beyond the end "
                        "of the image (%llu bytes)",
                        (unsigned long long)h->descriptor_offset,
                        (unsigned long long)h->descriptor_size, (unsigned long long)image_size);
    } else if (h->descriptor_size) {
        return HERR("descriptorOffset", 28,
                    "descriptorSize is %llu sectors but descriptorOffset is 0",
                    (unsigned long long)h->descriptor_size);
    }
    uint64_t gd_bytes = hk_vmdk_sparse_gd_entries(h) * 4;
    if (h->gd_offset == HK_VMDK_GD_AT_END) {
        if (!allow_gd_at_end)
            return HERR("gdOffset", 56, "grain directory deferred to a footer where none may be");
    } else {
        if (h->gd_offset == 0)
            return HERR("gdOffset", 56, "grain directory offset is 0");
        if (!sectors_fit(h->gd_offset, gd_bytes, image_size))
            return HERR("gdOffset", 56,
                        "grain directory (sector %llu, %llu bytes) lies beyond the end of the "
                        "image (%llu bytes)",
                        (unsigned long long)h->gd_offset, (unsigned long long)gd_bytes,
                        (unsigned long long)image_size);
    }
    if ((h->flags & HK_VMDK_FLAG_RGD) && h->gd_offset != HK_VMDK_GD_AT_END) {
        if (h->rgd_offset == 0 || h->rgd_offset == HK_VMDK_GD_AT_END ||
            !sectors_fit(h->rgd_offset, gd_bytes, image_size))
            return HERR("rgdOffset", 48,
                        "redundant grain directory (sector %llu) lies outside the image "
                        "(%llu bytes)",
                        (unsigned long long)h->rgd_offset, (unsigned long long)image_size);
    }
    if (!sectors_fit(h->overhead, 0, image_size))
        return HERR("overHead", 64,
                    "metadata overhead of %llu sectors is larger than the image (%llu bytes): "
                    "the file is truncated",
                    (unsigned long long)h->overhead, (unsigned long long)image_size);
    if (h->compress_algorithm > 1)
        return HERR("compressAlgorithm", 77, "unknown compression algorithm %u",
                    h->compress_algorithm);
    return 0;
}

void
hk_vmdk_cowd_header_decode(const uint8_t b[32], hk_vmdk_cowd_header *h)
{
    h->magic = le32(b);
    h->version = le32(b + 4);
    h->flags = le32(b + 8);
    h->capacity = le32(b + 12);
    h->grain_size = le32(b + 16);
    h->gd_offset = le32(b + 20);
    h->gd_entries = le32(b + 24);
    h->free_sector = le32(b + 28);
}

int
hk_vmdk_cowd_header_check(h2k_ctx *ctx, const hk_vmdk_cowd_header *h, uint64_t image_size,
                          const char *path, uint64_t file_offset)
{
    if (h->magic != 0x44574f43u)
        return HERR("magic", 0, "bad vmfsSparse magic 0x%08x (want \"COWD\")", h->magic);
    if (h->capacity == 0)
        return HERR("numSectors", 12, "capacity is 0 sectors");
    if (!is_pow2(h->grain_size) || h->grain_size > HK_VMDK_MAX_GRAIN_SECTORS)
        return HERR("grainSize", 16, "grain size of %u sectors is not a power of two up to %llu",
                    h->grain_size, (unsigned long long)HK_VMDK_MAX_GRAIN_SECTORS);
    /* a COWD grain table holds 4096 entries */
    uint64_t per_gt = (uint64_t)h->grain_size * 4096;
    uint64_t need = h->capacity / per_gt + (h->capacity % per_gt ? 1 : 0);
    if (h->gd_entries < need)
        return HERR("numGDEntries", 24,
                    "%u grain directory entries cannot map %u sectors (need %llu)", h->gd_entries,
                    h->capacity, (unsigned long long)need);
    if (h->gd_offset == 0 || !sectors_fit(h->gd_offset, (uint64_t)h->gd_entries * 4, image_size))
        return HERR("gdOffset", 20,
                    "grain directory (sector %u, %u entries) lies outside the image "
                    "(%llu bytes)",
                    h->gd_offset, h->gd_entries, (unsigned long long)image_size);
    return 0;
}

void
hk_vmdk_sesparse_header_decode(const uint8_t b[48], hk_vmdk_sesparse_header *h)
{
    h->magic = le64(b);
    h->version = le64(b + 8);
    h->capacity = le64(b + 16);
    h->grain_size = le64(b + 24);
    h->grain_table_size = le64(b + 32);
    h->flags = le64(b + 40);
}

int
hk_vmdk_sesparse_header_check(h2k_ctx *ctx, const hk_vmdk_sesparse_header *h, const char *path,
                              uint64_t file_offset)
{
    if (h->magic != HK_VMDK_SESPARSE_MAGIC)
        return HERR("magic", 0, "bad seSparse magic 0x%016llx (want 0x%016llx)",
                    (unsigned long long)h->magic, (unsigned long long)HK_VMDK_SESPARSE_MAGIC);
    if (h->version != HK_VMDK_SESPARSE_VERSION)
        return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, path, (int64_t)(file_offset + 8), "version",
                           "unsupported seSparse version 0x%016llx",
                           (unsigned long long)h->version);
    if (h->capacity == 0 || h->capacity > HK_MAX_VIRTUAL_SIZE / 512)
        return HERR("capacity", 16, "capacity of %llu sectors is 0 or over the %llu-byte limit",
                    (unsigned long long)h->capacity, (unsigned long long)HK_MAX_VIRTUAL_SIZE);
    if (!is_pow2(h->grain_size) || h->grain_size > HK_VMDK_MAX_GRAIN_SECTORS)
        return HERR("grainSize", 24, "grain size of %llu sectors is not a power of two",
                    (unsigned long long)h->grain_size);
    return 0;
}
