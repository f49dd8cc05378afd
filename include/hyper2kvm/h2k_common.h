/**
 * @file hyper2kvm/h2k_common.h
 * @brief common definitions: context, error codes, logging, progress, version.
 *
 * Every hyper2kvm call takes an h2k_ctx.  A context is used by one thread at a
 * time; h2k_ctx_cancel() is the one call that may come from any thread.
 *
 * Functions return 0 (H2K_OK) or a negative h2k_code.  The detail of the last
 * failure on a context (message, source and output paths, offset, field,
 * console tail) is read with h2k_ctx_last_error().
 *
 * Concurrency: see h2k_ctx.  The calls that take no context (h2k_version(),
 * h2k_strerror(), h2k_code_name(), h2k_progress_stage_unit(), the *_name()
 * and *_options_init() functions of every header) use no shared state and may
 * run on any thread at any time.  No function keeps mutable static state.
 */
#ifndef HYPER2KVM_H2K_COMMON_H
#define HYPER2KVM_H2K_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define H2K_EXTERN __attribute__((visibility("default")))
#else
#define H2K_EXTERN
#endif

/** Error codes.  Values are only ever appended. */
typedef enum h2k_code {
    H2K_OK = 0,
    H2K_ERR_GENERIC = -1,         /**< unclassified failure */
    H2K_ERR_CONNECTION = -2,      /**< could not reach a remote platform */
    H2K_ERR_AUTHENTICATION = -3,  /**< credentials refused */
    H2K_ERR_CONVERSION = -4,      /**< disk conversion failed */
    H2K_ERR_GUEST_DETECTION = -5, /**< guest OS could not be identified */
    H2K_ERR_FIXER = -6,           /**< a guest repair failed */
    H2K_ERR_BOOT_TEST = -7,       /**< the converted guest did not boot */
    H2K_ERR_VALIDATION = -8,      /**< input or configuration is invalid */
    H2K_ERR_IO = -9,              /**< read/write/system call failure */
    H2K_ERR_NOT_FOUND = -10,      /**< file, VM or object does not exist */
    H2K_ERR_NO_MEMORY = -11,      /**< allocation failure */
    H2K_ERR_UNSUPPORTED = -12,    /**< feature or format not supported */
    H2K_ERR_CANCELLED = -13,      /**< h2k_ctx_cancel() was called */
    H2K_ERR_FORMAT = -14,         /**< malformed or inconsistent input data */
    H2K_ERR_INVALID_ARG = -15,    /**< API misuse (NULL pointer, bad option) */
    H2K_ERR_TIMEOUT = -16,        /**< an operation ran out of time */
    H2K_ERR_EXISTS = -17          /**< output already exists */
} h2k_code;

/** Log levels, most severe first. */
typedef enum h2k_log_level {
    H2K_LOG_ERROR = 0,
    H2K_LOG_WARNING = 1,
    H2K_LOG_INFO = 2,
    H2K_LOG_DEBUG = 3
} h2k_log_level;

/** Detail of the last failure on a context.  Strings are owned by the context
 *  and stay valid until the next failing call or h2k_ctx_clear_error(). */
typedef struct h2k_error {
    int code;                 /**< negative h2k_code, or 0 when no error */
    const char *message;      /**< human-readable message, never NULL */
    const char *source_path;  /**< input file concerned, or NULL */
    const char *output_path;  /**< output file concerned, or NULL */
    int64_t offset;           /**< byte offset in source_path, or -1 */
    const char *field;        /**< name of the offending field, or NULL */
    const char *stage;        /**< pipeline stage, or NULL */
    const char *console_tail; /**< last console lines (boot tests), or NULL */
} h2k_error;

/** A library context: the error of the last failing call, the log and progress
 *  callbacks, the temporary folder, the allowed paths and the cancel flag.
 *  Every call takes one.  Concurrency: one thread uses a context at a time
 *  (configure it before handing it to work); h2k_ctx_cancel() and
 *  h2k_ctx_is_cancelled() may be called from any thread or a signal handler.
 *  Contexts are independent: any number may be used by as many threads at once.
 *  The handles made with a context (OVA, processor, detector, fixer, vSphere
 *  client) follow their context: used by the thread that uses it. */
typedef struct h2k_ctx h2k_ctx;

/** Log callback.  @c domain names the subsystem ("disk", "ova", ...). */
typedef void (*h2k_log_fn)(void *userdata, h2k_log_level level, const char *domain,
                           const char *message);

/** The unit of a progress stage's done and total (h2k_progress_stage_unit()).
 *  Values are only ever appended. */
typedef enum h2k_progress_unit {
    H2K_PROGRESS_UNKNOWN = 0,  /**< a stage this library version does not name */
    H2K_PROGRESS_BYTES = 1,    /**< bytes processed of total bytes */
    H2K_PROGRESS_PERMILLE = 2, /**< thousandths of the work (total is 1000) */
    H2K_PROGRESS_ITEMS = 3,    /**< items (disks) done of total items */
    H2K_PROGRESS_STEPS = 4     /**< steps of the stage (0 of 1: started, 1 of 1: done) */
} h2k_progress_unit;

/** Progress callback.  Called on the thread doing the work (for a batch, on each
 *  worker thread, serialised per VM context), so it must return quickly.
 *  The unit of @p done and @p total is stated by the stage, never by the value
 *  of total; done/total is always the fraction done:
 *
 *  | stage      | unit     | emitted by                                        |
 *  |------------|----------|---------------------------------------------------|
 *  | "convert"  | PERMILLE | h2k_disk_convert(), h2k_disk_flatten()            |
 *  | "extract"  | BYTES    | h2k_ova_extract()                                  |
 *  | "verify"   | BYTES    | h2k_ova_verify_manifest()                          |
 *  | "download" | BYTES    | h2k_vmware_export_vm()                             |
 *  | "probe"    | ITEMS    | h2k_orchestrator_run() (disks probed)              |
 *  | "fix"      | PERMILLE | h2k_orchestrator_run()                             |
 *  | "copy"     | BYTES    | h2k_orchestrator_run() (virt-v2v backend: 0 of 1, then 1 of 1) |
 *  | "export", "trim", "xml", "define", "boot", "report" | STEPS | h2k_orchestrator_run() |
 *
 *  @param userdata  as given to h2k_ctx_set_progress()
 *  @param stage     the stage (static string)
 *  @param done      work done, in the stage's unit
 *  @param total     all the work, in the stage's unit (never 0) */
typedef void (*h2k_progress_fn)(void *userdata, const char *stage, uint64_t done, uint64_t total);

/** The unit of a progress stage (see h2k_progress_fn).
 *  @param stage  a stage name as passed to the progress callback
 *  @return its unit; H2K_PROGRESS_UNKNOWN for NULL or a name this version does not emit */
H2K_EXTERN h2k_progress_unit h2k_progress_stage_unit(const char *stage);

/** Library version as a string, e.g. "0.1.0".  Static storage.
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_version(void);

/** Library version numbers; any pointer may be NULL.
 *  @param major  receives the major version, or NULL
 *  @param minor  receives the minor version, or NULL
 *  @param patch  receives the patch level, or NULL */
H2K_EXTERN void h2k_version_numbers(int *major, int *minor, int *patch);

/** Static, human-readable description of an h2k_code.  Never NULL.
 *  @param code  an h2k_code (0 or negative)
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_strerror(int code);

/** Short, stable name of an h2k_code ("VALIDATION", "IO", ...).  Never NULL.
 *  @param code  an h2k_code (0 or negative)
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_code_name(int code);

/** Creates a context.  The caller owns *out and frees it with h2k_ctx_free().
 *  Logging goes nowhere and the temporary directory is $TMPDIR or /var/tmp
 *  until set.  Returns 0 or H2K_ERR_NO_MEMORY.
 *  @param out  receives the result; the caller owns it
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_ctx_new(h2k_ctx **out);

/** Frees a context.  NULL is allowed.
 *  @param ctx  the context (errors, log, progress, cancellation) */
H2K_EXTERN void h2k_ctx_free(h2k_ctx *ctx);

/** Sets the log callback and the most verbose level passed to it.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param fn  the log callback, or NULL for none
 *  @param userdata  passed to @p fn as is
 *  @param max_level  the most verbose level passed on */
H2K_EXTERN void h2k_ctx_set_log(h2k_ctx *ctx, h2k_log_fn fn, void *userdata,
                                h2k_log_level max_level);

/** Sets the progress callback (NULL to disable).
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param fn  the progress callback, or NULL for none
 *  @param userdata  as given with the callback */
H2K_EXTERN void h2k_ctx_set_progress(h2k_ctx *ctx, h2k_progress_fn fn, void *userdata);

/** Requests cancellation.  Safe to call from any thread or a signal handler;
 *  running work stops at its next check and returns H2K_ERR_CANCELLED.
 *  @param ctx  the context (errors, log, progress, cancellation) */
H2K_EXTERN void h2k_ctx_cancel(h2k_ctx *ctx);

/** Returns non-zero once h2k_ctx_cancel() was called.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_ctx_is_cancelled(const h2k_ctx *ctx);

/** Clears a previous cancellation so the context can be reused.
 *  @param ctx  the context (errors, log, progress, cancellation) */
H2K_EXTERN void h2k_ctx_reset_cancel(h2k_ctx *ctx);

/** Sets the directory for temporary files (copied).  Returns 0,
 *  H2K_ERR_INVALID_ARG or H2K_ERR_NO_MEMORY.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @param dir  an existing directory
 *  @return 0 or a negative h2k_code (the detail in h2k_ctx_last_error()) */
H2K_EXTERN int h2k_ctx_set_tmpdir(h2k_ctx *ctx, const char *dir);

/** The directory for temporary files.  Owned by the context.
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @return a static string, never NULL */
H2K_EXTERN const char *h2k_ctx_tmpdir(const h2k_ctx *ctx);

/** Allows the files that untrusted inputs name (VMDK extents and parents, VMX disk
 *  file names, qcow2 backing files, VHD/VHDX parent locators) to lie under @p dir as
 *  well as beside the file that names them.  By default a reference must resolve inside
 *  the referring file's own folder.  May be called several times (the roots add up);
 *  configure the context before handing it to any work, not while work runs on it.
 *  @param ctx  the context
 *  @param dir  an existing directory; it is resolved (symbolic links followed) now
 *  @return 0, H2K_ERR_INVALID_ARG (NULL, empty, not a directory: the message names it)
 *          or H2K_ERR_NO_MEMORY */
H2K_EXTERN int h2k_ctx_allow_path(h2k_ctx *ctx, const char *dir);

/** Detail of the last failure; never NULL (code 0 and an empty message when none).
 *  @param ctx  the context (errors, log, progress, cancellation)
 *  @return the error detail, owned by @p ctx */
H2K_EXTERN const h2k_error *h2k_ctx_last_error(const h2k_ctx *ctx);

/** Forgets the last failure.
 *  @param ctx  the context (errors, log, progress, cancellation) */
H2K_EXTERN void h2k_ctx_clear_error(h2k_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* HYPER2KVM_H2K_COMMON_H */
