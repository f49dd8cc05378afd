/* hyper2kvm command-line tool: shared declarations.
 *
 * Every command is described by a cli_command: its positional arguments and
 * its option tables (cli_option arrays).  The same tables drive the parser
 * (cli_parse), "--help" (cli_print_help), the bash completion script
 * (cli_print_completion) and are checked against the man page by a test.  The
 * options of a migration (local, vsphere, ...) live in one shared table,
 * cli_migration_options, applied by one function, cli_migration_apply(). */
#ifndef H2K_CLI_H
#define H2K_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <hyper2kvm.h>

/* Exit codes: 0 success, 2 usage error, otherwise 10 + |h2k_code|
 * (see docs/hyper2kvm.1). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_USAGE 2
int cli_exit_code(int h2k_code);

/* ---- option tables ---------------------------------------------------- */

enum cli_opt_flag {
    CLI_OPT_REPEAT = 1 << 0, /* may be given several times */
    CLI_OPT_FILE = 1 << 1,   /* the value names a file (completion) */
    CLI_OPT_DIR = 1 << 2,    /* the value names a folder (completion) */
    CLI_OPT_OPTVAL = 1 << 3, /* a flag that takes an optional value: --opt=V, or
                                "--opt V" when V holds "://" or ":///" (a URI) */
};

/* Option identifiers.  One number per meaning, the same in every command. */
enum cli_opt_id {
    /* global: accepted before or after the command */
    OPT_HELP = 1,
    OPT_JSON,
    OPT_VERBOSE,
    OPT_QUIET,
    OPT_ALLOW_PATH,
    /* migration (local, vsphere, azure) */
    OPT_OUTPUT_DIR,
    OPT_NAME,
    OPT_OUTPUT_FORMAT,
    OPT_INPUT_FORMAT,
    OPT_COMPRESS,
    OPT_NETWORK_MAP,
    OPT_MAC,
    OPT_FIXES,
    OPT_SKIP,
    OPT_TEST_BOOT,
    OPT_BOOT_TIMEOUT,
    OPT_DEFINE,
    OPT_CONNECT,
    OPT_DRY_RUN,
    OPT_REPORT,
    OPT_KEEP_PARTIAL,
    OPT_BACKEND,
    OPT_VIRTIO_WIN,
    /* local */
    OPT_INPUT,
    /* vsphere */
    OPT_VCENTER,
    OPT_USER,
    OPT_PASSWORD_ENV,
    OPT_PASSWORD_FILE,
    OPT_DATACENTER,
    OPT_LIST,
    OPT_VM,
    OPT_TRANSPORT,
    OPT_INSECURE,
    OPT_CA_FILE,
    OPT_THUMBPRINT,
    OPT_SNAPSHOT,
    OPT_VDDK_LIBDIR,
    OPT_STREAMS,
    OPT_EXPORT_ONLY,
    OPT_KEEP_EXPORT,
    /* probe, convert */
    OPT_OFFSET,
    OPT_NO_CHAIN,
    OPT_COMPRESSION,
    OPT_OVERWRITE,
    OPT_NO_SYNC,
    /* ovf */
    OPT_NO_VERIFY,
    /* fix */
    OPT_NEW_MAC,
    OPT_FORCE_INITRAMFS,
    OPT_REPORT_MD,
    /* test */
    OPT_UEFI,
    OPT_MEMORY,
    OPT_VCPUS,
    OPT_CPU_LEVEL,
    OPT_TIMEOUT,
    OPT_BUS,
    OPT_MACHINE,
    OPT_NIC,
    OPT_ACCEL,
    OPT_PROOF,
    OPT_EXPECT,
    OPT_CONSOLE_LOG,
    /* xml */
    OPT_SPEC,
    OPT_DISK,
    OPT_DEFAULT_NETWORK,
    OPT_BIOS,
    OPT_SECURE_BOOT,
    OPT_NO_SECURE_BOOT,
    OPT_TYPE,
    OPT_DISK_BUS,
    OPT_DISK_FORMAT,
    OPT_WINDOWS_VIRTIO,
    OPT_NO_GRAPHICS,
    OPT_NVRAM,
    OPT_OUTPUT,
    /* batch */
    OPT_JOBS,
    OPT_STATE,
    /* azure */
    OPT_AZ_SUBSCRIPTION,
    OPT_AZ_RESOURCE_GROUP,
    OPT_AZ_TENANT,
    OPT_AZ_CLIENT_ID,
    OPT_AZ_SECRET_ENV,
    OPT_AZ_SECRET_FILE,
    OPT_AZ_MANAGED_IDENTITY,
    OPT_AZ_AUTHORITY_HOST,
    OPT_AZ_RESOURCE_MANAGER,
    OPT_AZ_DOWNLOAD_ONLY,
    /* command-specific ids added by later commands start here */
    OPT_EXTRA = 1000
};

typedef struct cli_option {
    int id;              /* enum cli_opt_id */
    const char *name;    /* long name, without "--" */
    char short_name;     /* 0, or a letter that means the same in every command */
    const char *aliases; /* other long names kept for compatibility, space separated */
    const char *arg;     /* metavariable of the value ("FILE"), NULL for a flag */
    const char *choices; /* "qcow2|raw": the only values accepted, or NULL */
    unsigned flags;      /* enum cli_opt_flag */
    const char *help;    /* one line */
} cli_option;

struct cli_env;
struct cli_parsed;

typedef struct cli_command {
    const char *name;
    const char *args;                /* positional arguments for the synopsis, e.g. "IMAGE..." */
    const char *summary;             /* one line */
    int min_pos, max_pos;            /* positional arguments accepted (max -1: no limit) */
    const cli_option *const *tables; /* NULL-terminated; each table ends with {0} */
    int (*run)(struct cli_env *env, const struct cli_parsed *p);
} cli_command;

/* One option as given on the command line. */
typedef struct cli_item {
    const cli_option *opt;
    const char *value;   /* NULL for a flag */
    const char *spelled; /* as the user wrote it ("--only"), for messages */
} cli_item;

typedef struct cli_parsed {
    const cli_command *cmd;
    cli_item *items;
    size_t n_items;
    const char **pos;
    size_t n_pos;
    bool help;
} cli_parsed;

/* Every command, in help order; NULL-terminated. */
extern const cli_command *const cli_commands[];
/* The options accepted by every command, before or after its name. */
extern const cli_option cli_global_options[];
/* The options of a migration, shared by local, vsphere (and plans). */
extern const cli_option cli_migration_options[];
/* The options of a remote source (vsphere, azure): --list, --vm, TLS, snapshot,
 * streams, --export-only, --keep-export. */
extern const cli_option cli_source_options[];

const cli_command *cli_find_command(const char *name);
/* Parses argv[0..argc) (the words after the command name) against @cmd's tables and
 * the global table.  Returns 0, or CLI_EXIT_USAGE after printing the reason on
 * stderr.  Free with cli_parsed_free(). */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_parsed *out);
void cli_parsed_free(cli_parsed *p);
/* Looks up a long option ("output-format" or an alias) in @cmd's and the global
 * tables; NULL when unknown. */
const cli_option *cli_lookup_long(const cli_command *cmd, const char *name, size_t len);

void cli_print_usage(FILE *f);
void cli_print_help(FILE *f, const cli_command *cmd);
/* Prints the options of @table as man page (roff) paragraphs; docs/hyper2kvm.1
 * holds exactly this text for every table of every command (checked by a test). */
void cli_print_man_options(FILE *f, const cli_option *table);
/* Prints a bash completion script generated from the tables. */
void cli_print_completion(FILE *f);
/* "hyper2kvm CMD: MSG" on stderr plus a pointer to --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- run-time environment --------------------------------------------- */

/* Progress and log state of one run (no mutable statics). */
typedef struct cli_output_state {
    bool bar_drawn;
    bool bar_is_tty;
    bool events_json;
    char last_stage[64];
    int last_permille;
    double last_event;
} cli_output_state;

typedef struct cli_env {
    h2k_ctx *ctx;
    bool json;   /* --json: results as JSON on stdout, events as JSON lines on stderr */
    int verbose; /* -v count */
    bool quiet;
    cli_output_state out;
    char **strpool; /* escaped strings handed out by cli_safe(), freed at exit */
    size_t n_strpool, cap_strpool;
} cli_env;

/* Applies the global options found in @p to @env: pass 0 the output flags
 * (--json, -v, -q), pass 1 the context settings (--allow-path, reported as
 * errors in the output the flags chose).  Returns 0 or an exit code. */
int cli_apply_globals(cli_env *env, const cli_parsed *p, int pass);
/* Sets up logging and progress output on env->ctx according to the flags. */
void cli_setup_output(cli_env *env);
/* Ends a progress bar line if one is drawn. */
void cli_progress_finish(cli_env *env);
/* Reports the context's last error (text on stderr, or JSON on stdout) and
 * returns the exit code for @rc. */
int cli_report_error(cli_env *env, int rc);
/* Prints a JSON document on stdout followed by a newline. */
void cli_print_json(const char *json);
/* Writes @text (NULL: nothing) to the file @path, replacing it; 0, or -1 with
 * errno set. */
int cli_write_text(const char *path, const char *text);
struct json_object;
/* Prints @o (pretty) as cli_print_json() does and releases it. */
void cli_print_json_free(struct json_object *o);
/* Adds @key to the object @o: the string @s, or null when @s is NULL. */
void cli_json_add_string(struct json_object *o, const char *key, const char *s);
/* Frees what the run allocated in @env (not the context). */
void cli_env_release(cli_env *env);

/* ---- untrusted text ------------------------------------------------------ */

/* Escapes control characters for a terminal: C0 (except \n and \t when
 * @keep_newlines), DEL and C1 (raw bytes 0x80-0x9f that are not UTF-8, and
 * U+0080-U+009F) become "\xNN" / "\u00NN"; a backslash becomes "\\"; bytes that are
 * not UTF-8 become "\xNN".  Returns a malloc'd string (NULL only without memory). */
char *cli_escape(const char *s, bool keep_newlines);
/* cli_escape(@s) kept until the run ends; NULL gives "-".  Never NULL. */
const char *cli_safe(cli_env *env, const char *s);
/* The same for multi-line text (console tails): newlines and tabs kept. */
const char *cli_safe_lines(cli_env *env, const char *s);

/* Reads the secret in environment variable @var: copies it, wipes the value in
 * place and removes the variable, so that no child process inherits it.
 * Returns 0, -1 when unset (nothing changed), -2 without memory.  *out is
 * malloc'd; wipe and free it with cli_secret_free(). */
int cli_take_secret_env(const char *var, char **out);
/* Reads the first line of @path (a secret: @what names it in messages) into a
 * malloc'd string without the newline; NULL after printing why. */
char *cli_read_secret_file(const char *path, const char *what);
void cli_secret_free(char *s);

/* ---- shared parsing helpers ---------------------------------------------- */

/* Parses a size like "2048", "2G", "512M" into bytes; false when invalid. */
bool cli_parse_size(const char *s, unsigned long long *out);
/* Parses an unsigned decimal in [min, max]; false when invalid. */
bool cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* Parses "all", "none" or a list of repair names into bits; -1 when unknown. */
int cli_parse_fixes(const char *s, unsigned *out);
/* Parses "SRC=network:NAME" or "SRC=bridge:NAME" (SRC "*": every NIC) into *m;
 * the strings point into *storage, a malloc'd copy of @arg the caller frees.
 * False when malformed (nothing to free). */
bool cli_parse_network_map(const char *arg, h2k_network_mapping *m, char **storage);

/* ---- repairs (fix and every migration) ---------------------------------- */

typedef struct cli_repair {
    unsigned fixes; /* --fixes (default H2K_FIX_ALL) */
    unsigned skip;  /* --skip */
    int keep_mac;   /* 0 with --new-mac */
    int dry_run;
    const char *report;
    const char *virtio_win; /* --virtio-win */
    bool any;
} cli_repair;

extern const cli_option cli_repair_options[];
void cli_repair_init(cli_repair *r);
/* Applies one parsed option if it belongs to the repair table: 1 applied, 0 not
 * a repair option, CLI_EXIT_USAGE (message printed) when the value is invalid. */
int cli_repair_apply(const cli_command *cmd, cli_repair *r, const cli_item *it);
/* The repairs selected: --fixes minus --skip. */
unsigned cli_repair_selected(const cli_repair *r);
/* The option of @table with @id, or NULL. */
const cli_option *cli_table_option(const cli_option *table, int id);
/* 0 when @value is one of the choices of option @id of @table (or it has none). */
int cli_check_choice(const cli_option *table, int id, const char *value);

/* ---- migrations -------------------------------------------------------- */

typedef struct cli_migration {
    h2k_run_options ro;
    const char **inputs;
    size_t n_inputs;
    const char **macs;
    size_t n_macs;
    h2k_network_mapping *maps;
    size_t n_maps;
    char **map_storage;
    bool define;
    const char *define_uri; /* --define URI (the old spelling) */
    const char *connect;
    cli_repair rep;
    bool any; /* a migration option was given */
} cli_migration;

void cli_migration_init(cli_migration *m);
void cli_migration_free(cli_migration *m);
/* Applies one parsed option if it belongs to the migration table: returns 1
 * when applied, 0 when it is not a migration option, CLI_EXIT_USAGE (message
 * printed) when its value is invalid. */
int cli_migration_apply(const cli_command *cmd, cli_migration *m, const cli_item *it);
/* Checks the combination and fills m->ro's arrays; @need_output: an output
 * folder is required (unless --dry-run with --report).  Returns 0 or CLI_EXIT_USAGE. */
int cli_migration_finish(const cli_command *cmd, cli_migration *m, bool need_output);
/* Validates a plan VM's fields with the same rules as the options; 0 or
 * CLI_EXIT_USAGE (message names the plan, VM and field). */
int cli_migration_check_plan(const cli_command *cmd, const char *plan_path, const h2k_plan *plan);
/* The URI --define uses without --connect. */
const char *cli_default_connect_uri(void);

/* Prints the outcome of a migration for people (stdout). */
void cli_print_migration_summary(cli_env *env, const h2k_migration_result *res);
/* Runs the migration @opts describes and prints its result (JSON or summary);
 * returns the exit code (shared by "local" and "vsphere --vm"). */
int cli_run_migration(cli_env *env, const h2k_run_options *opts);

/* ---- remote sources (vsphere, azure; cli/source.c) ---------------------- */

/* The options of cli_source_options a source command has read, and whether
 * it was given a migration option. */
typedef struct {
    bool list;           /* --list */
    const char *vm;      /* --vm */
    bool export_only;    /* --export-only */
    int insecure;        /* --insecure */
    const char *ca_file; /* --ca-file */
    bool snapshot;       /* --snapshot */
    unsigned streams;    /* --streams, 0 when not given */
    bool migration_opt;  /* a migration or repair option other than --output-dir */
} cli_source_args;

/* Applies an option of a source command that is not in its own table: one of
 * cli_source_options (into @a), or a migration or repair option (into @m).
 * 0, or the exit code (message printed). */
int cli_source_apply(const cli_command *cmd, cli_migration *m, const cli_item *it,
                     cli_source_args *a);
/* The checks every source command makes of --list, --vm, --export-only and
 * the migration options: NULL when fine, else the usage message. */
const char *cli_source_check(const cli_source_args *a);
/* After the checks of a source command: prints @bad (when not NULL) as the
 * usage error, finishes the migration options when the command migrates
 * (--vm without --export-only) and reads the secret from @var or @file (when
 * either is given; see cli_source_secret).  0 with *secret set (NULL when
 * neither is given), or the exit code after freeing @m. */
int cli_source_ready(const cli_command *cmd, cli_migration *m, const cli_source_args *a,
                     const char *bad, const char *var, const char *file, const char *what,
                     char **secret);
/* Reads the secret (@what: "password", "client secret") from environment
 * variable @var (then removed; unset or empty is a usage error) or, when @var
 * is NULL, from the first line of @file.  0 with *out set (free it with
 * cli_secret_free()), or the exit code after printing why. */
int cli_source_secret(const cli_command *cmd, const char *var, const char *file, const char *what,
                      char **out);
struct json_object;
/* --export-only: converts the fetched disk @src (number @idx from 0) to the
 * qcow2 @dst, adds {source, output, virtual_size} to the JSON array @disks and
 * prints "disk N: SRC -> DST" for people.  0 or the h2k code (recorded). */
int cli_convert_fetched(cli_env *env, const char *src, const char *dst, int overwrite, size_t idx,
                        struct json_object *disks);
/* --list: the object of one VM with its "name" and "power_state" (null when
 * NULL); the caller adds the rest. */
struct json_object *cli_source_vm_json(const char *name, const char *power_state);
/* --export-only: adds "bytes_downloaded", "bytes_resumed" and the array @disks
 * (which it takes) to the result object @o, prints @o and frees it. */
void cli_source_print_fetched(struct json_object *o, uint64_t bytes_downloaded,
                              uint64_t bytes_resumed, struct json_object *disks);

/* ---- commands ----------------------------------------------------------- */

extern const cli_command cli_cmd_probe, cli_cmd_convert, cli_cmd_ovf, cli_cmd_inspect, cli_cmd_fix,
    cli_cmd_test, cli_cmd_xml, cli_cmd_vsphere, cli_cmd_azure, cli_cmd_local, cli_cmd_batch,
    cli_cmd_live_fix, cli_cmd_version, cli_cmd_help, cli_cmd_completion;

#endif
