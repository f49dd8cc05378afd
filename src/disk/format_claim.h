/*
 * A file that claims a format (by its name, the descriptor that names it or
 * the container that holds it) must have that format's signature: a damaged
 * sparse VMDK must not be migrated as a raw disk.  Raw is taken only when the
 * caller says so.
 */
#ifndef HK_DISK_FORMAT_CLAIM_H
#define HK_DISK_FORMAT_CLAIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"

/* The format the extension of @name claims: .vmdk VMDK, .vhd/.avhd VHD,
 * .vhdx/.avhdx VHDX, .qcow2/.qcow qcow2; else UNKNOWN.  Pure. */
h2k_disk_format hk_format_claimed_by_name(const char *name);

/* When @claimed is a format with a signature and @found is RAW (the content
 * has none), records H2K_ERR_FORMAT naming @path, what claims it (@claimed_by,
 * e.g. "its name"), what was expected and what was found (@head, the first
 * bytes, may be NULL) and how to take it as raw, and returns it; else 0. */
int hk_format_claim_check(h2k_ctx *ctx, const char *path, h2k_disk_format claimed,
                          const char *claimed_by, h2k_disk_format found, const uint8_t *head,
                          size_t head_len);

#endif
