/*
 * Internal helpers shared by every layer of libhyper2kvm.  Never installed.
 * Internal functions carry the "hk_" prefix; only "h2k_" symbols are exported.
 */
#ifndef HK_CORE_INTERNAL_H
#define HK_CORE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "hyper2kvm/h2k_common.h"

#if defined(__GNUC__)
#define HK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define HK_UNUSED __attribute__((unused))
#else
#define HK_PRINTF(a, b)
#define HK_UNUSED
#endif

#define HK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ----------------------------------------------------------- errors, log */

/* Records an error on @ctx and returns @code.  Clears every detail field. */
int hk_error(h2k_ctx *ctx, int code, const char *fmt, ...) HK_PRINTF(3, 4);

/* Same, with the source file, byte offset (-1 for none) and field name (may be NULL).
 * The message is prefixed with "PATH: " and suffixed with " (field F, offset N)". */
int hk_error_at(h2k_ctx *ctx, int code, const char *path, int64_t offset, const char *field,
                const char *fmt, ...) HK_PRINTF(6, 7);

/* Records an errno-based error: "<what>: <path>: strerror(errnum)"; ENOENT gives
 * H2K_ERR_NOT_FOUND, ENOMEM NO_MEMORY, EEXIST EXISTS, others IO. */
int hk_error_errno(h2k_ctx *ctx, int errnum, const char *path, const char *what);

/* Allocation failure: records NO_MEMORY and returns it. */
int hk_error_nomem(h2k_ctx *ctx);

/* Add detail to the current error (copied; NULL clears). */
void hk_error_set_source(h2k_ctx *ctx, const char *path);
void hk_error_set_output(h2k_ctx *ctx, const char *path);
void hk_error_set_stage(h2k_ctx *ctx, const char *stage);
void hk_error_set_console_tail(h2k_ctx *ctx, const char *tail);

/* Prepends "PREFIX: " to the current error message (for context as errors bubble up). */
void hk_error_prefix(h2k_ctx *ctx, const char *fmt, ...) HK_PRINTF(2, 3);

void hk_log(h2k_ctx *ctx, h2k_log_level level, const char *domain, const char *fmt, ...)
    HK_PRINTF(4, 5);
#define hk_debug(ctx, dom, ...) hk_log((ctx), H2K_LOG_DEBUG, (dom), __VA_ARGS__)
#define hk_info(ctx, dom, ...) hk_log((ctx), H2K_LOG_INFO, (dom), __VA_ARGS__)
#define hk_warn(ctx, dom, ...) hk_log((ctx), H2K_LOG_WARNING, (dom), __VA_ARGS__)

/* Reports progress to the context's callback, if any. */
void hk_progress(h2k_ctx *ctx, const char *stage, uint64_t done, uint64_t total);

/* Returns H2K_ERR_CANCELLED (and records it) when the context was cancelled, else 0. */
int hk_check_cancel(h2k_ctx *ctx);

/* The roots given with h2k_ctx_allow_path() (resolved), *n of them; owned by ctx. */
const char *const *hk_ctx_allowed_roots(const h2k_ctx *ctx, size_t *n);

/* ------------------------------------------------- options struct versions */

/* The versions of one public options struct (see src/core/opts.c).  Version v
 * (1..n_versions) holds the first sizes[v-1] bytes of the current struct; the
 * last entry is sizeof the current struct.  Define one per struct with
 * HK_OPTS_LAYOUT() beside the function that reads it. */
typedef struct hk_opts_layout {
    const char *name;    /* "h2k_fix_options", for messages */
    unsigned n_versions; /* = the current version */
    const size_t *sizes;
} hk_opts_layout;

/* HK_OPTS_LAYOUT(var, type, size_v1, ..., sizeof(type)): a static const layout. */
#define HK_OPTS_LAYOUT(var, type, ...)                                                             \
    static const size_t var##_sizes[] = {__VA_ARGS__};                                             \
    static const hk_opts_layout var = {#type, HK_ARRAY_LEN(var##_sizes), var##_sizes}

/* Copies the caller's options @in (any known version; NULL: none) over
 * @defaults into @out (the current layout), sets out->version to the current
 * version.  An unknown version is H2K_ERR_INVALID_ARG: "h2k_fix_options:
 * version 7 is not known (1..3 are)"; @out then holds the defaults. */
int hk_opts_import(h2k_ctx *ctx, const hk_opts_layout *l, const void *in, const void *defaults,
                   void *out);

/* The body of the public h2k_*_options_init(): writes the first sizes[version-1]
 * bytes of @defaults into @opts and sets its version.  An unknown version only
 * sets opts->version (so that the call it reaches names it) and returns
 * H2K_ERR_INVALID_ARG; NULL @opts is H2K_ERR_INVALID_ARG. */
int hk_opts_init(const hk_opts_layout *l, void *opts, unsigned version, const void *defaults);
/* Records @path (resolved now) as a file this context wrote, an overlay whose
 * backing file the probe has checked: hk_resolve_reference() follows what it
 * names wherever it lies.  For the thread using @ctx only. */
int hk_ctx_trust_file(h2k_ctx *ctx, const char *path);

/* Whether @path is a file recorded with hk_ctx_trust_file() on @ctx. */
bool hk_ctx_file_is_own(const h2k_ctx *ctx, const char *path);

/* The qemu name of a window of a container file: the image of qemu driver
 * @format stored in the @size bytes at @offset of @container (absolute), as
 * "json:{...}" with a raw layer pinning offset and size.  NULL when @container
 * is not absolute or holds a character that would need escaping, when
 * @format is not a plain driver name or @size is 0 (or on allocation failure);
 * caller frees.  Pure: any thread. */
char *hk_window_json(const char *format, const char *container, uint64_t offset, uint64_t size);

/* Parses a name hk_window_json() wrote, and only such a name (byte for byte):
 * 0 with *format and *container (caller frees) and the window, or -1.  Pure. */
int hk_window_json_parse(const char *name, char **format, char **container, uint64_t *offset,
                         uint64_t *size);

/* Gives @to every root allowed on @from (a worker's context); 0 or the error,
 * recorded on @from. */
int hk_ctx_copy_allowed_roots(h2k_ctx *from, h2k_ctx *to);

/* Whether KVM runs guests here, as found by this context's first check
   (src/boottest/accel.c): 0 not checked yet, 1 usable, 2 not usable.  Kept per
   context so that no process-wide state is shared between threads. */
int hk_ctx_kvm_state(const h2k_ctx *ctx);
void hk_ctx_set_kvm_state(h2k_ctx *ctx, int state);

/* ------------------------------------------------------- counted arrays */

/* Grows the array *@arr of *@n elements of @size bytes by one zeroed element
 * and returns it (*n counts it); NULL when out of memory (nothing changed). */
void *hk_array_grow(void **arr, size_t *n, size_t size);

/* ------------------------------------------------------------- strings */

/* Growable NUL-terminated buffer.  Zero-initialise ({0}) before use. */
typedef struct hk_buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom; /* set once an allocation failed; further appends are ignored */
} hk_buf;

void hk_buf_append(hk_buf *b, const char *s, size_t n);
void hk_buf_puts(hk_buf *b, const char *s);
void hk_buf_printf(hk_buf *b, const char *fmt, ...) HK_PRINTF(2, 3);
void hk_buf_vprintf(hk_buf *b, const char *fmt, va_list ap) HK_PRINTF(2, 0);
/* Appends @s XML-escaped (&<>"' as entities; control characters other than
 * tab and line ends, which XML 1.0 cannot hold, as '?').  @s may be NULL. */
void hk_buf_xml_escape(hk_buf *b, const char *s);
/* Returns the string (caller frees) and resets @b; NULL if an allocation failed. */
char *hk_buf_steal(hk_buf *b);
void hk_buf_free(hk_buf *b);

/* strdup that accepts NULL (returns NULL). */
char *hk_strdup0(const char *s);
/* strndup-alike. Returns NULL on allocation failure. */
char *hk_strndup(const char *s, size_t n);
/* Allocating printf; NULL on failure. */
char *hk_asprintf(const char *fmt, ...) HK_PRINTF(1, 2);
/* The same with a va_list (not consumed for the caller: va_end it). */
char *hk_vasprintf(const char *fmt, va_list ap) HK_PRINTF(1, 0);
/* ASCII case-insensitive comparison helpers. */
bool hk_streq_nocase(const char *a, const char *b);
bool hk_startswith(const char *s, const char *prefix);
bool hk_endswith_nocase(const char *s, const char *suffix);
/* @s as one POSIX shell word: wrapped in single quotes, each ' written as
 * '\''.  Caller frees; NULL on allocation failure. */
char *hk_sh_quote(const char *s);
/* @s as a value of qemu's "key=value,key=value" option syntax (-drive,
 * --image-opts): each ',' doubled.  Caller frees; NULL on allocation failure. */
char *hk_qemu_opt_escape(const char *s);
/* @s rendered safely for a line of text (logs, error messages, reports): C0
 * controls (newline and tab included), DEL, ESC, C1 controls (raw bytes
 * 0x80-0x9f and their UTF-8 forms U+0080-U+009F), bytes that are not valid
 * UTF-8 and the Unicode bidirectional overrides are written as \xNN (each
 * byte of the sequence); everything else is copied.  NULL gives "(null)".
 * Caller frees; NULL on allocation failure. */
char *hk_str_safe(const char *s);
/* The same for @len bytes of @s (NUL bytes are escaped too). */
char *hk_str_safe_n(const char *s, size_t len);
/* True when hk_str_safe(@s) would change @s (it holds something to escape). */
bool hk_str_needs_escape(const char *s);
/* Length in bytes of the character at @s (of @n bytes left) when
 * hk_str_safe() would copy it as is: 1 for printable ASCII, 2 to 4 for a
 * well-formed UTF-8 character that is neither a C1 control nor a
 * bidirectional override; 0 otherwise (@s NULL or @n 0 too). */
size_t hk_str_safe_char_len(const char *s, size_t n);
/* Trims ASCII whitespace in place; returns @s. */
char *hk_strtrim(char *s);

/* Parses an unsigned decimal (or 0x hex when @allow_hex) integer that must span
 * the whole string; returns false on junk or overflow. */
bool hk_parse_u64(const char *s, uint64_t *out, bool allow_hex);

/* -------------------------------------------------------------- files */

/* Reads exactly @len bytes at @off.  Returns 0, or records an error naming
 * @path, @off and @what ("truncated" when the file ends early) and returns
 * H2K_ERR_FORMAT (short read) or H2K_ERR_IO. */
int hk_pread_exact(h2k_ctx *ctx, int fd, const char *path, void *buf, size_t len, uint64_t off,
                   const char *what);

/* Opens an input file for reading: the one way inputs (disk images, backing
 * files, OVA, OVF, VMX) are opened.  The open never blocks (O_NONBLOCK, so a
 * FIFO cannot hang it; cleared once the file is known to be regular), and
 * anything but a regular file (or a block device with HK_OPEN_ALLOW_BLOCK)
 * is refused with H2K_ERR_FORMAT naming @path, @what ("disk image", "OVA",
 * ...) and what the file is.  Returns the fd (O_CLOEXEC; caller closes), *st
 * filled when @st is not NULL, or a negative h2k_code recorded on @ctx. */
#define HK_OPEN_ALLOW_BLOCK 1u
struct stat;
int hk_open_input(h2k_ctx *ctx, const char *path, const char *what, unsigned flags,
                  struct stat *st);

/* Reads a whole (small) file into a NUL-terminated buffer; refuses files over
 * @max_size with H2K_ERR_FORMAT.  Caller frees *out. */
int hk_read_file(h2k_ctx *ctx, const char *path, size_t max_size, char **out, size_t *len_out);

/* Absolute, normalised form of @path (not resolving symlinks); caller frees. */
char *hk_abspath(const char *path);
/* Directory part of @path ("." when none); caller frees. */
char *hk_dirname(const char *path);
/* Joins @dir and @name; @name absolute is returned as is.  Caller frees. */
char *hk_path_join(const char *dir, const char *name);

/* True when @ref starts with a qemu protocol or JSON prefix ("file:", "json:",
 * "nbd:": a ':' before any '/'), which qemu would not open as a local file. */
bool hk_reference_has_protocol(const char *ref);

/* True when the absolute @path is @root or lies under it (compared on path
 * component boundaries: "/a/bc" is not under "/a/b"). */
bool hk_path_is_under(const char *path, const char *root);

/* Resolves @ref, a file named inside @referring (a VMDK extent or parent, a
 * backing file, a parent locator, a VMX or OVF disk; @what names the kind in
 * messages), against @referring's folder.  The target, all symbolic links
 * resolved (realpath), must lie in that folder or under a root given with
 * h2k_ctx_allow_path(), and be a regular file (a block device only under an
 * allowed root).  Protocol and json: names and escapes (absolute paths, "..",
 * symlinks leading out) are refused with H2K_ERR_VALIDATION, devices, FIFOs,
 * sockets and folders with H2K_ERR_FORMAT; the message names the reference,
 * @referring and how to allow it.  A target that does not exist (but would lie inside) gives
 * H2K_ERR_NOT_FOUND with *resolved still set.  On 0, *resolved is the real
 * absolute path (caller frees; also on NOT_FOUND), else NULL.  Never opens the
 * target (a FIFO cannot block it).  Thread-safe. */
int hk_resolve_reference(h2k_ctx *ctx, const char *referring, const char *ref, const char *what,
                         char **resolved);

struct stat;
/* Permission bits for an output: @requested (the caller's output_mode; 0 =
 * 0600) without execute bits, always owner read-write, and without the group
 * and other bits @source (may be NULL) lacks.  Pure. */
mode_t hk_output_mode(unsigned requested, const struct stat *source);
/* fchmod()s @fd (the output @path, named in errors) to hk_output_mode() of
 * @requested and the file @source (may be NULL); 0 or H2K_ERR_IO. */
int hk_output_mode_fd(h2k_ctx *ctx, int fd, const char *path, unsigned requested,
                      const char *source);
/* Same for a file written by someone else (qemu-img): opened O_NOFOLLOW. */
int hk_output_mode_path(h2k_ctx *ctx, const char *path, unsigned requested, const char *source);

/* Bytes allocated on the host for an open file (st_blocks * 512). */
uint64_t hk_fd_allocated(int fd);

/* Creates "<final>.part-XXXXXX" beside @final; returns the fd (O_CLOEXEC) and
 * the name in *tmp_out (caller frees), or a negative h2k_code. */
int hk_tmpfile_beside(h2k_ctx *ctx, const char *final_path, char **tmp_out);

/* Creates a private folder "<context tmpdir>/<prefix>XXXXXX"; its name in *out
 * (caller frees and removes).  @what names it in the error ("work folder"). */
int hk_temp_dir(h2k_ctx *ctx, const char *prefix, const char *what, char **out);

/* False when KVM certainly cannot run a stock guest: /dev/kvm does not open
 * read-write or the CPU lacks the vmx and svm flags (a /dev/kvm of a nested or paravirtual KVM
 * without them hangs qemu).  H2K_ACCEL=tcg in the environment forces false. */
bool hk_kvm_possible(void);

/* The CPUs this process may run on (its affinity mask; at least 1). */
long hk_host_cpus(void);

/* Monotonic clock in seconds. */
double hk_now(void);

/* Sets @ts to @ms milliseconds from now on the monotonic clock: the deadline
 * of a pthread_cond_timedwait() on a condition variable that uses
 * CLOCK_MONOTONIC. */
void hk_monotonic_after(struct timespec *ts, long ms);

/* --------------------------------------------------------- subprocess */

/* Called with each line (without its newline) the child writes on stdout. */
typedef void (*hk_line_fn)(void *userdata, const char *line);

typedef struct hk_run_opts {
    hk_line_fn on_stdout_line; /* may be NULL: stdout is kept in stdout_tail */
    void *userdata;
    unsigned timeout_seconds; /* 0 = none */
    const char *const *envp;  /* extra "K=V" entries, NULL-terminated, or NULL */
    const char *cwd;          /* or NULL */
    /* Lines or chunks containing '\r' are split on it too (qemu-img -p). */
    bool split_cr;
    /* Runs to the end even when the context is cancelled (a write that must
     * not be left half done); the timeout still applies. */
    bool ignore_cancel;
    /* File the child reads as its stdin (opened read-only), or NULL for
     * /dev/null. */
    const char *stdin_file;
} hk_run_opts;

typedef struct hk_run_result {
    int exit_status; /* exit code, or 128+signal */
    bool timed_out;
    bool cancelled;
    char *stderr_tail; /* last ~4 KiB of stderr, NUL-terminated (caller frees) */
    char *stdout_tail; /* last ~4 KiB of stdout (caller frees) */
} hk_run_result;

/* Runs argv[0] (searched in PATH) with no shell, stdin from /dev/null (or
 * opts->stdin_file).
 * Honours cancellation (SIGTERM then SIGKILL).  Returns 0 when the program
 * ran (check res->exit_status), or a negative code if it could not be
 * started; never leaves the child behind. */
int hk_run(h2k_ctx *ctx, const char *const *argv, const hk_run_opts *opts, hk_run_result *res);
void hk_run_result_clear(hk_run_result *res);

/* Runs qemu-img (@argv, argv[0] "qemu-img") with @opts (may be NULL); unless it
 * exits 0, records an H2K_ERR_IO naming @path: "qemu-img @what failed (exit N):
 * <its stderr>". */
int hk_run_qemu_img(h2k_ctx *ctx, const char *const *argv, const hk_run_opts *opts,
                    const char *path, const char *what);

/* Creates the qcow2 @overlay (mode 0600) backed by @backing (format
 * @backing_fmt, a qemu driver name, required) with qemu-img; the header records
 * @backing's absolute name and the format, so whoever opens the overlay opens
 * exactly that file as that format.  An H2K_ERR_IO naming @backing when it
 * fails. */
int hk_qcow2_overlay(h2k_ctx *ctx, const char *backing, const char *backing_fmt,
                     const char *overlay);

/* Like hk_qcow2_overlay(), backed by a window of a container (an OVA member
 * read in place): the header records hk_window_json(@backing_fmt, @container,
 * @offset, @size), which the probe follows only in overlays this context
 * wrote (hk_ctx_trust_file(), done here), checking the member at its offset.
 * H2K_ERR_UNSUPPORTED when the window cannot be named (see hk_window_json()). */
int hk_qcow2_overlay_window(h2k_ctx *ctx, const char *container, uint64_t offset, uint64_t size,
                            const char *backing_fmt, const char *overlay);

/* Looks @prog up in PATH (or takes it as a path when it contains '/').
 * Returns the absolute path (caller frees) or NULL. */
char *hk_find_program(const char *prog);

#endif /* HK_CORE_INTERNAL_H */
