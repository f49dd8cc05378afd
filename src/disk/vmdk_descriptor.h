/*
 * Pure parsers of VMDK metadata (no file access): the text descriptor and
 * the binary headers of sparse extents ("KDMV" hosted sparse, "COWD" vmfsSparse,
 * seSparse).  probe_vmdk.c does the I/O; unit tests and fuzzers call these
 * directly.
 *
 * References: VMware "Virtual Disk Format 5.0" (descriptor syntax, hosted
 * sparse extent header, stream-optimized footer).
 */
#ifndef HK_DISK_VMDK_DESCRIPTOR_H
#define HK_DISK_VMDK_DESCRIPTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* Largest descriptor we read (text file or embedded). */
#define HK_VMDK_MAX_DESCRIPTOR (UINT64_C(1) << 20)
/* Largest number of extent lines and DDB entries accepted. */
#define HK_VMDK_MAX_EXTENTS 65536u
#define HK_VMDK_MAX_DDB 4096u
/* Largest grain accepted, in sectors (1 GiB, as qemu). */
#define HK_VMDK_MAX_GRAIN_SECTORS UINT64_C(0x200000)
/* parentCID of a base disk. */
#define HK_VMDK_NO_PARENT_CID 0xffffffffu

typedef enum hk_vmdk_extent_type {
    HK_VMDK_EXTENT_SPARSE = 0,
    HK_VMDK_EXTENT_FLAT,
    HK_VMDK_EXTENT_ZERO,
    HK_VMDK_EXTENT_VMFS,
    HK_VMDK_EXTENT_VMFSSPARSE,
    HK_VMDK_EXTENT_SESPARSE,
    HK_VMDK_EXTENT_VMFSRDM,
    HK_VMDK_EXTENT_VMFSRAW
} hk_vmdk_extent_type;

/* Name of an extent type as written in descriptors ("SPARSE", ...).  Static. */
const char *hk_vmdk_extent_type_name(hk_vmdk_extent_type t);

/* One extent line: ACCESS SECTORS TYPE ["FILE" [OFFSET]]. */
typedef struct hk_vmdk_extent_line {
    const char *access; /* static: "RW", "RDONLY" or "NOACCESS" */
    uint64_t sectors;
    hk_vmdk_extent_type type;
    char *file; /* as written (unquoted), NULL when absent (ZERO) */
    bool has_offset;
    uint64_t offset;      /* in sectors (FLAT/VMFS/VMFSRAW/VMFSRDM) */
    unsigned line;        /* 1-based line number */
    uint64_t text_offset; /* byte offset of the line in the text */
} hk_vmdk_extent_line;

/* A "ddb.KEY = VALUE" entry (value unquoted). */
typedef struct hk_vmdk_ddb_entry {
    char *key;
    char *value;
} hk_vmdk_ddb_entry;

/* A parsed descriptor.  Zero-initialise; free with hk_vmdk_descriptor_clear(). */
typedef struct hk_vmdk_descriptor {
    unsigned version; /* "version=", 0 when absent */
    char *encoding;   /* or NULL */
    bool has_cid;
    uint32_t cid;
    bool has_parent_cid;
    uint32_t parent_cid;
    char *create_type; /* or NULL */
    char *parent_hint; /* parentFileNameHint, or NULL */
    size_t n_extents;
    hk_vmdk_extent_line *extents;
    uint64_t total_sectors; /* sum of the extents' sectors (<= HK_MAX_VIRTUAL_SIZE / 512) */
    size_t n_ddb;
    hk_vmdk_ddb_entry *ddb;
} hk_vmdk_descriptor;

/*
 * Parses descriptor text (@len bytes; parsing stops at the first NUL, as the
 * embedded descriptor area is zero-padded).  Accepts LF and CRLF line ends, a
 * UTF-8 byte order mark, comments (#), blank lines; unknown keys are ignored,
 * a known key given twice, a malformed extent line or a line that is neither
 * "key = value" nor an extent is H2K_ERR_FORMAT.  Errors name @path_for_errors,
 * the byte offset @base_offset + the offset of the line, and the field (the key,
 * "extent" or "descriptor").  Only the syntax and numeric ranges are checked;
 * see hk_vmdk_descriptor_validate() for the semantics.  On failure *out is
 * cleared.  The caller frees *out with hk_vmdk_descriptor_clear().
 */
int hk_vmdk_descriptor_parse(h2k_ctx *ctx, const char *text, size_t len,
                             const char *path_for_errors, uint64_t base_offset,
                             hk_vmdk_descriptor *out);

/* Frees the contents of @d and zeroes it.  NULL allowed. */
void hk_vmdk_descriptor_clear(hk_vmdk_descriptor *d);

/* Value of DDB key @key (case-insensitive), owned by @d, or NULL. */
const char *hk_vmdk_descriptor_ddb(const hk_vmdk_descriptor *d, const char *key);

/*
 * Semantic checks: createType is present (unless @embedded) and known, the
 * extents suit it (monolithic types have one extent), a delta disk (parentCID
 * set) names its parent, raw device mappings and device-backed types are
 * H2K_ERR_UNSUPPORTED.  @embedded: the descriptor lives inside a sparse file.
 */
int hk_vmdk_descriptor_validate(h2k_ctx *ctx, const hk_vmdk_descriptor *d,
                                const char *path_for_errors, uint64_t base_offset, bool embedded);

/* ------------------------------------------------ hosted sparse header */

#define HK_VMDK_SPARSE_HEADER_SIZE 512u
#define HK_VMDK_GD_AT_END UINT64_C(0xffffffffffffffff)
#define HK_VMDK_FLAG_NL_DETECT (1u << 0)
#define HK_VMDK_FLAG_RGD (1u << 1)
#define HK_VMDK_FLAG_ZERO_GRAIN (1u << 2)
#define HK_VMDK_FLAG_COMPRESSED (1u << 16)
#define HK_VMDK_FLAG_MARKERS (1u << 17)

/* The 512-byte "KDMV" header (also the stream-optimized footer). */
typedef struct hk_vmdk_sparse_header {
    uint32_t magic; /* 0x564d444b, bytes "KDMV" */
    uint32_t version;
    uint32_t flags;
    uint64_t capacity;          /* sectors */
    uint64_t grain_size;        /* sectors */
    uint64_t descriptor_offset; /* sectors */
    uint64_t descriptor_size;   /* sectors */
    uint32_t num_gtes_per_gt;
    uint64_t rgd_offset; /* sectors */
    uint64_t gd_offset;  /* sectors, or HK_VMDK_GD_AT_END */
    uint64_t overhead;   /* sectors */
    uint8_t unclean_shutdown;
    char single_end_line;        /* '\n' */
    char non_end_line;           /* ' ' */
    char double_end_line1;       /* '\r' */
    char double_end_line2;       /* '\n' */
    uint16_t compress_algorithm; /* 0 none, 1 deflate */
} hk_vmdk_sparse_header;

/* Decodes a header from 512 little-endian bytes (no checks). */
void hk_vmdk_sparse_header_decode(const uint8_t buf[512], hk_vmdk_sparse_header *h);

/*
 * Checks a decoded header against the size of the image that holds it
 * (@image_size bytes): magic, version 1..3, newline-detection bytes, capacity
 * (> 0, <= HK_MAX_VIRTUAL_SIZE), grain size (power of two, 8 sectors..1 GiB),
 * numGTEsPerGT (power of two <= 512), descriptor, grain directories and
 * overhead inside the image, compressAlgorithm 0 or 1.  @allow_gd_at_end: the
 * header of a stream-optimized file may defer its grain directory to the footer.
 * Errors (H2K_ERR_FORMAT) name @path, the file offset of the field
 * (@file_offset = where the header starts in the file) and the field.
 */
int hk_vmdk_sparse_header_check(h2k_ctx *ctx, const hk_vmdk_sparse_header *h, uint64_t image_size,
                                const char *path, uint64_t file_offset, bool allow_gd_at_end);

/* Number of grain-directory entries a checked header implies. */
uint64_t hk_vmdk_sparse_gd_entries(const hk_vmdk_sparse_header *h);

/* ------------------------------------------------ COWD (vmfsSparse) */

#define HK_VMDK_COWD_HEADER_SIZE 2048u

typedef struct hk_vmdk_cowd_header {
    uint32_t magic; /* bytes "COWD" */
    uint32_t version;
    uint32_t flags;
    uint32_t capacity;   /* sectors */
    uint32_t grain_size; /* sectors */
    uint32_t gd_offset;  /* sectors */
    uint32_t gd_entries;
    uint32_t free_sector;
} hk_vmdk_cowd_header;

/* Decodes the first 32 bytes of a COWD header (no checks). */
void hk_vmdk_cowd_header_decode(const uint8_t buf[32], hk_vmdk_cowd_header *h);

/* Checks magic, capacity, grain size and the grain directory against @image_size. */
int hk_vmdk_cowd_header_check(h2k_ctx *ctx, const hk_vmdk_cowd_header *h, uint64_t image_size,
                              const char *path, uint64_t file_offset);

/* ------------------------------------------------ seSparse */

#define HK_VMDK_SESPARSE_MAGIC UINT64_C(0x00000000cafebabe)
#define HK_VMDK_SESPARSE_VERSION UINT64_C(0x0000000200000001)

typedef struct hk_vmdk_sesparse_header {
    uint64_t magic;
    uint64_t version;
    uint64_t capacity;   /* sectors */
    uint64_t grain_size; /* sectors */
    uint64_t grain_table_size;
    uint64_t flags;
} hk_vmdk_sesparse_header;

/* Decodes the first 48 bytes of a seSparse constant header (no checks). */
void hk_vmdk_sesparse_header_decode(const uint8_t buf[48], hk_vmdk_sesparse_header *h);

/* Checks magic, version, capacity and grain size. */
int hk_vmdk_sesparse_header_check(h2k_ctx *ctx, const hk_vmdk_sesparse_header *h, const char *path,
                                  uint64_t file_offset);

#endif /* HK_DISK_VMDK_DESCRIPTOR_H */
