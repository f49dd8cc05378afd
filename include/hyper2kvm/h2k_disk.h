/**
 * @file hyper2kvm/h2k_disk.h
 * @brief the disk layer (mid-level API).
 *
 *  - probe: native, bounds-checked reading of VMDK, VHD, VHDX, qcow2 and raw
 *    headers, extents and snapshot chains (no subprocess);
 *  - OVA / OVF / VMX readers producing an h2k_vm_spec;
 *  - conversion with qemu-img (convert, flatten, the disk processor).
 *
 * Sources are only ever opened read-only.
 *
 * Concurrency: probing, parsing and converting keep no state outside their
 * arguments: any number may run at once, each on its own context.  An h2k_ova
 * may be read by several threads at once (each with its own context); a
 * disk processor follows its context.
 */
#ifndef HYPER2KVM_H2K_DISK_H
#define HYPER2KVM_H2K_DISK_H

#include "h2k_common.h"
#include "h2k_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ probe */

/** Our name of a format ("raw", "vmdk", "vhd", "vhdx", "qcow2", "unknown").  Static.
 *  @param fmt  the format
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_disk_format_name(h2k_disk_format fmt);

/** qemu's driver name for a format ("raw", "vmdk", "vpc", "vhdx", "qcow2"),
 *  NULL for H2K_FORMAT_UNKNOWN.  Static.
 *  @param fmt  the format
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_disk_format_qemu_name(h2k_disk_format fmt);

/** Parses a format name (ours or qemu's).  H2K_FORMAT_UNKNOWN if not known.
 *  @param name  the name
 *  @return the format, H2K_FORMAT_UNKNOWN for NULL or an unknown name */
H2K_EXTERN h2k_disk_format h2k_disk_format_from_name(const char *name);

/** One extent of a VMDK (or the single data area of other formats). */
typedef struct h2k_disk_extent {
    char *path;   /**< absolute path of the extent file, NULL for ZERO extents */
    char *type;   /**< "SPARSE", "FLAT", "ZERO", "VMFS", "VMFSSPARSE", "SESPARSE", "VMFSRDM"... */
    char *access; /**< "RW", "RDONLY" or "NOACCESS" */
    uint64_t sectors;   /**< size in 512-byte sectors */
    uint64_t offset;    /**< start offset in the file, in bytes (FLAT extents) */
    uint64_t file_size; /**< size of the extent file in bytes, 0 when it has none */
} h2k_disk_extent;

/** One file of a snapshot chain. */
typedef struct h2k_disk_layer {
    char *path;               /**< absolute path (the descriptor for split VMDKs) */
    h2k_disk_format format;   /**< the layer's format */
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
    size_t n_extents;         /**< number of entries in extents */
    h2k_disk_extent *extents; /**< VMDK extents; other formats: one entry for the file */
} h2k_disk_layer;

/** Result of h2k_disk_probe().  layers[0] is the file probed, the last is the base. */
typedef struct h2k_disk_info {
    char *path;              /**< absolute path of the file probed */
    h2k_disk_format format;  /**< = layers[0].format */
    char *subformat;         /**< = layers[0].subformat (copy) */
    uint64_t virtual_size;   /**< = layers[0].virtual_size */
    uint64_t allocated_size; /**< sum over all layers */
    uint64_t offset;         /**< start of the image inside path (OVA member), else 0 */
    uint64_t size;           /**< length of the image inside path, else the file size */
    size_t n_layers;         /**< number of entries in layers */
    h2k_disk_layer *layers;  /**< the chain, from the file probed to its base */
} h2k_disk_info;

/** The newest version of h2k_probe_options (1). */
#define H2K_PROBE_OPTIONS_VERSION 1

/** Options of h2k_disk_probe().  Initialise with H2K_PROBE_OPTIONS_INIT or
 *  h2k_probe_options_init(); fields are only ever added at the end. */
typedef struct h2k_probe_options {
    unsigned version;         /**< H2K_PROBE_OPTIONS_VERSION */
    int follow_chain;         /**< follow and validate parents (default 1) */
    unsigned max_chain_depth; /**< default 64 */
    h2k_disk_format format;   /**< force a format instead of detecting it (default UNKNOWN) */
    uint64_t offset;          /**< image starts at this byte of the file (default 0) */
    uint64_t size;            /**< image length; 0 = to the end of the file */
    int check_extents;        /**< every extent file must exist with the right size (default 1) */
} h2k_probe_options;

/** Defaults of h2k_probe_options: follow and check the chain (64 deep), detect the format. */
#define H2K_PROBE_OPTIONS_INIT                                                                     \
    {                                                                                              \
        .version = H2K_PROBE_OPTIONS_VERSION, .follow_chain = 1, .max_chain_depth = 64,            \
        .format = H2K_FORMAT_UNKNOWN, .offset = 0, .size = 0, .check_extents = 1                   \
    }

/** Fills @p opts with the defaults of H2K_PROBE_OPTIONS_INIT, as the struct was in
 *  @p version (only that version's fields are written).  For callers that cannot
 *  use the macro (other languages).
 *  @param opts     the struct to fill
 *  @param version  1..H2K_PROBE_OPTIONS_VERSION
 *  @return 0, or H2K_ERR_INVALID_ARG when @p opts is NULL or @p version is not
 *          known (then only opts->version is set, and the call it is passed to
 *          fails naming the struct and the version). */
H2K_EXTERN int h2k_probe_options_init(h2k_probe_options *opts, unsigned version);

/** Probes a disk image: format, variant, sizes, extents and its snapshot chain,
 *  validated (CID/parentCID, parent GUIDs, extent sizes, header checksums).
 *  @p opts may be NULL for defaults.  On success the caller owns *out and frees
 *  it with h2k_disk_info_free().  A missing or unreadable file is NOT_FOUND/IO;
 *  a truncated, lying or inconsistent header, broken chain or missing extent is
 *  H2K_ERR_FORMAT with the file, offset and field in h2k_ctx_last_error().
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param path  the file
 *  @param opts  options, or NULL for the defaults
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_disk_probe(h2k_ctx *ctx, const char *path, const h2k_probe_options *opts,
                              h2k_disk_info **out);

/** Frees a probe result.  NULL is allowed.
 *  @param info  the probe result */
H2K_EXTERN void h2k_disk_info_free(h2k_disk_info *info);

/** The probe result as JSON (keys: path, format, subformat, virtual_size,
 *  allocated_size, chain[], extents[]).  Caller frees with free().
 *  @param info  the probe result
 *  @return the text (the caller frees it with free()), or NULL on allocation failure */
H2K_EXTERN char *h2k_disk_info_to_json(const h2k_disk_info *info);

/* -------------------------------------------------------------- OVF / VMX */

/** Reads an OVF descriptor.  Disk paths are resolved against the file's folder.
 *  Caller owns *out (h2k_vm_spec_free()).  Malformed XML or missing required
 *  elements give H2K_ERR_FORMAT naming the element.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param path  the file
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_ovf_parse_file(h2k_ctx *ctx, const char *path, h2k_vm_spec **out);

/** Reads an OVF descriptor from memory; @p base_dir resolves disk file names (may be NULL);
 *  @p name_for_errors names the document in messages (may be NULL).
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param xml  the domain XML
 *  @param len  length of the text in bytes
 *  @param base_dir  folder that relative paths are resolved against, or NULL
 *  @param name_for_errors  name of the document in messages, or NULL
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_ovf_parse_memory(h2k_ctx *ctx, const char *xml, size_t len, const char *base_dir,
                                    const char *name_for_errors, h2k_vm_spec **out);

/** Reads a VMware .vmx file.  Disk paths are resolved against the file's folder.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param path  the file
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_vmx_parse_file(h2k_ctx *ctx, const char *path, h2k_vm_spec **out);

/** Reads a .vmx from memory (see h2k_ovf_parse_memory() for the arguments).
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param text  the .vmx text (need not be NUL-terminated)
 *  @param len  length of the text in bytes
 *  @param base_dir  folder that relative paths are resolved against, or NULL
 *  @param name_for_errors  name of the document in messages, or NULL
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_vmx_parse_memory(h2k_ctx *ctx, const char *text, size_t len,
                                    const char *base_dir, const char *name_for_errors,
                                    h2k_vm_spec **out);

/* ------------------------------------------------------------------- OVA */

/** An open OVA: the file descriptor and the index of its members.  The calls
 *  that take a const handle only read (pread) it: several threads may read one
 *  OVA at once, each with its own context; h2k_ova_free() must come last. */
typedef struct h2k_ova h2k_ova;

/** One regular file inside an OVA. */
typedef struct h2k_ova_member {
    const char *name; /**< path inside the archive, normalised ("./" stripped) */
    uint64_t offset;  /**< byte offset of the data inside the OVA file */
    uint64_t size;    /**< data size in bytes */
} h2k_ova_member;

/** Opens an OVA (tar: ustar, pax, GNU long names) and indexes its members
 *  without copying anything.  Members with unsafe names (absolute, "..",
 *  links) are refused with H2K_ERR_FORMAT.  Caller frees with h2k_ova_free().
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param path  the file
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_ova_open(h2k_ctx *ctx, const char *path, h2k_ova **out);

/** Frees an OVA handle.  NULL is allowed.
 *  @param ova  the OVA handle */
H2K_EXTERN void h2k_ova_free(h2k_ova *ova);

/** Number of regular-file members.
 *  @param ova  the OVA handle
 *  @return the number of members */
H2K_EXTERN size_t h2k_ova_member_count(const h2k_ova *ova);

/** Member @p i (0-based), owned by @p ova; NULL when out of range.
 *  @param ova  the OVA handle
 *  @param i  0-based index
 *  @return the member, or NULL */
H2K_EXTERN const h2k_ova_member *h2k_ova_member_at(const h2k_ova *ova, size_t i);

/** Member by name, owned by @p ova; NULL when absent.
 *  @param ova  the OVA handle
 *  @param name  the name
 *  @return the member, or NULL */
H2K_EXTERN const h2k_ova_member *h2k_ova_find(const h2k_ova *ova, const char *name);

/** Verifies every digest of the .mf manifest (SHA1, SHA256, SHA512).  Returns 0
 *  when the OVA has no manifest or all digests match; H2K_ERR_VALIDATION naming
 *  the member on a mismatch, H2K_ERR_FORMAT for a malformed manifest.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param ova  the OVA handle
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_ova_verify_manifest(h2k_ctx *ctx, const h2k_ova *ova);

/** Parses the OVA's .ovf into a spec.  Disks stored uncompressed get
 *  container_path/offset/size so they can be read in place; path is the
 *  member name. Caller owns *out.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param ova  the OVA handle
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_ova_read_spec(h2k_ctx *ctx, const h2k_ova *ova, h2k_vm_spec **out);

/** The newest version of h2k_ova_extract_options (1). */
#define H2K_OVA_EXTRACT_OPTIONS_VERSION 1

/** Options of h2k_ova_extract().  Initialise with H2K_OVA_EXTRACT_OPTIONS_INIT or
 *  h2k_ova_extract_options_init(); fields are only ever added at the end. */
typedef struct h2k_ova_extract_options {
    unsigned version;             /**< H2K_OVA_EXTRACT_OPTIONS_VERSION */
    int verify_manifest;          /**< verify the .mf first (default 1) */
    int ignore_manifest_mismatch; /**< explicit override: log a warning instead of failing */
    uint64_t max_total_size;      /**< refuse archives whose members add up to more; 0 = 16 TiB */
    int decompress_gzip; /**< gunzip members the OVF marks compression="gzip" (default 1) */
} h2k_ova_extract_options;

/** Defaults of h2k_ova_extract_options: verify the manifest, gunzip, 16 TiB at most. */
#define H2K_OVA_EXTRACT_OPTIONS_INIT                                                               \
    {                                                                                              \
        .version = H2K_OVA_EXTRACT_OPTIONS_VERSION, .verify_manifest = 1,                          \
        .ignore_manifest_mismatch = 0, .max_total_size = 0, .decompress_gzip = 1                   \
    }

/** Fills @p opts with the defaults of H2K_OVA_EXTRACT_OPTIONS_INIT, as the struct was in
 *  @p version (only that version's fields are written).  For callers that cannot
 *  use the macro (other languages).
 *  @param opts     the struct to fill
 *  @param version  1..H2K_OVA_EXTRACT_OPTIONS_VERSION
 *  @return 0, or H2K_ERR_INVALID_ARG when @p opts is NULL or @p version is not
 *          known (then only opts->version is set, and the call it is passed to
 *          fails naming the struct and the version). */
H2K_EXTERN int h2k_ova_extract_options_init(h2k_ova_extract_options *opts, unsigned version);

/** Extracts every member into @p output_dir (created if missing) safely: no
 *  path escapes, no links, each file written (mode 0600) under a temporary name and
 *  renamed when complete.  If @p spec_out is not NULL, the OVF found is parsed
 *  with disk paths in @p output_dir (caller owns it).
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param ova  the OVA handle
 *  @param output_dir  the folder to extract into
 *  @param opts  options, or NULL for the defaults
 *  @param spec_out  receives the spec of the extracted VM (caller owns it), or NULL
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_ova_extract(h2k_ctx *ctx, const h2k_ova *ova, const char *output_dir,
                               const h2k_ova_extract_options *opts, h2k_vm_spec **spec_out);

/* -------------------------------------------------------------- convert */

/** The newest version of h2k_convert_options: 1 (up to qemu_img), 2 (no_sync),
 *  3 (output_mode).  Every older version is still accepted. */
#define H2K_CONVERT_OPTIONS_VERSION 3

/** Options of h2k_disk_convert() and h2k_disk_flatten().  Initialise with
 *  H2K_CONVERT_OPTIONS_INIT or h2k_convert_options_init(); fields are only ever
 *  added at the end.  Pointers are borrowed for the duration of the call. */
typedef struct h2k_convert_options {
    unsigned version;              /**< H2K_CONVERT_OPTIONS_VERSION */
    h2k_disk_format output_format; /**< H2K_FORMAT_QCOW2 (default) or H2K_FORMAT_RAW */
    int compress;                  /**< compress qcow2 clusters */
    const char *compression_type;  /**< "zstd" (default) or "zlib" */
    int parallel_coroutines;       /**< qemu-img -m, default 8 */
    /** qemu-img -W (out-of-order writes): 1 on, 0 off, -1 (default) auto: on,
     *  except when compressing a streamOptimized VMDK (compressed grains), where
     *  -W measured slower. */
    int out_of_order;
    int overwrite;                 /**< replace an existing output (default 0: H2K_ERR_EXISTS) */
    h2k_disk_format source_format; /**< override probing (default UNKNOWN = probe) */
    uint64_t source_offset;        /**< image inside a container (OVA) at this offset */
    uint64_t source_size;          /**< and of this size (0 = to the end) */
    unsigned timeout_seconds;      /**< 0 = none */
    const char *qemu_img;          /**< qemu-img program, default "qemu-img" from PATH */
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

/** Defaults of h2k_convert_options: qcow2, uncompressed, 8 coroutines, -W auto, durable. */
#define H2K_CONVERT_OPTIONS_INIT                                                                   \
    {                                                                                              \
        .version = H2K_CONVERT_OPTIONS_VERSION, .output_format = H2K_FORMAT_QCOW2, .compress = 0,  \
        .compression_type = NULL, .parallel_coroutines = 8, .out_of_order = -1, .overwrite = 0,    \
        .source_format = H2K_FORMAT_UNKNOWN, .source_offset = 0, .source_size = 0,                 \
        .timeout_seconds = 0, .qemu_img = NULL, .no_sync = 0, .output_mode = 0                     \
    }

/** Fills @p opts with the defaults of H2K_CONVERT_OPTIONS_INIT, as the struct was in
 *  @p version (only that version's fields are written).  For callers that cannot
 *  use the macro (other languages).
 *  @param opts     the struct to fill
 *  @param version  1..H2K_CONVERT_OPTIONS_VERSION
 *  @return 0, or H2K_ERR_INVALID_ARG when @p opts is NULL or @p version is not
 *          known (then only opts->version is set, and the call it is passed to
 *          fails naming the struct and the version). */
H2K_EXTERN int h2k_convert_options_init(h2k_convert_options *opts, unsigned version);

/** Result of a conversion.  Caller frees with h2k_convert_result_free(). */
typedef struct h2k_convert_result {
    char *source_path;             /**< the source as given */
    char *output_path;             /**< the output written */
    h2k_disk_format source_format; /**< the source's format (probed or forced) */
    h2k_disk_format output_format; /**< the output's format */
    uint64_t virtual_size;         /**< guest-visible size in bytes */
    uint64_t output_size;          /**< bytes allocated by the output file */
    size_t chain_length;           /**< layers flattened (1 = no snapshots) */
    double duration_seconds;       /**< wall time of the conversion */
} h2k_convert_result;

/** Frees a conversion result.  NULL is allowed.
 *  @param res  the result (NULL allowed) */
H2K_EXTERN void h2k_convert_result_free(h2k_convert_result *res);

/** Converts @p src (any probed format, its chain flattened) to @p dst with qemu-img.
 *  The source is probed and validated first and opened read-only; the output is
 *  written as "\<dst\>.part-XXXXXX" beside @p dst and renamed when complete, and
 *  removed on failure or cancel.  Progress goes to the context's callback with
 *  stage "convert".  @p opts may be NULL.  @p out may be NULL.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param src  the source image (opened read-only)
 *  @param dst  the output path
 *  @param opts  options, or NULL for the defaults
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_disk_convert(h2k_ctx *ctx, const char *src, const char *dst,
                                const h2k_convert_options *opts, h2k_convert_result **out);

/** Flattens a snapshot chain into one image in @p dst (same as h2k_disk_convert(),
 *  which always flattens, but refuses a source without a chain unless it is a
 *  multi-extent VMDK).
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param src  the source image (opened read-only)
 *  @param dst  the output path
 *  @param opts  options, or NULL for the defaults
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_disk_flatten(h2k_ctx *ctx, const char *src, const char *dst,
                                const h2k_convert_options *opts, h2k_convert_result **out);

/* --------------------------------------------------------- disk processor */

/** The seed's DiskProcessor.  Today it holds only its context: it exists so that
 *  programs (and bindings) written against the seed's classes map one to one, and
 *  so that state a processor will carry (defaults, caches) comes without an API
 *  change.  Same concurrency as its context; h2k_disk_processor_process() does
 *  not change the processor. */
typedef struct h2k_disk_processor h2k_disk_processor;

/** The newest version of h2k_process_options: 1 (up to overwrite), 2 (guest_identity).
 *  Every older version is still accepted. */
#define H2K_PROCESS_OPTIONS_VERSION 2

struct h2k_guest_identity;

/** Options of h2k_disk_processor_process() (the seed's DiskProcessor.process_disk
 *  keyword arguments).  Initialise with H2K_PROCESS_OPTIONS_INIT or
 *  h2k_process_options_init(); fields are only ever added at the end. */
typedef struct h2k_process_options {
    unsigned version; /**< H2K_PROCESS_OPTIONS_VERSION */
    /** flatten a snapshot chain or a multi-extent VMDK into one image.  As every
     *  conversion flattens, a single image is simply converted (not an error). */
    int flatten;
    int compress;                  /**< compress the output (qcow2, zstd) */
    h2k_disk_format output_format; /**< H2K_FORMAT_QCOW2 (default) or H2K_FORMAT_RAW */
    int overwrite;                 /**< replace an existing output */
    /** (version 2) the guest on the disk as the caller already detected it, or
     *  NULL.  Borrowed for the call.  The processor never detects the guest (a
     *  conversion does not need it), so passing one never costs a detection;
     *  today it is only logged with the conversion (the seed's "optimisations"
     *  that would use it are not implemented). */
    const struct h2k_guest_identity *guest_identity;
} h2k_process_options;

/** Defaults of h2k_process_options: qcow2, uncompressed, no identity. */
#define H2K_PROCESS_OPTIONS_INIT                                                                   \
    {                                                                                              \
        .version = H2K_PROCESS_OPTIONS_VERSION, .flatten = 0, .compress = 0,                       \
        .output_format = H2K_FORMAT_QCOW2, .overwrite = 0, .guest_identity = NULL                  \
    }

/** Fills @p opts with the defaults of H2K_PROCESS_OPTIONS_INIT, as the struct was in
 *  @p version (only that version's fields are written).  For callers that cannot
 *  use the macro (other languages).
 *  @param opts     the struct to fill
 *  @param version  1..H2K_PROCESS_OPTIONS_VERSION
 *  @return 0, or H2K_ERR_INVALID_ARG when @p opts is NULL or @p version is not
 *          known (then only opts->version is set, and the call it is passed to
 *          fails naming the struct and the version). */
H2K_EXTERN int h2k_process_options_init(h2k_process_options *opts, unsigned version);

/** Creates a disk processor bound to @p ctx (which must outlive it).
 *  Caller frees with h2k_disk_processor_free().
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_disk_processor_new(h2k_ctx *ctx, h2k_disk_processor **out);

/** Frees a processor.  NULL is allowed.
 *  @param proc  the disk processor */
H2K_EXTERN void h2k_disk_processor_free(h2k_disk_processor *proc);

/** Converts and processes one disk (probe, validate, flatten, convert).
 *  Caller owns *out (h2k_convert_result_free()).
 *  @param proc  the disk processor
 *  @param source_path  the source disk (opened read-only)
 *  @param output_path  the output image
 *  @param opts  options, or NULL for the defaults
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_disk_processor_process(const h2k_disk_processor *proc, const char *source_path,
                                          const char *output_path, const h2k_process_options *opts,
                                          h2k_convert_result **out);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_DISK_H */
