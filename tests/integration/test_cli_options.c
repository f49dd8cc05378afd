/*
 * The hyper2kvm CLI as its option tables make it: --help and "help CMD" for
 * every command (exit 0), the bash completion script (installed file = what
 * "completion bash" prints; complete -p and COMP_WORDS cases in a real bash),
 * global options before and after the command (--allow-path reaches the
 * library), "xml IMAGE" from the disks alone on the phony UEFI guest, a VMX
 * displayName with escape sequences shown escaped (JSON exact), and the
 * --password-env variable gone from the running process's environment.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "testsupport.h"

/* Runs argv with stdout in @out_path and stderr in @err_path (either may be
 * NULL: /dev/null); returns the exit status. */
static int
run_files(const char *const *argv, const char *out_path, const char *err_path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0)
            _exit(126);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The command names, as "hyper2kvm --help" lists them. */
static size_t
command_names(const char *dir, char names[32][32])
{
    char *out = ts_join(dir, "usage.txt");
    const char *argv[] = {ts_env("H2K_CLI"), "--help", NULL};
    assert_int_equal(run_files(argv, out, NULL), 0);
    char *text = ts_read_file(out, NULL);
    const char *p = strstr(text, "commands:\n");
    assert_non_null(p);
    p += strlen("commands:\n");
    size_t n = 0;
    while (strncmp(p, "  ", 2) == 0 && n < 32) {
        assert_int_equal(sscanf(p, " %31s", names[n]), 1);
        n++;
        p = strchr(p, '\n') + 1;
    }
    free(text);
    free(out);
    return n;
}

static void
test_help_every_command(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp();
    char names[32][32];
    size_t n = command_names(dir, names);
    assert_true(n >= 13);
    char *out = ts_join(dir, "help.txt");
    for (size_t i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof(want), "usage: hyper2kvm %s ", names[i]);
        const char *a1[] = {ts_env("H2K_CLI"), names[i], "--help", NULL};
        const char *a2[] = {ts_env("H2K_CLI"), "help", names[i], NULL};
        const char *a3[] = {ts_env("H2K_CLI"), "-h", names[i], NULL};
        const char *a4[] = {ts_env("H2K_CLI"), names[i], "-h", "--no-such-thing", NULL};
        const char *const *all[] = {a1, a2, a3};
        for (size_t k = 0; k < 3; k++) {
            if (run_files(all[k], out, NULL) != 0)
                fail_msg("hyper2kvm %s %s did not exit 0", all[k][1], all[k][2]);
            char *text = ts_read_file(out, NULL);
            if (strncmp(text, want, strlen(want)) != 0)
                fail_msg("help of %s starts with: %.80s", names[i], text);
            assert_non_null(strstr(text, "--json"));
            free(text);
        }
        /* an unknown option is a usage error even next to --help */
        assert_int_equal(run_files(a4, NULL, NULL), 2);
    }
    const char *bad[] = {ts_env("H2K_CLI"), "help", "frobnicate", NULL};
    assert_int_equal(run_files(bad, NULL, NULL), 2);
    free(out);
    ts_rmtree(dir);
    free(dir);
}

/* Runs bash with @script, the completion script as $1; returns its stdout. */
static char *
bash_out(const char *dir, const char *completion, const char *script)
{
    char *out = ts_join(dir, "bash.txt");
    const char *argv[] = {"/bin/bash", "--norc", "-c", script, "bash", completion, NULL};
    ts_require_program("bash");
    int st = run_files(argv, out, NULL);
    if (st != 0)
        fail_msg("bash exited %d for: %s", st, script);
    char *text = ts_read_file(out, NULL);
    free(out);
    return text;
}

static void
test_completion(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp();
    /* the file built beside the binary (and installed) is what the tables give */
    char *cli_dir = strdup(ts_env("H2K_CLI"));
    *strrchr(cli_dir, '/') = '\0';
    char *installed = ts_join(cli_dir, "completions/hyper2kvm");
    char *printed = ts_join(dir, "printed");
    const char *argv[] = {ts_env("H2K_CLI"), "completion", "bash", NULL};
    assert_int_equal(run_files(argv, printed, NULL), 0);
    char *a = ts_read_file(installed, NULL), *b = ts_read_file(printed, NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);

    char *t = bash_out(dir, installed, "source \"$1\"; complete -p hyper2kvm");
    assert_string_equal(t, "complete -o filenames -F _hyper2kvm hyper2kvm\n");
    free(t);
    static const struct {
        const char *words;
        const char *want;
    } cases[] = {
        {"hyper2kvm loc", "local"},
        {"hyper2kvm --json -v ve", "version"},
        {"hyper2kvm --allow-path /tmp lo", "local"},
        {"hyper2kvm local --output-f", "--output-format"},
        {"hyper2kvm local -O ", "qcow2 raw"},
        {"hyper2kvm local --format q", "qcow2"},
        {"hyper2kvm fix --fi", "--fixes"},
        {"hyper2kvm fix --js", "--json"},
        {"hyper2kvm test --accel ", "auto kvm tcg"},
        {"hyper2kvm vsphere --transport n", "nfc"},
        {"hyper2kvm help xm", "xml"},
        {"hyper2kvm xml --disk-bus v", "virtio"},
        {"hyper2kvm batch --jo", "--jobs"},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(cases); i++) {
        char script[512];
        snprintf(script, sizeof(script),
                 "source \"$1\"; COMP_WORDS=(%s); [[ \"%s\" == *' ' ]] && COMP_WORDS+=(''); "
                 "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _hyper2kvm; echo \"${COMPREPLY[*]}\"",
                 cases[i].words, cases[i].words);
        t = bash_out(dir, installed, script);
        char want[128];
        snprintf(want, sizeof(want), "%s\n", cases[i].want);
        if (strcmp(t, want) != 0)
            fail_msg("completing '%s' gave '%s', not '%s'", cases[i].words, t, cases[i].want);
        free(t);
    }
    free(printed);
    free(installed);
    free(cli_dir);
    ts_rmtree(dir);
    free(dir);
}

static void
test_global_options_anywhere(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out.txt");
    const char *cli = ts_env("H2K_CLI");
    const char *before[] = {cli, "--json", "-q", "version", NULL};
    const char *after[] = {cli, "version", "-q", "--json", NULL};
    const char *mixed[] = {cli, "-q", "version", "--json", NULL};
    const char *const *all[] = {before, after, mixed};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(run_files(all[i], out, NULL), 0);
        char *t = ts_read_file(out, NULL);
        json_object *o = json_tokener_parse(t);
        assert_non_null(o);
        json_object_put(o);
        free(t);
    }
    /* --allow-path reaches h2k_ctx_allow_path(): a missing folder is refused
     * (INVALID_ARG: exit 25) wherever the option stands */
    char *missing = ts_join(dir, "no-such-dir");
    const char *ap1[] = {cli, "--allow-path", missing, "probe", out, NULL};
    const char *ap2[] = {cli, "probe", out, "--allow-path", missing, NULL};
    const char *ap3[] = {cli, "--allow-path=/", "probe", out, "--allow-path", dir, NULL};
    assert_int_equal(run_files(ap1, NULL, out), 25);
    char *t = ts_read_file(out, NULL);
    assert_non_null(strstr(t, "no-such-dir"));
    free(t);
    assert_int_equal(run_files(ap2, NULL, NULL), 25);
    assert_int_equal(run_files(ap3, NULL, NULL), 0);
    /* an unknown global option before the command is a usage error */
    const char *bad[] = {cli, "--frob", "version", NULL};
    assert_int_equal(run_files(bad, NULL, NULL), 2);
    free(missing);
    free(out);
    ts_rmtree(dir);
    free(dir);
}

/* The phony UEFI guest (scripts/images/build-phony-guests.sh uefi). */
static char *
phony_uefi(void)
{
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-phony-guests.sh");
    const char *argv[] = {"bash", script, "uefi", NULL};
    char *out = NULL;
    if (ts_run(argv, &out) != 0)
        fail_msg("building the phony UEFI guest failed:\n%s", out);
    char *path = NULL, *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (strncmp(l, "uefi ", 5) == 0)
            path = strdup(l + 5);
    if (!path)
        fail_msg("build-phony-guests.sh printed no path for uefi");
    free(out);
    free(script);
    return path;
}

static void
test_xml_from_disks(void **state)
{
    (void)state;
    ts_require_program("virt-xml-validate");
    char *img = phony_uefi();
    char *dir = ts_mkdtemp();
    /* a copy named like a VM, so the domain name comes from the file name */
    char *disk = ts_join(dir, "web-01.qcow2");
    const char *cp[] = {"cp", "--reflink=auto", img, disk, NULL};
    ts_run_ok(cp);
    char *xml_path = ts_join(dir, "web-01.xml");
    const char *argv[] = {ts_env("H2K_CLI"), "xml",  disk,           "--output", xml_path,
                          "--type",          "qemu", "--output-dir", dir,        NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("hyper2kvm xml IMAGE exited %d: %s", st, out);
    free(out);
    char *xml = ts_read_file(xml_path, NULL);
    assert_non_null(strstr(xml, "<name>web-01</name>"));
    assert_non_null(strstr(xml, "bus=\"virtio\""));
    assert_non_null(strstr(xml, "<loader")); /* UEFI, from the GPT/ESP the guest has */
    assert_non_null(strstr(xml, "<source network=\"default\"/>"));
    const char *ifaces = strstr(xml, "<interface");
    assert_non_null(ifaces);
    assert_null(strstr(ifaces + 1, "<interface")); /* exactly one NIC */
    const char *val[] = {"virt-xml-validate", xml_path, "domain", NULL};
    ts_run_ok(val);
    free(xml);
    /* the same with --disk instead of IMAGE; no disk at all is a usage error */
    const char *argv2[] = {ts_env("H2K_CLI"), "--json", "xml",           "--disk", disk,
                           "--type",          "qemu",   "--no-graphics", NULL};
    char *jpath = ts_join(dir, "out.json");
    assert_int_equal(run_files(argv2, jpath, NULL), 0);
    char *j = ts_read_file(jpath, NULL);
    json_object *o = json_tokener_parse(j), *x;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "xml", &x));
    assert_non_null(strstr(json_object_get_string(x), "<name>web-01</name>"));
    json_object_put(o);
    free(j);
    free(jpath);
    const char *none[] = {ts_env("H2K_CLI"), "xml", NULL};
    assert_int_equal(run_files(none, NULL, NULL), 2);
    free(xml_path);
    free(disk);
    free(img);
    ts_rmtree(dir);
    free(dir);
}

static void
test_escape_sequences_in_names(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp();
    char *vmx = ts_join(dir, "evil.vmx");
    static const char text[] = ".encoding = \"UTF-8\"\n"
                               "displayName = \"evil\x1b]0;pwned\x07\x1b[2Jname\xc2\x9b"
                               "31m\"\n"
                               "guestOS = \"debian12-64\"\n"
                               "memsize = \"512\"\n";
    ts_write_file(vmx, text, strlen(text));
    char *out = ts_join(dir, "out.txt");
    const char *argv[] = {ts_env("H2K_CLI"), "ovf", vmx, NULL};
    assert_int_equal(run_files(argv, out, NULL), 0);
    char *t = ts_read_file(out, NULL);
    assert_null(strchr(t, '\x1b'));
    assert_null(strchr(t, '\x07'));
    assert_null(strstr(t, "\xc2\x9b"));
    assert_non_null(strstr(t, "evil\\x1b]0;pwned\\x07\\x1b[2Jname\\u009b31m"));
    free(t);
    /* JSON keeps the exact string */
    const char *jargv[] = {ts_env("H2K_CLI"), "ovf", vmx, "--json", NULL};
    assert_int_equal(run_files(jargv, out, NULL), 0);
    t = ts_read_file(out, NULL);
    json_object *o = json_tokener_parse(t), *name;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "name", &name));
    assert_string_equal(json_object_get_string(name), "evil\x1b]0;pwned\x07\x1b[2Jname\xc2\x9b"
                                                      "31m");
    json_object_put(o);
    free(t);
    free(out);
    free(vmx);
    ts_rmtree(dir);
    free(dir);
}

/* While "vsphere --list" waits for a server that accepts the connection and
 * never answers, the process's environment no longer holds the password. */
static void
test_password_env_removed(void **state)
{
    (void)state;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(ls >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(ls, 4), 0);
    socklen_t sl = sizeof(sa);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%u", ntohs(sa.sin_port));
    static const char secret[] = "pw-Zq8#never-inherited";
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        setenv("H2K_TEST_VC_PASSWORD", secret, 1);
        const char *argv[] = {
            ts_env("H2K_CLI"),      "vsphere", "--vcenter",  host, "--user", "u", "--password-env",
            "H2K_TEST_VC_PASSWORD", "--list",  "--insecure", NULL};
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    /* the connection arrives only after the password was read */
    struct pollfd pfd = {.fd = ls, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 60000), 1);
    int conn = accept(ls, NULL, NULL);
    assert_true(conn >= 0);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    char env[65536];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t len = fread(env, 1, sizeof(env), f);
    fclose(f);
    bool found = false, name_seen = false;
    static const char name[] = "H2K_TEST_VC_PASSWORD=";
    for (size_t i = 0; i + sizeof(secret) - 1 <= len; i++)
        found |= memcmp(env + i, secret, sizeof(secret) - 1) == 0;
    for (size_t i = 0; i + sizeof(name) - 1 <= len; i++)
        name_seen |= memcmp(env + i, name, sizeof(name) - 1) == 0;
    /* the variable was there at exec (this reads the right memory); its value is gone */
    assert_true(name_seen);
    kill(pid, SIGTERM);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    close(conn);
    close(ls);
    assert_false(found);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_every_command),
        cmocka_unit_test(test_completion),
        cmocka_unit_test(test_global_options_anywhere),
        cmocka_unit_test(test_escape_sequences_in_names),
        cmocka_unit_test(test_password_env_removed),
        cmocka_unit_test(test_xml_from_disks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
