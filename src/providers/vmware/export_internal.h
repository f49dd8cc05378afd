/*
 * The transports of h2k_vmware_export_vm() (export_http.c, export_nfc.c,
 * export_vddk.c) and what they share (export.c).  Internal, never installed.
 * A client is used by one thread at a time (h2k_vmware.h); these follow it.
 */
#ifndef HK_VMW_EXPORT_INTERNAL_H
#define HK_VMW_EXPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/vmware/vmw_internal.h"

/* Creates @dir and its missing parents (mode 0755); 0 or the error. */
int hk_vmw_mkdir_p(h2k_ctx *ctx, const char *dir);

/* True when @n, a file name from the server, may be used as a local name:
 * not empty, ".", "..", longer than 255 bytes, nor holding '/', '\' or
 * control characters. */
bool hk_vmw_plain_name(const char *n);

/* The part of @p after its last '/' (points into @p). */
const char *hk_vmw_base_name(const char *p);

/* Downloads queued for hk_vmw_download(), with the strings they own.
 * Zero-initialise; free with hk_vmw_dl_free(). */
typedef struct hk_vmw_dl_list {
    hk_vmw_dl *v;
    char **owned; /* url and path strings */
    size_t n, cap, n_owned;
} hk_vmw_dl_list;

/* Queues @url to @path (both taken, freed on error, NULL = out of memory);
 * 0 or the error. */
int hk_vmw_dl_add(h2k_ctx *ctx, hk_vmw_dl_list *l, char *url, char *path, bool resume);
void hk_vmw_dl_free(hk_vmw_dl_list *l);

/* The transports: each writes the disks of @vm under @out_dir and fills
 * @paths (one per disk of vm->spec, caller frees) or, for nfc, *paths_out
 * and *n_paths; 0 or a negative h2k_code recorded on the client's context. */
int hk_vmw_export_http(h2k_vmware_client *c, hk_vmw_vm *vm, const char *out_dir, char **paths,
                       h2k_vmware_export_result *res);
int hk_vmw_export_nfc(h2k_vmware_client *c, hk_vmw_vm *vm, const char *out_dir, char ***paths_out,
                      size_t *n_paths, h2k_vmware_export_result *res);
int hk_vmw_export_vddk(h2k_vmware_client *c, hk_vmw_vm *vm, const char *snap, const char *out_dir,
                       char **paths);

#endif /* HK_VMW_EXPORT_INTERNAL_H */
