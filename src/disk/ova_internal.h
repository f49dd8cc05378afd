/*
 * Internals of the OVA reader, shared by its parts and the unit tests: the
 * handle and member reads (ova.c), the tar indexer (tar_index.c), the
 * manifest parser (ova_manifest.c) and checks (ova_digest.c), the spec
 * (ova_spec.c) and the extraction (ova_extract.c).
 */
#ifndef HK_DISK_OVA_INTERNAL_H
#define HK_DISK_OVA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"

#define HK_TAR_BLOCK 512u

/* Default limits of the indexer. */
#define HK_TAR_MAX_MEMBERS 10000u
#define HK_TAR_MAX_NAME 4096u
#define HK_TAR_MAX_PAX (1u << 20)             /* one pax extended header */
#define HK_TAR_MAX_TOTAL (UINT64_C(16) << 40) /* sum of member sizes */

/* ------------------------------------------------------- the OVA handle */

#define HK_OVA_DOMAIN "ova"
#define HK_OVA_COPY_BUF (1u << 20)
#define HK_OVA_MAX_OVF_SIZE (16u << 20)
#define HK_OVA_MAX_MF_SIZE (1u << 20)

/* The OVA handle (ova.c): read-only after h2k_ova_open(), so any number of
 * threads may read it at once (reads use pread on the shared fd). */
struct h2k_ova {
    char *path; /* absolute */
    int fd;
    uint64_t file_size;
    size_t n;
    h2k_ova_member *members;        /* archive order; names owned */
    uint64_t *header_offsets;       /* first header of each member */
    const h2k_ova_member **by_name; /* members sorted by name */
};

/* Index of the member named @name (normalised), or SIZE_MAX. */
size_t hk_ova_member_index(const h2k_ova *ova, const char *name);

/* Member index of @ref (a file name as a descriptor records it) relative to
 * the folder @dir of the descriptor ("" for the root), then as written.
 * SIZE_MAX when absent or unsafe. */
size_t hk_ova_resolve_ref(const h2k_ova *ova, const char *dir, const char *ref);

/* Folder part of a member name ("" at the root); caller frees. */
char *hk_ova_member_dir(const char *name);

typedef int (*hk_ova_chunk_fn)(h2k_ctx *ctx, void *ud, const uint8_t *buf, size_t len);

/* Reads member @i in chunks of @bufsz into @buf, calling @fn for each; checks
 * for cancellation between chunks and reports progress of @stage (@done
 * advanced towards @total). */
int hk_ova_stream_member(h2k_ctx *ctx, const h2k_ova *ova, size_t i, uint8_t *buf, size_t bufsz,
                         hk_ova_chunk_fn fn, void *ud, const char *stage, uint64_t *done,
                         uint64_t total);

/* Reads a small member whole (NUL-terminated, at most @limit bytes); caller
 * frees *out. */
int hk_ova_read_small_member(h2k_ctx *ctx, const h2k_ova *ova, size_t i, size_t limit, char **out);

/* ------------------------------------------------------------ the spec */

/* Parses the OVA's .ovf (ova_spec.c).  The disks are matched to members:
 * @disk_member[i] (allocated, caller frees) is the member of disk i or
 * SIZE_MAX for a disk with no file.  A file named but absent is
 * H2K_ERR_FORMAT. */
int hk_ova_load_spec(h2k_ctx *ctx, const h2k_ova *ova, h2k_vm_spec **out, size_t **disk_member);

/* True when the OVF stores disk @d uncompressed (no or "identity" compression). */
bool hk_ova_disk_uncompressed(const h2k_vm_disk *d);

/* Points disk @d at @path (taken) instead of what the OVF names, outside any
 * container (the container fields cleared). */
void hk_ova_disk_set_path(h2k_vm_disk *d, char *path);

/* ------------------------------------------------------------- tar */

/* Parses a numeric header field: octal digits (leading spaces allowed, ended by
 * NUL, space or the end of the field; all NUL/space means 0) or GNU base-256
 * (first byte 0x80; negative values refused).  False on junk or overflow. */
bool hk_tar_parse_number(const uint8_t *field, size_t len, uint64_t *out);

/* True when the header checksum (offset 148) matches the unsigned or the
 * (historical) signed byte sum of the block. */
bool hk_tar_checksum_ok(const uint8_t block[HK_TAR_BLOCK]);

/* Normalises a member name of @len bytes: "./" prefixes and "." components
 * dropped, duplicate and trailing slashes removed.  Unsafe names (absolute,
 * "..", NUL or control characters, longer than @max_len) give -1 with a static
 * reason in *why.  Returns 0 with *out  (caller frees; "" for the archive root)
 * or H2K_ERR_NO_MEMORY (without recording it). */
int hk_tar_normalise_name(const char *raw, size_t len, size_t max_len, char **out,
                          const char **why);

/* Parses a pax extended header ("LEN key=value\n" records).  Sets *path (caller
 * frees, NULL when absent, may contain NUL bytes and is then refused by the
 * caller via *path_len) and *size and *has_size.  Sparse-file keys are refused.
 * Returns 0, -1 with a static reason in *why, or H2K_ERR_NO_MEMORY. */
int hk_tar_parse_pax(const char *data, size_t len, char **path, size_t *path_len, uint64_t *size,
                     bool *has_size, const char **why);

/* One regular file of the archive. */
typedef struct hk_tar_member {
    char *name;             /* normalised */
    uint64_t header_offset; /* of its first header (extension headers included) */
    uint64_t data_offset;
    uint64_t size;
} hk_tar_member;

typedef struct hk_tar_limits {
    size_t max_members;
    size_t max_name;
    uint64_t max_total;
} hk_tar_limits;

#define HK_TAR_LIMITS_INIT                                                                         \
    {                                                                                              \
        HK_TAR_MAX_MEMBERS, HK_TAR_MAX_NAME, HK_TAR_MAX_TOTAL                                      \
    }

/* Walks the tar headers of @fd (@file_size bytes, @path for messages) and
 * lists its regular files in archive order.  Directories are skipped; links,
 * devices, fifos, sparse files, unsafe and duplicate names are refused with
 * H2K_ERR_FORMAT naming the member and its header offset.  A compressed file
 * is H2K_ERR_UNSUPPORTED.  On success the caller owns *out (hk_tar_members_free). */
int hk_tar_index(h2k_ctx *ctx, int fd, const char *path, uint64_t file_size,
                 const hk_tar_limits *limits, hk_tar_member **out, size_t *n_out);

void hk_tar_members_free(hk_tar_member *m, size_t n);

/* ------------------------------------------------------------ manifest */

typedef enum hk_mf_algo {
    HK_MF_SHA1 = 0,
    HK_MF_SHA256 = 1,
    HK_MF_SHA512 = 2
} hk_mf_algo;

/* Name of an algorithm ("SHA1", ...).  Static. */
const char *hk_mf_algo_name(hk_mf_algo algo);

typedef struct hk_mf_entry {
    hk_mf_algo algo;
    char *name;       /* as written in the manifest (caller frees) */
    char digest[129]; /* lower-case hex */
    unsigned line;    /* 1-based */
} hk_mf_entry;

/* Parses one manifest line (without its newline; a trailing '\r' and blanks
 * are allowed): "SHA1(name)= hex", "SHA256(name)=hex", "SHA512(...)".
 * Returns 1 with *out filled (caller frees out->name), 0 for a blank line,
 * -1 with a static reason in *why for a malformed line, or H2K_ERR_NO_MEMORY. */
int hk_mf_parse_line(const char *line, size_t len, hk_mf_entry *out, const char **why);

/* Parses a whole manifest; a malformed line is H2K_ERR_FORMAT naming
 * @ova_path, @member, the line number and (as offset) @base_offset + the
 * line's position.  Caller owns *out (hk_mf_entries_free). */
int hk_mf_parse(h2k_ctx *ctx, const char *text, size_t len, const char *ova_path,
                const char *member, uint64_t base_offset, hk_mf_entry **out, size_t *n_out);

void hk_mf_entries_free(hk_mf_entry *e, size_t n);

/* ------------------------------------ manifest checks while a member is read */

/* One digest the OVA's manifests give for one of its members. */
typedef struct hk_ova_digest {
    size_t member; /* index in the OVA (h2k_ova_member_at) */
    hk_mf_algo algo;
    char hex[129];  /* lower-case */
    char *manifest; /* the .mf member that gives it (owned) */
    unsigned line;
} hk_ova_digest;

/* Parses every manifest (.mf) of @ova: one entry per member and algorithm,
 * however often a line repeats it (a repeat with another digest is
 * H2K_ERR_VALIDATION naming both lines).  A manifest that is malformed or
 * lists a file the OVA does not hold is an error.  No manifest: *n_out = 0.
 * Caller frees *out with hk_ova_digests_free().  Reads only the manifests. */
int hk_ova_manifest_digests(h2k_ctx *ctx, const h2k_ova *ova, hk_ova_digest **out, size_t *n_out);
void hk_ova_digests_free(hk_ova_digest *d, size_t n);

/* Index of the member whose data starts at @offset, or SIZE_MAX. */
size_t hk_ova_member_by_offset(const h2k_ova *ova, uint64_t offset);
/* The OVA's absolute path (owned by @ova). */
const char *hk_ova_path(const h2k_ova *ova);

/* Hashes member @member as its bytes go by, with each algorithm @d lists for
 * it; *out is NULL when no manifest lists the member (update and check then
 * do nothing).  Feed every byte of the member, in order, to
 * hk_ova_hasher_update(); hk_ova_hasher_check() then gives
 * H2K_ERR_VALIDATION naming the member, the manifest, its line and both
 * digests on a mismatch.  @d and @ova must outlive the hasher.  One hasher
 * per thread. */
typedef struct hk_ova_hasher hk_ova_hasher;
int hk_ova_hasher_new(h2k_ctx *ctx, const h2k_ova *ova, const hk_ova_digest *d, size_t n,
                      size_t member, hk_ova_hasher **out);
int hk_ova_hasher_update(h2k_ctx *ctx, hk_ova_hasher *h, const void *buf, size_t len);
int hk_ova_hasher_check(h2k_ctx *ctx, hk_ova_hasher *h);
void hk_ova_hasher_free(hk_ova_hasher *h);

/* Reads member @member and checks it against @d (for small members such as
 * the .ovf, which are not copied anywhere); 0 when no manifest lists it. */
int hk_ova_verify_member(h2k_ctx *ctx, const h2k_ova *ova, const hk_ova_digest *d, size_t n,
                         size_t member);

/* Inflates gzip member @member (concatenated streams allowed) into @fd
 * (@out_path for messages) in one pass, feeding the stored bytes to @h (may
 * be NULL) and checking its digests at the end.  More than @limit bytes out
 * (0: 16 TiB) is H2K_ERR_VALIDATION; corrupt or truncated data
 * H2K_ERR_FORMAT naming the member and offset.  Progress stage "inflate". */
int hk_ova_gunzip_member(h2k_ctx *ctx, const h2k_ova *ova, size_t member, int fd,
                         const char *out_path, uint64_t limit, hk_ova_hasher *h);

#endif
