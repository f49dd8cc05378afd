/*
 * Boot testing internals shared by the qemu and libvirt testers: the pure
 * qemu command-line builder, the console scanner, the boot probe injected
 * into the overlay, the supervised qemu process and the KVM check.
 */
#ifndef HK_TEST_BOOT_INTERNAL_H
#define HK_TEST_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/internal.h"
#include "core/util.h"
#include "hyper2kvm/h2k_test.h"

#define HK_BOOT_DEFAULT_MEMORY 2048u
#define HK_BOOT_DEFAULT_TIMEOUT 300u
#define HK_BOOT_MAX_MEMORY (1024u * 1024u) /* 1 TiB in MiB */
#define HK_BOOT_MAX_VCPUS 288u
#define HK_BOOT_MAX_TIMEOUT (7u * 24u * 3600u)
#define HK_BOOT_TAIL_LINES 40u
#define HK_OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define HK_OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"

/* ------------------------------------------------------------ options */

/* True for the buses a boot test can give the guest: virtio, sata, ide, scsi. */
bool hk_boot_bus_ok(h2k_bus bus);

/* Options with every default applied and checked.  Strings point into the
 * caller's options or static storage. */
typedef struct hk_boot_opts {
    const char *format; /* may be NULL (probe) */
    unsigned memory_mib;
    unsigned vcpus;
    bool uefi;
    const char *machine; /* "q35" or "pc" */
    h2k_bus bus;
    const char *nic_model; /* NULL when "none" */
    const char *mac;
    unsigned timeout_seconds;
    h2k_boot_accel accel;
    h2k_boot_proof proof;
    const char *expect_text;
    const char *console_log;
    const char *libvirt_uri;
    unsigned cpu_level;       /* 0: not known */
    const char *placed_token; /* the probe of this token is in the image already */
} hk_boot_opts;

/* Applies defaults and validates @in (NULL: all defaults).  Returns 0 or
 * H2K_ERR_INVALID_ARG with a message naming the field. */
int hk_boot_opts_resolve(h2k_ctx *ctx, const h2k_boot_test_options *in, hk_boot_opts *out);

/* The common start of both testers: checks the arguments (H2K_ERR_INVALID_ARG,
 * unrecorded, without @ctx or @out), sets *out to NULL, resolves the options
 * into *o and gives the image's absolute path in *abs (caller frees). */
int hk_boot_begin(h2k_ctx *ctx, const char *image, const h2k_boot_test_options *opts,
                  h2k_boot_result **out, hk_boot_opts *o, char **abs);

/* ------------------------------------------------------- qemu argv */

/* The virtual machine of a boot test, the same under qemu and libvirt. */
typedef struct hk_boot_vm {
    const char *machine; /* "q35" or "pc" */
    unsigned memory_mib;
    unsigned vcpus;
    const char *disk;        /* the overlay */
    const char *disk_format; /* "qcow2" */
    h2k_bus bus;
    const char *nic_model;   /* qemu model name; NULL: no NIC */
    const char *mac;         /* may be NULL */
    const char *ovmf_code;   /* NULL: BIOS */
    const char *ovmf_vars;   /* the private copy, with ovmf_code */
    const char *console_log; /* serial output file */
    unsigned cpu_level;      /* x86-64 level the guest needs; 0: not known */
} hk_boot_vm;

/* True when @vm names everything a VM needs: machine, memory, vCPUs, the disk
 * and its format, the console log and, with OVMF code, the variable store. */
bool hk_boot_vm_complete(const hk_boot_vm *vm);

/* Everything the qemu command line depends on: a pure function of this. */
typedef struct hk_qemu_plan {
    const char *qemu;  /* program, e.g. "qemu-system-x86_64" */
    const char *accel; /* "kvm" or "tcg" */
    hk_boot_vm vm;
    /* the VM's other disks (absolute paths, format extra_format), attached after
     * the boot disk on the same bus, each with snapshot=on: never written */
    const char *const *extra_disks;
    size_t n_extra_disks;
    const char *extra_format;
} hk_qemu_plan;

/* Builds the NULL-terminated argv (caller frees with hk_strv_free).
 * Returns 0, H2K_ERR_INVALID_ARG (incomplete plan, bus/machine mismatch) or
 * H2K_ERR_NO_MEMORY. */
int hk_qemu_argv(h2k_ctx *ctx, const hk_qemu_plan *plan, char ***out);

/* ------------------------------------------------------- console */

typedef enum hk_console_state {
    HK_CONSOLE_WAITING = 0,
    HK_CONSOLE_PROVEN = 1,
    HK_CONSOLE_FAILED = 2
} hk_console_state;

/* Scans the serial console text, chunk by chunk, for the proof and for known
 * failures, and keeps the last lines.  Pure: no I/O. */
typedef struct hk_console {
    h2k_boot_proof proof;
    char *token;       /* marker token (copied) */
    char *expect_text; /* H2K_PROOF_TEXT (copied) */
    hk_console_state state;
    char *proof_line;   /* the line that proved the boot */
    char *failure;      /* the failure found: the pattern's description */
    char *failure_line; /* the console line that showed it */
    char *hostname;     /* from the marker */
    char **addresses;
    size_t n_addresses;
    hk_buf partial; /* the current, unfinished line (raw) */
    bool in_escape; /* inside an ANSI escape sequence */
    int escape_len;
    char *lines[HK_BOOT_TAIL_LINES]; /* ring of sanitised lines */
    size_t n_lines;                  /* total lines seen */
    bool oom;
} hk_console;

/* Initialises @c; @token (marker) and @expect_text (text) may be NULL.
 * Returns 0 or H2K_ERR_NO_MEMORY. */
int hk_console_init(hk_console *c, h2k_boot_proof proof, const char *token,
                    const char *expect_text);
/* Feeds @n bytes of console output.  Returns the state afterwards. */
hk_console_state hk_console_feed(hk_console *c, const char *data, size_t n);
/* Tells the scanner the console has been quiet for HK_CONSOLE_QUIET_SECONDS
 * (the caller keeps the time: the scanner stays pure): an unfinished line
 * that is a prompt waiting for a person, such as the UEFI shell's, is then a
 * failure.  Returns the state afterwards. */
#define HK_CONSOLE_QUIET_SECONDS 5.0
hk_console_state hk_console_idle(hk_console *c);
/* The last lines (up to HK_BOOT_TAIL_LINES, plus the unfinished line), joined
 * with '\n'.  Caller frees; NULL on allocation failure. */
char *hk_console_tail(const hk_console *c);
void hk_console_free(hk_console *c);

/* Removes ANSI escape sequences, '\r' and other control characters (tabs
 * become spaces) from a line, in place; a byte that does not start a
 * well-formed printable UTF-8 character (a lost byte on the serial line, a
 * C1 control) becomes '?', so the line is valid UTF-8; returns @s. */
char *hk_console_sanitize(char *s);

/* ---------------------------------------------------- boot probe */

/* A random token of 16 hex digits (from getrandom).  Returns 0 or an error. */
int hk_boot_token(h2k_ctx *ctx, char out[17]);

/* The probe script for @token (caller frees); NULL on allocation failure. */
char *hk_probe_script(const char *token);
/* The systemd unit that runs it (static text). */
const char *hk_probe_unit(void);

#define HK_PROBE_SCRIPT_PATH "/usr/local/sbin/h2k-boot-probe"
#define HK_PROBE_UNIT_NAME "h2k-boot-probe.service"
/* systemd's job and device timeouts of a guest booted under emulation (TCG) */
#define HK_PROBE_SLOW_START_TIMEOUT "20min"
/* The systemd drop-in (/etc/systemd/system.conf.d/90-hyper2kvm-boot-test.conf)
 * written with the probe into a systemd guest booted under emulation: its
 * job and device timeouts become HK_PROBE_SLOW_START_TIMEOUT, so a guest
 * slowed down by emulation on a loaded host does not give up on its devices
 * after 90 s and stop in emergency mode (static text). */
const char *hk_probe_slow_conf(void);

/* Writes the probe into the guest on @overlay (qcow2, opened read-write
 * through libguestfs, one appliance launch).  @force_tcg makes the appliance
 * use TCG; @emulated (the boot runs under TCG) adds hk_probe_slow_conf().
 * Returns 0 or an error. */
int hk_probe_inject(h2k_ctx *ctx, const char *overlay, const char *token, bool force_tcg,
                    bool emulated);

/* Writes the probe for @token into the Linux guest mounted read-write in the
 * appliance of @g (script, systemd unit and/or rc.local line; with @emulated,
 * for a boot under TCG, also the drop-in of hk_probe_slow_conf() on a
 * systemd guest).  Returns 0 or an error.  For the repair stage's appliance
 * (hk_fix_place_boot_probe()): the caller boots an image holding the result with
 * hk_qemu_test_run_placed(). */
struct guestfs_h;
int hk_probe_install(h2k_ctx *ctx, struct guestfs_h *g, const char *token, bool emulated);

/* h2k_qemu_test_run() on an @image that already holds the probe of @token
 * (placed by the repair stage's appliance): no appliance is launched.  Same
 * returns and ownership as h2k_qemu_test_run(); @opts->proof must be the
 * marker. */
int hk_qemu_test_run_placed(h2k_ctx *ctx, const char *image, const h2k_boot_test_options *opts,
                            const char *token, h2k_boot_result **out);

/* ------------------------------------------------------ processes */

/* A supervised child: its own process group, killed (SIGKILL) when the
 * calling thread dies, stdin from /dev/null, stdout+stderr to @log_path
 * (or /dev/null).  Returns 0 and the pid, or an error. */
int hk_proc_spawn(h2k_ctx *ctx, const char *const *argv, const char *log_path, pid_t *pid_out);
/* Non-blocking check: true (and the status in *status, exit code or 128+signal)
 * once the child has exited.  The child is NOT reaped (hk_proc_stop does). */
bool hk_proc_exited(pid_t pid, int *status);
/* Stops the whole group: SIGTERM, up to @grace_ms, then SIGKILL; reaps. */
void hk_proc_stop(pid_t pid, unsigned grace_ms);

/* ---------------------------------------------------------- accel */

/* True when /dev/kvm can really run a guest: a one-sector boot disk that
 * writes to the serial port is booted under qemu with KVM (a few seconds at
 * most; the answer is cached for the process).  Some hosts expose a /dev/kvm
 * that opens fine but never runs a guest. */
bool hk_kvm_usable(h2k_ctx *ctx);

/* Resolves H2K_ACCEL_AUTO; returns "kvm" or "tcg". */
const char *hk_boot_accel_name(h2k_ctx *ctx, h2k_boot_accel accel);

/* ------------------------------------------------------- workdir */

/* Everything a boot test puts on disk, removed by hk_boot_work_cleanup(). */
typedef struct hk_boot_work {
    char *dir;         /* private folder in the context's tmpdir */
    char *overlay;     /* dir/overlay.qcow2 */
    char *vars;        /* dir/OVMF_VARS.fd, or NULL */
    char *console_log; /* dir/console.log */
    char *qemu_log;    /* dir/qemu.log */
    char *format;      /* the image's format */
    char token[17];
    bool force_tcg;
} hk_boot_work;

/* Creates the folder, the overlay (qemu-img create -b IMAGE -F FMT), the OVMF
 * variable copy (when @o->uefi) and injects the probe (marker proof).
 * @image must be an absolute path. */
int hk_boot_work_prepare(h2k_ctx *ctx, const char *image, const hk_boot_opts *o, hk_boot_work *w);
/* Keeps the console log at @o->console_log when asked (sets *kept, caller frees)
 * and removes every file and the folder. */
void hk_boot_work_cleanup(h2k_ctx *ctx, hk_boot_work *w, const char *keep_log, char **kept);

/* Under emulation (TCG) qemu runs each vCPU in a host thread of its own: a
 * Linux guest's boot is parallel enough to gain from a second one (the Debian
 * test guest under TCG on 2 cores: 46.3 s to its marker with 1 vCPU, 34.3 s
 * with 2; more vCPUs than host CPUs only compete for them). */
#define HK_BOOT_EMULATED_VCPUS 2u
/* The vCPUs of a boot test: @requested when not 0; otherwise
 * HK_BOOT_EMULATED_VCPUS under emulation on a host with that many CPUs
 * (@host_cpus), else 1. */
unsigned hk_boot_auto_vcpus(unsigned requested, bool emulated, long host_cpus);

/* The CPU of a boot test under emulation.  qemu's "max" model runs the Debian
 * test guest's boot about a fifth slower under TCG than qemu64 with the
 * x86-64-v2 features added (33.1 s against 26.6 s to its marker, medians of
 * three, 2 vCPUs on 2 cores), while qemu64 with AVX and XSAVE added never
 * finished its boot: a guest that needs x86-64-v3 or more, or of which the
 * need is not known (@level 0), gets "max"; level 1 or 2 the lean model.
 * The -cpu value for qemu (caller frees; NULL when out of memory). */
char *hk_boot_tcg_cpu(unsigned level);
/* The same as a libvirt <cpu> element, appended to @b. */
void hk_boot_tcg_cpu_xml(hk_buf *b, unsigned level);

/* The VM of a boot test with options @o on the overlay, OVMF variables and
 * console log of @w (strings point into @o and @w). */
hk_boot_vm hk_boot_vm_of(const hk_boot_opts *o, const hk_boot_work *w);

/* Before the VM starts: initialises the console scanner @c for the proof of
 * @o and the token of @w, and a result *r whose accel is @accel_prefix
 * followed by @accel.  0, or H2K_ERR_NO_MEMORY with neither left to free. */
int hk_boot_console_start(h2k_ctx *ctx, const hk_boot_opts *o, const hk_boot_work *w,
                          const char *accel_prefix, const char *accel, hk_console *c,
                          h2k_boot_result **r);

/* After the VM: removes the work files @w (NULL: none prepared), keeping the
 * console log at @o->console_log when asked and there is a result @r (which
 * then records its path), and frees the scanner @c (NULL: not started). */
void hk_boot_release(h2k_ctx *ctx, hk_boot_work *w, hk_console *c, const hk_boot_opts *o,
                     h2k_boot_result *r);

/* Fills a result from the scanner's findings. Returns 0 or NO_MEMORY. */
int hk_boot_result_fill(h2k_boot_result *r, const hk_console *c);

/* Watches the console log until the proof, a failure, the timeout, the
 * cancellation, or @alive returning false.  Returns 0 with *outcome set:
 * 0 proven, 1 failed on the console, 2 timeout, 3 VM ended, 4 cancelled. */
typedef bool (*hk_alive_fn)(void *ud, int *exit_status);
enum {
    HK_WATCH_PROVEN = 0,
    HK_WATCH_FAILED,
    HK_WATCH_TIMEOUT,
    HK_WATCH_ENDED,
    HK_WATCH_CANCELLED
};
int hk_boot_watch(h2k_ctx *ctx, const char *log_path, hk_console *c, unsigned timeout_seconds,
                  hk_alive_fn alive, void *ud, int *outcome, int *exit_status, double *seconds);

/* Records the failure of a watch on @ctx (H2K_ERR_BOOT_TEST / CANCELLED with
 * the console tail) and in @r; @what names the VM ("qemu", "domain X");
 * @extra (may be NULL) is appended (qemu's own output). */
int hk_boot_fail(h2k_ctx *ctx, h2k_boot_result *r, const hk_console *c, int outcome,
                 int exit_status, unsigned timeout_seconds, const char *what, const char *extra);

/* The common end of a watch: records @seconds in @r, then either fills it from
 * the proof (@outcome HK_WATCH_PROVEN) or records the failure as hk_boot_fail()
 * does, with @image as the error's source.  Returns 0, the failure's code, or
 * H2K_ERR_NO_MEMORY. */
int hk_boot_conclude(h2k_ctx *ctx, h2k_boot_result *r, const hk_console *c, int outcome,
                     int exit_status, double seconds, const hk_boot_opts *o, const char *image,
                     const char *what, const char *extra);

/* Hands @r to the caller in *out when the VM ran (@ran) and the test reached a
 * verdict (@rc 0, H2K_ERR_BOOT_TEST or H2K_ERR_CANCELLED, with a console tail);
 * frees it otherwise. */
void hk_boot_result_give(h2k_boot_result *r, bool ran, int rc, h2k_boot_result **out);

#endif
