/*
 * Windows registry hives of a guest, read and edited offline with libhivex.
 *
 * A hive is downloaded from the guest (libguestfs) to a private temporary
 * file, read and changed there, and uploaded back by hk_hive_commit() (not
 * in a dry run).  Every change (hive, key, value, old -> new) is recorded
 * for the report; a set that writes the value already there records nothing,
 * so a second run changes nothing.  hk_hive_open_file() works on a local
 * hive file instead (tests, tools).
 *
 * Key paths are relative to the hive's root and use backslashes
 * ("ControlSet001\\Services\\viostor"); names are matched case-insensitively,
 * as Windows does.  Value name "" is the key's default value.
 *
 * Concurrency: a hive handle belongs to one thread; distinct handles are
 * independent.  No static state.
 */
#ifndef HK_GUEST_WIN_REGISTRY_H
#define HK_GUEST_WIN_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <guestfs.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_fix.h"

/* Registry value types (the numbers Windows stores). */
enum {
    HK_REG_NONE = 0,
    HK_REG_SZ = 1,
    HK_REG_EXPAND_SZ = 2,
    HK_REG_BINARY = 3,
    HK_REG_DWORD = 4,
    HK_REG_MULTI_SZ = 7,
    HK_REG_QWORD = 11
};

/* One change made (or, in a dry run, to be made) to a hive (the report's record). */
typedef h2k_registry_change hk_reg_change;

typedef struct hk_hive hk_hive;

/* Downloads @guest_path (e.g. "/Windows/System32/config/SYSTEM", found
 * case-insensitively) through @g into a private file under @tmp_dir and opens
 * it; @writable allows the set/delete calls (commit uploads unless @dry_run).
 * @name names the hive in the records and messages.  A file that does not
 * parse as a hive is H2K_ERR_GUEST_DETECTION naming the guest file.  Caller
 * closes with hk_hive_close(). */
int hk_hive_open_guest(h2k_ctx *ctx, guestfs_h *g, const char *guest_path, const char *name,
                       const char *tmp_dir, bool writable, bool dry_run, hk_hive **out);

/* Opens a local hive file (commit writes it in place unless @dry_run). */
int hk_hive_open_file(h2k_ctx *ctx, const char *path, const char *name, bool writable, bool dry_run,
                      hk_hive **out);

/* Closes without writing anything back; removes the private copy.  NULL allowed. */
void hk_hive_close(hk_hive *h);

/* The hive's name as given at open. */
const char *hk_hive_name(const hk_hive *h);

/* True when @key exists. */
bool hk_hive_has_key(hk_hive *h, const char *key);

/* The names of @key's subkeys (NULL-terminated, caller frees with
 * hk_strv_free()); NULL when the key is absent. */
char **hk_hive_subkeys(hk_hive *h, const char *key);

/* The names of @key's values (NULL-terminated, caller frees with
 * hk_strv_free(); "" is the default value); NULL when the key is absent. */
char **hk_hive_value_names(hk_hive *h, const char *key);

/* A string value (REG_SZ, REG_EXPAND_SZ, or the first string of a REG_MULTI_SZ)
 * as UTF-8; NULL when absent or of another type.  Caller frees. */
char *hk_hive_get_str(hk_hive *h, const char *key, const char *value);

/* A REG_MULTI_SZ (or REG_SZ, as one string) as a NULL-terminated UTF-8
 * vector; NULL when absent.  Caller frees with hk_strv_free(). */
char **hk_hive_get_multi(hk_hive *h, const char *key, const char *value);

/* A REG_DWORD; returns 0 and fills *out, or -1 when absent or not a dword. */
int hk_hive_get_dword(hk_hive *h, const char *key, const char *value, uint32_t *out);

/* The raw data of a value; NULL when absent.  *type and *len filled.  Caller frees. */
char *hk_hive_get_raw(hk_hive *h, const char *key, const char *value, int *type, size_t *len);

/* Creates @key and every missing parent (recorded).  0 or a negative code. */
int hk_hive_mkkey(hk_hive *h, const char *key);

/* Sets values, creating @key when missing.  Nothing is recorded (and nothing
 * changes) when the value already holds that type and data. */
int hk_hive_set_str(hk_hive *h, const char *key, const char *value, int type, const char *s);
int hk_hive_set_dword(hk_hive *h, const char *key, const char *value, uint32_t v);
int hk_hive_set_multi(hk_hive *h, const char *key, const char *value, const char *const *strv);
int hk_hive_set_raw(hk_hive *h, const char *key, const char *value, int type, const void *data,
                    size_t len);

/* Deletes a value / a key with all its subkeys (recorded); absent is 0.
 * Caution: libhivex 1.3.23 aborts (assertion) in hivex_node_delete_child() on
 * some corrupt hives (found by fuzz_win_registry); the repairs never delete a
 * key of a guest's hive. */
int hk_hive_delete_value(hk_hive *h, const char *key, const char *value);
int hk_hive_delete_key(hk_hive *h, const char *key);

/* True when changes were made since open. */
bool hk_hive_dirty(const hk_hive *h);

/* Writes the changes: into the private copy and then back into the guest
 * (or the local file), atomically where the target allows.  In a dry run, or
 * with no change, writes nothing.  0 or a negative code. */
int hk_hive_commit(hk_hive *h);

/* The changes recorded since open (owned by the hive). */
const hk_reg_change *hk_hive_changes(const hk_hive *h, size_t *n);

/* Moves the recorded changes out (caller frees each with hk_reg_change_clear()
 * and the array with free()). */
hk_reg_change *hk_hive_take_changes(hk_hive *h, size_t *n);

/* Frees the strings of one record. */
void hk_reg_change_clear(hk_reg_change *c);

/* Name of a value type ("REG_SZ"...); static. */
const char *hk_reg_type_name(int type);

/* UTF-8 -> UTF-16LE with a terminating NUL (registry string data); caller frees. */
char *hk_reg_utf16(const char *s, size_t *len_out);

#endif
