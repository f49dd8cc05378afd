/*
 * Private helpers of the network transforms (net_*.c): line splitting with
 * line ends kept, notes, whole-word renaming, MAC and driver recognition.
 */
#ifndef HK_FIX_NET_INTERNAL_H
#define HK_FIX_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/internal.h"
#include "core/util.h"
#include "fix/net_xform.h"

/* One physical line: content [s, s+len) without its end, then eol ("", "\n" or "\r\n"). */
typedef struct net_line {
    const char *s;
    size_t len;
    const char *eol;
    size_t eol_len;
} net_line;

/* State of one transform run. */
typedef struct net_run {
    const hk_net_policy *p;
    hk_xform_out *out;
    net_line *lines;
    size_t n;
    const char *eol; /* line end for inserted lines (the first one found, else "\n") */
    hk_buf buf;      /* the new text */
    bool changed;
    bool oom;
    size_t notes_skipped; /* notes past HK_NET_MAX_NOTES */
} net_run;

/* A line without its leading and trailing blanks, for notes: "%.*s", NET_LINE_ARGS(l). */
static inline const char *
hk_net_line_start(const net_line *l)
{
    size_t i = 0;
    while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t'))
        i++;
    return l->s + i;
}
static inline int
hk_net_line_tlen(const net_line *l)
{
    const char *s = hk_net_line_start(l);
    size_t n = l->len - (size_t)(s - l->s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return (int)n;
}
#define NET_LINE_ARGS(l) hk_net_line_tlen(l), hk_net_line_start(l)

/* Checks the arguments, splits @in into lines.  Returns 0 or a negative h2k_code. */
int hk_net_begin(net_run *r, const char *in, const hk_net_policy *p, hk_xform_out *out);
/* Hands the new text to r->out when something changed, frees the rest.
 * Returns 0 or H2K_ERR_NO_MEMORY (then r->out is cleared). */
int hk_net_finish(net_run *r);

/* One line of a line-by-line transform: keeps, drops, rewrites or renames
 * line @i of @r; @renaming is hk_net_renaming(r->p). */
typedef void (*hk_net_line_fn)(net_run *r, size_t i, bool renaming);
/* The whole of a line-by-line transform: hk_net_begin(), @fn on every line,
 * hk_net_finish().  Returns 0 or a negative h2k_code. */
int hk_net_each_line(const char *in, const hk_net_policy *p, hk_xform_out *out, hk_net_line_fn fn);
/* Drops line @i with a note when it pins the MAC [mac, mac+len) that
 * hk_net_mac_stale() finds stale; true when dropped. */
bool hk_net_drop_stale_pin(net_run *r, size_t i, const char *mac, size_t len);

/* Appends a note to r->out. */
void hk_net_note(net_run *r, const char *fmt, ...) HK_PRINTF(2, 3);
/* Copies line @i unchanged. */
void hk_net_keep(net_run *r, size_t i);
/* Writes @len bytes as the new content of line @i (its own line end follows). */
void hk_net_put(net_run *r, size_t i, const char *s, size_t len);
/* Drops line @i. */
void hk_net_drop(net_run *r, size_t i);

/* True when the policy renames at least one NIC (keep_mac false and a new name
 * that differs from the old one). */
bool hk_net_renaming(const hk_net_policy *p);
/* The NIC whose old name is renamed and equals [s, s+len), or NULL. */
const hk_nic_rename *hk_net_renamed_nic(const hk_net_policy *p, const char *s, size_t len);
/* The NIC whose effective name (new name, else old name; under keep_mac the
 * old name) equals [s, s+len), or NULL. */
const hk_nic_rename *hk_net_nic_by_name(const hk_net_policy *p, const char *s, size_t len);
/* Name the NIC has under KVM. */
const char *hk_net_target_name(const hk_net_policy *p, const hk_nic_rename *nic);

/* Appends [s, s+len) to @b with every renamed old name replaced (whole words).
 * Returns the number of replacements. */
size_t hk_net_rename_words(const hk_net_policy *p, const char *s, size_t len, hk_buf *b);
/* Same on a line, writing it (changed or not) and noting "line N: @what: old -> new". */
void hk_net_rename_line(net_run *r, size_t i, const char *what);
/* hk_net_rename_line() on @s, a rewrite of line @i: writes @s renamed, or @s
 * itself; the note's "old" is the line as it was. */
void hk_net_rename_text(net_run *r, size_t i, const char *what, const char *s, size_t len);

/* True when [s, s+len) is a MAC equal to one of the policy's (new) MACs. */
bool hk_net_mac_is_new(const hk_net_policy *p, const char *s, size_t len);
/* True when the policy gives new MACs and [s, s+len) is a MAC none of them:
 * a pin of the old hardware. */
bool hk_net_mac_stale(const hk_net_policy *p, const char *s, size_t len);
/* The policy's NIC when it has exactly one, else NULL. */
const hk_nic_rename *hk_net_only_nic(const hk_net_policy *p);
/* True for the NIC drivers of the source hypervisors (vmxnet3, e1000, hv_netvsc...). */
bool hk_net_is_source_driver(const char *s, size_t len);

/* Trims ASCII blanks (space, tab) at both ends of [*s, *s+*len). */
void hk_net_trim(const char **s, size_t *len);
/* Strips one pair of matching quotes ('...' or "..."). */
void hk_net_unquote(const char **s, size_t *len);
/* Case-sensitive comparison of [s, s+len) with a C string. */
bool hk_net_eq(const char *s, size_t len, const char *lit);
/* Case-insensitive. */
bool hk_net_eq_nocase(const char *s, size_t len, const char *lit);

/* Scanner accumulator. */
typedef struct net_refs {
    hk_net_ref *v;
    size_t n, cap;
    bool oom;
} net_refs;
/* Adds a (name, mac) pair (either may be NULL/empty; both empty: ignored; "lo"
 * dropped; exact duplicates dropped; a MAC-only entry is merged into a
 * name-only one of the same group by the callers). */
void hk_net_refs_add(net_refs *r, const char *name, size_t name_len, const char *mac,
                     size_t mac_len);

/* Per-format scanners (text already checked). */
void hk_net_scan_ifupdown(const net_run *t, net_refs *refs);
void hk_net_scan_netplan(const net_run *t, net_refs *refs);
void hk_net_scan_ini(const net_run *t, net_refs *refs, bool nm);
void hk_net_scan_ifcfg(const net_run *t, net_refs *refs);
void hk_net_scan_wicked(const net_run *t, net_refs *refs);
void hk_net_scan_udev(const net_run *t, net_refs *refs);

/* Splits @in into lines only (for the scanners): r->p may be NULL. */
int hk_net_split(net_run *r, const char *in);
void hk_net_run_free(net_run *r);

#endif
