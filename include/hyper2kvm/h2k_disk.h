/*
 * hyper2kvm: the disk layer (mid-level API).
 *
 *  - probe: native, bounds-checked reading of VMDK, VHD, VHDX, qcow2 and raw
 *    headers, extents and snapshot chains (no subprocess);
 *  - OVA / OVF / VMX readers producing an h2k_vm_spec;
 *  - conversion with qemu-img (convert, flatten, the disk processor).
 *
 * Sources are only ever opened read-only.
 */
#ifndef HYPER2KVM_H2K_DISK_H
#define HYPER2KVM_H2K_DISK_H

#include "h2k_common.h"
#include "h2k_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ probe */

typedef enum h2k_disk_format {
    H2K_FORMAT_UNKNOWN = 0,
    H2K_FORMAT_RAW = 1,
    H2K_FORMAT_VMDK = 2,
    H2K_FORMAT_VHD = 3,
    H2K_FORMAT_VHDX = 4,
    H2K_FORMAT_QCOW2 = 5
} h2k_disk_format;

/** Our name of a format ("raw", "vmdk", "vhd", "vhdx", "qcow2", "unknown").  Static. */
H2K_EXTERN const char *h2k_disk_format_name(h2k_disk_format fmt);

/** qemu's driver name for a format ("raw", "vmdk", "vpc", "vhdx", "qcow2"),
 *  NULL for H2K_FORMAT_UNKNOWN.  Static. */
H2K_EXTERN const char *h2k_disk_format_qemu_name(h2k_disk_format fmt);

/** Parses a format name (ours or qemu's).  H2K_FORMAT_UNKNOWN if not known. */
H2K_EXTERN h2k_disk_format h2k_disk_format_from_name(const char *name);

/** One extent of a VMDK (or the single data area of other formats). */
typedef struct h2k_disk_extent {
    char *path;        /**< absolute path of the extent file, NULL for ZERO extents */
    char *type;        /**< "SPARSE", "FLAT", "ZERO", "VMFS", "VMFSSPARSE", "SESPARSE", "VMFSRDM"... */
    char *access;      /**< "RW", "RDONLY" or "NOACCESS" */
    uint64_t sectors;  /**< size in 512-byte sectors */
    uint64_t offset;   /**< start offset in the file, in bytes (FLAT extents) */
    uint64_t file_size;/**< size of the extent file in bytes, 0 when it has none */
} h2k_disk_extent;

/** One file of a snapshot chain. */
typedef struct h2k_disk_layer {
    char *path;               /**< absolute path (the descriptor for split VMDKs) */
    h2k_disk_format format;
    char *subformat;          /**< VMDK createType ("monolithicSparse", ...), VHD/VHDX
                                   "fixed"/"dynamic"/"differencing", qcow2 "v2"/"v3", raw "raw" */
    uint64_t virtual_size;    /**< guest-visible size in bytes */
    uint64_t allocated_size;  /**< bytes used on the host by this layer's files */
    uint32_t cluster_size;    /**< grain / block / cluster size in bytes, 0 if none */
    char *id;                 /**< VMDK CID ("%08x"), VHD/VHDX identity GUID, or NULL */
    char *parent_id;          /**< id the parent must have (parentCID, parent GUID), or NULL */
    char *parent_hint;        /**< parent file as the layer records it, NULL for a base */
    char *parent_path;        /**< parent resolved to an absolute path, NULL for a base */
    int compressed;           /**< 1 when grains/clusters may be compressed (streamOptimized) */
    size_t n_extents;
    h2k_disk_extent *extents; /**< VMDK extents; other formats: one entry for the file */
} h2k_disk_layer;

/** Result of h2k_disk_probe().  layers[0] is the file probed, the last is the base. */
typedef struct h2k_disk_info {
    char *path;               /**< absolute path of the file probed */
    h2k_disk_format format;   /**< = layers[0].format */
    char *subformat;          /**< = layers[0].subformat (copy) */
    uint64_t virtual_size;    /**< = layers[0].virtual_size */
    uint64_t allocated_size;  /**< sum over all layers */
    uint64_t offset;          /**< start of the image inside path (OVA member), else 0 */
    uint64_t size;            /**< length of the image inside path, else the file size */
    size_t n_layers;
    h2k_disk_layer *layers;
} h2k_disk_info;

#define H2K_PROBE_OPTIONS_VERSION 1

typedef struct h2k_probe_options {
    unsigned version;           /**< H2K_PROBE_OPTIONS_VERSION */
    int follow_chain;           /**< follow and validate parents (default 1) */
    unsigned max_chain_depth;   /**< default 64 */
    h2k_disk_format format;     /**< force a format instead of detecting it (default UNKNOWN) */
    uint64_t offset;            /**< image starts at this byte of the file (default 0) */
    uint64_t size;              /**< image length; 0 = to the end of the file */
    int check_extents;          /**< every extent file must exist with the right size (default 1) */
} h2k_probe_options;

#define H2K_PROBE_OPTIONS_INIT { H2K_PROBE_OPTIONS_VERSION, 1, 64, H2K_FORMAT_UNKNOWN, 0, 0, 1 }

/** Probes a disk image: format, variant, sizes, extents and its snapshot chain,
 *  validated (CID/parentCID, parent GUIDs, extent sizes, header checksums).
 *  @opts may be NULL for defaults.  On success the caller owns *out and frees
 *  it with h2k_disk_info_free().  A missing or unreadable file is NOT_FOUND/IO;
 *  a truncated, lying or inconsistent header, broken chain or missing extent is
 *  H2K_ERR_FORMAT with the file, offset and field in h2k_ctx_last_error(). */
H2K_EXTERN int h2k_disk_probe(h2k_ctx *ctx, const char *path, const h2k_probe_options *opts,
                              h2k_disk_info **out);

/** Frees a probe result.  NULL is allowed. */
H2K_EXTERN void h2k_disk_info_free(h2k_disk_info *info);

/** The probe result as JSON (keys: path, format, subformat, virtual_size,
 *  allocated_size, chain[], extents[]).  Caller frees with free(). */
H2K_EXTERN char *h2k_disk_info_to_json(const h2k_disk_info *info);

/* -------------------------------------------------------------- OVF / VMX */

/** Reads an OVF descriptor.  Disk paths are resolved against the file's folder.
 *  Caller owns *out (h2k_vm_spec_free()).  Malformed XML or missing required
 *  elements give H2K_ERR_FORMAT naming the element. */
H2K_EXTERN int h2k_ovf_parse_file(h2k_ctx *ctx, const char *path, h2k_vm_spec **out);

/** Reads an OVF descriptor from memory; @base_dir resolves disk file names (may be NULL);
 *  @name_for_errors names the document in messages (may be NULL). */
H2K_EXTERN int h2k_ovf_parse_memory(h2k_ctx *ctx, const char *xml, size_t len,
                                    const char *base_dir, const char *name_for_errors,
                                    h2k_vm_spec **out);

/** Reads a VMware .vmx file.  Disk paths are resolved against the file's folder. */
H2K_EXTERN int h2k_vmx_parse_file(h2k_ctx *ctx, const char *path, h2k_vm_spec **out);

/** Reads a .vmx from memory (see h2k_ovf_parse_memory() for the arguments). */
H2K_EXTERN int h2k_vmx_parse_memory(h2k_ctx *ctx, const char *text, size_t len,
                                    const char *base_dir, const char *name_for_errors,
                                    h2k_vm_spec **out);

/* ------------------------------------------------------------------- OVA */

typedef struct h2k_ova h2k_ova;

/** One regular file inside an OVA. */
typedef struct h2k_ova_member {
    const char *name;   /**< path inside the archive, normalised ("./" stripped) */
    uint64_t offset;    /**< byte offset of the data inside the OVA file */
    uint64_t size;      /**< data size in bytes */
} h2k_ova_member;

/** Opens an OVA (tar: ustar, pax, GNU long names) and indexes its members
 *  without copying anything.  Members with unsafe names (absolute, "..",
 *  links) are refused with H2K_ERR_FORMAT.  Caller frees with h2k_ova_free(). */
H2K_EXTERN int h2k_ova_open(h2k_ctx *ctx, const char *path, h2k_ova **out);

/** Frees an OVA handle.  NULL is allowed. */
H2K_EXTERN void h2k_ova_free(h2k_ova *ova);

/** Number of regular-file members. */
H2K_EXTERN size_t h2k_ova_member_count(const h2k_ova *ova);

/** Member @i (0-based), owned by @ova; NULL when out of range. */
H2K_EXTERN const h2k_ova_member *h2k_ova_member_at(const h2k_ova *ova, size_t i);

/** Member by name, owned by @ova; NULL when absent. */
H2K_EXTERN const h2k_ova_member *h2k_ova_find(const h2k_ova *ova, const char *name);

/** Verifies every digest of the .mf manifest (SHA1, SHA256, SHA512).  Returns 0
 *  when the OVA has no manifest or all digests match; H2K_ERR_VALIDATION naming
 *  the member on a mismatch, H2K_ERR_FORMAT for a malformed manifest. */
H2K_EXTERN int h2k_ova_verify_manifest(h2k_ctx *ctx, h2k_ova *ova);

/** Parses the OVA's .ovf into a spec.  Disks stored uncompressed get
 *  container_path/offset/size so they can be read in place; path is the
 *  member name. Caller owns *out. */
H2K_EXTERN int h2k_ova_read_spec(h2k_ctx *ctx, h2k_ova *ova, h2k_vm_spec **out);

#define H2K_OVA_EXTRACT_OPTIONS_VERSION 1

typedef struct h2k_ova_extract_options {
    unsigned version;          /**< H2K_OVA_EXTRACT_OPTIONS_VERSION */
    int verify_manifest;       /**< verify the .mf first (default 1) */
    int ignore_manifest_mismatch; /**< explicit override: log a warning instead of failing */
    uint64_t max_total_size;   /**< refuse archives whose members add up to more; 0 = 16 TiB */
    int decompress_gzip;       /**< gunzip members the OVF marks compression="gzip" (default 1) */
} h2k_ova_extract_options;

#define H2K_OVA_EXTRACT_OPTIONS_INIT { H2K_OVA_EXTRACT_OPTIONS_VERSION, 1, 0, 0, 1 }

/** Extracts every member into @output_dir (created if missing) safely: no
 *  path escapes, no links, each file written (mode 0600) under a temporary
 *  name and renamed when complete.  If @spec_out is not NULL, the OVF found is parsed
 *  with disk paths in @output_dir (caller owns it). */
H2K_EXTERN int h2k_ova_extract(h2k_ctx *ctx, h2k_ova *ova, const char *output_dir,
                               const h2k_ova_extract_options *opts, h2k_vm_spec **spec_out);

/* -------------------------------------------------------------- convert */

/** Version 2 added no_sync, version 3 output_mode; older structs are still accepted. */
#define H2K_CONVERT_OPTIONS_VERSION 3

typedef struct h2k_convert_options {
    unsigned version;            /**< H2K_CONVERT_OPTIONS_VERSION */
    h2k_disk_format output_format; /**< H2K_FORMAT_QCOW2 (default) or H2K_FORMAT_RAW */
    int compress;                /**< compress qcow2 clusters */
    const char *compression_type;/**< "zstd" (default) or "zlib" */
    int parallel_coroutines;     /**< qemu-img -m, default 8 */
    /** qemu-img -W (out-of-order writes): 1 on, 0 off, -1 (default) auto: on,
     *  except when compressing a streamOptimized VMDK (compressed grains), where
     *  -W measured slower. */
    int out_of_order;
    int overwrite;               /**< replace an existing output (default 0: H2K_ERR_EXISTS) */
    h2k_disk_format source_format; /**< override probing (default UNKNOWN = probe) */
    uint64_t source_offset;      /**< image inside a container (OVA) at this offset */
    uint64_t source_size;        /**< and of this size (0 = to the end) */
    unsigned timeout_seconds;    /**< 0 = none */
    const char *qemu_img;        /**< qemu-img program, default "qemu-img" from PATH */
    /** (version 2) 0 (default): the output is durable when the call returns: its
     *  writeback starts during the conversion and it is fsync'ed, with its folder,
     *  before and after the rename.  1: no writeback and no fsync, as plain
     *  "qemu-img convert" does: faster on storage slower than the conversion, but
     *  after a crash of the host the output may be incomplete under its final name. */
    int no_sync;
    /** (version 3) permission bits of the output (e.g. 0640); 0 (default): 0600.
     *  Never wider than the source: group and other bits the source lacks are
     *  dropped, whatever the umask. */
    unsigned output_mode;
} h2k_convert_options;

#define H2K_CONVERT_OPTIONS_INIT \
    { H2K_CONVERT_OPTIONS_VERSION, H2K_FORMAT_QCOW2, 0, NULL, 8, -1, 0, H2K_FORMAT_UNKNOWN, 0, 0, 0, NULL, 0, 0 }

/** Result of a conversion.  Caller frees with h2k_convert_result_free(). */
typedef struct h2k_convert_result {
    char *source_path;
    char *output_path;
    h2k_disk_format source_format;
    h2k_disk_format output_format;
    uint64_t virtual_size;
    uint64_t output_size;      /**< bytes allocated by the output file */
    size_t chain_length;       /**< layers flattened (1 = no snapshots) */
    double duration_seconds;
} h2k_convert_result;

/** Frees a conversion result.  NULL is allowed. */
H2K_EXTERN void h2k_convert_result_free(h2k_convert_result *res);

/** Converts @src (any probed format, its chain flattened) to @dst with qemu-img.
 *  The source is probed and validated first and opened read-only; the output is
 *  written as "<dst>.part-XXXXXX" beside @dst and renamed when complete, and
 *  removed on failure or cancel.  Progress goes to the context's callback with
 *  stage "convert".  @opts may be NULL.  @out may be NULL. */
H2K_EXTERN int h2k_disk_convert(h2k_ctx *ctx, const char *src, const char *dst,
                                const h2k_convert_options *opts, h2k_convert_result **out);

/** Flattens a snapshot chain into one image in @dst (same as h2k_disk_convert(),
 *  which always flattens, but refuses a source without a chain unless it is a
 *  multi-extent VMDK). */
H2K_EXTERN int h2k_disk_flatten(h2k_ctx *ctx, const char *src, const char *dst,
                                const h2k_convert_options *opts, h2k_convert_result **out);

/* --------------------------------------------------------- disk processor */

typedef struct h2k_disk_processor h2k_disk_processor;

#define H2K_PROCESS_OPTIONS_VERSION 1

typedef struct h2k_process_options {
    unsigned version;          /**< H2K_PROCESS_OPTIONS_VERSION */
    int flatten;               /**< require and flatten a snapshot chain */
    int compress;              /**< compress the output */
    h2k_disk_format output_format; /**< default H2K_FORMAT_QCOW2 */
    int overwrite;             /**< replace an existing output */
} h2k_process_options;

#define H2K_PROCESS_OPTIONS_INIT { H2K_PROCESS_OPTIONS_VERSION, 0, 0, H2K_FORMAT_QCOW2, 0 }

/** Creates a disk processor bound to @ctx (which must outlive it).
 *  Caller frees with h2k_disk_processor_free(). */
H2K_EXTERN int h2k_disk_processor_new(h2k_ctx *ctx, h2k_disk_processor **out);

/** Frees a processor.  NULL is allowed. */
H2K_EXTERN void h2k_disk_processor_free(h2k_disk_processor *proc);

/** Converts and processes one disk (probe, validate, flatten, convert).
 *  Caller owns *out (h2k_convert_result_free()). */
H2K_EXTERN int h2k_disk_processor_process(h2k_disk_processor *proc, const char *source_path,
                                          const char *output_path,
                                          const h2k_process_options *opts,
                                          h2k_convert_result **out);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_DISK_H */
