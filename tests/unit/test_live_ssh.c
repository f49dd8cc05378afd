/* The live fixer's ssh command line: fixed options, checked values, and
 * hostile values that stay inert (never an ssh option, never shell code). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fix/live_internal.h"
#include "hyper2kvm/h2k_fix.h"

static hk_ssh_target
good(void)
{
    return (hk_ssh_target){.host = "192.0.2.10",
                           .port = 2222,
                           .user = "admin",
                           .key_file = "/keys/id_ed25519",
                           .known_hosts_file = "/keys/known_hosts",
                           .connect_timeout = 7};
}

static size_t
argc_of(char **v)
{
    size_t n = 0;
    while (v[n])
        n++;
    return n;
}

static const char *
after(char **v, const char *flag, const char *prefix)
{
    for (size_t i = 0; v[i] && v[i + 1]; i++)
        if (strcmp(v[i], flag) == 0 && strncmp(v[i + 1], prefix, strlen(prefix)) == 0)
            return v[i + 1];
    return NULL;
}

static void
test_argv_shape(void **state)
{
    (void)state;
    hk_ssh_target t = good();
    char **v = hk_ssh_argv(&t, "cat /etc/fstab");
    assert_non_null(v);
    size_t n = argc_of(v);
    assert_string_equal(v[0], "ssh");
    assert_string_equal(after(v, "-o", "BatchMode"), "BatchMode=yes");
    assert_string_equal(after(v, "-o", "StrictHostKeyChecking"), "StrictHostKeyChecking=yes");
    assert_string_equal(after(v, "-o", "UserKnownHostsFile"),
                        "UserKnownHostsFile=/keys/known_hosts");
    assert_string_equal(after(v, "-o", "IdentitiesOnly"), "IdentitiesOnly=yes");
    assert_string_equal(after(v, "-o", "PasswordAuthentication"), "PasswordAuthentication=no");
    assert_string_equal(after(v, "-o", "ConnectTimeout"), "ConnectTimeout=7");
    assert_string_equal(after(v, "-i", ""), "/keys/id_ed25519");
    assert_string_equal(after(v, "-p", ""), "2222");
    assert_string_equal(after(v, "-l", ""), "admin");
    assert_string_equal(v[n - 3], "--");
    assert_string_equal(v[n - 2], "192.0.2.10");
    assert_string_equal(v[n - 1], "sh -c 'cat /etc/fstab'");
    hk_ssh_argv_free(v);

    t.accept_new_host_key = true;
    t.sudo = true;
    v = hk_ssh_argv(&t, "id -u");
    n = argc_of(v);
    assert_string_equal(after(v, "-o", "StrictHostKeyChecking"),
                        "StrictHostKeyChecking=accept-new");
    assert_string_equal(v[n - 1], "sudo -n -- sh -c 'id -u'");
    hk_ssh_argv_free(v);
}

static void
test_check_rejects_hostile(void **state)
{
    (void)state;
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    hk_ssh_target t = good();
    assert_int_equal(hk_ssh_target_check(ctx, &t), 0);
    static const char *const bad_hosts[] = {"-oProxyCommand=touch /tmp/x",
                                            "a b",
                                            "h;reboot",
                                            "$(reboot)",
                                            "h`id`",
                                            "",
                                            "host\n",
                                            "a@b",
                                            "h%d"};
    for (size_t i = 0; i < sizeof bad_hosts / sizeof *bad_hosts; i++) {
        t = good();
        t.host = bad_hosts[i];
        assert_int_equal(hk_ssh_target_check(ctx, &t), H2K_ERR_INVALID_ARG);
        assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "host"));
    }
    static const char *const bad_users[] = {"-oProxyCommand=x", "root;id", "a b", "", "u@h"};
    for (size_t i = 0; i < sizeof bad_users / sizeof *bad_users; i++) {
        t = good();
        t.user = bad_users[i];
        assert_int_equal(hk_ssh_target_check(ctx, &t), H2K_ERR_INVALID_ARG);
        assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "user"));
    }
    t = good();
    t.port = 0;
    assert_int_equal(hk_ssh_target_check(ctx, &t), H2K_ERR_INVALID_ARG);
    t.port = 65536;
    assert_int_equal(hk_ssh_target_check(ctx, &t), H2K_ERR_INVALID_ARG);
    t = good();
    t.known_hosts_file = "/tmp/kh /etc/ssh/other";
    assert_int_equal(hk_ssh_target_check(ctx, &t), H2K_ERR_INVALID_ARG);
    t.known_hosts_file = NULL;
    assert_int_equal(hk_ssh_target_check(ctx, &t), H2K_ERR_INVALID_ARG);
    t = good();
    t.key_file = NULL;
    assert_int_equal(hk_ssh_target_check(ctx, &t), H2K_ERR_INVALID_ARG);
    h2k_ctx_free(ctx);
}

static void
test_values_inert(void **state)
{
    (void)state;
    hk_ssh_target t = good();
    /* file names are single argv elements; % is escaped for ssh's tokens */
    t.key_file = "/keys/-oProxyCommand=x %h";
    t.known_hosts_file = "/keys/kh%u";
    char **v = hk_ssh_argv(&t, "cat -- '/etc/it'\\''s'");
    assert_string_equal(after(v, "-i", ""), "/keys/-oProxyCommand=x %%h");
    assert_string_equal(after(v, "-o", "UserKnownHostsFile"), "UserKnownHostsFile=/keys/kh%%u");
    size_t n = argc_of(v);
    /* the remote command is one word for the remote shell: sh -c '<cmd>' */
    assert_string_equal(v[n - 1], "sh -c 'cat -- '\\''/etc/it'\\''\\'\\'''\\''s'\\'''");
    hk_ssh_argv_free(v);

    char *q = hk_sh_quote("x'; reboot; echo '");
    assert_string_equal(q, "'x'\\''; reboot; echo '\\'''");
    free(q);
}

static void
test_classify(void **state)
{
    (void)state;
    const char *cause = NULL;
    assert_int_equal(hk_ssh_classify("admin@h: Permission denied (publickey).", &cause),
                     H2K_ERR_AUTHENTICATION);
    assert_non_null(strstr(cause, "key was refused"));
    assert_int_equal(hk_ssh_classify("No ED25519 host key is known for [127.0.0.1]:2222 and "
                                     "you have requested strict checking.\nHost key "
                                     "verification failed.",
                                     &cause),
                     H2K_ERR_CONNECTION);
    assert_non_null(strstr(cause, "not in known_hosts"));
    assert_int_equal(hk_ssh_classify("ssh: connect to host 127.0.0.1 port 9: Connection refused",
                                     &cause),
                     H2K_ERR_CONNECTION);
    assert_non_null(strstr(cause, "refused"));
    assert_int_equal(hk_ssh_classify("ssh: connect to host 192.0.2.1 port 22: Connection timed out",
                                     &cause),
                     H2K_ERR_CONNECTION);
    assert_non_null(strstr(cause, "did not answer"));
}

static void
test_options(void **state)
{
    (void)state;
    h2k_live_fix_options o = H2K_LIVE_FIX_OPTIONS_INIT;
    h2k_live_fix_options p;
    memset(&p, 0x5a, sizeof p);
    assert_int_equal(h2k_live_fix_options_init(&p, H2K_LIVE_FIX_OPTIONS_VERSION), 0);
    assert_int_equal(p.version, o.version);
    assert_int_equal(p.port, o.port);
    assert_null(p.host);
    assert_null(p.known_hosts_file);
    assert_int_equal(p.sudo, 0);
    assert_int_equal(p.dry_run, 0);
    assert_int_equal(p.fixes, o.fixes);
    assert_int_equal(p.command_timeout, 1800);
    assert_int_equal(p.connect_timeout, 15);
    assert_int_equal(o.port, 22);
    assert_int_equal(o.accept_new_host_key, 0);
    assert_int_equal(o.fixes, H2K_LIVE_FIX_DEFAULT);
    assert_int_equal(h2k_live_fix_options_init(&p, 99), H2K_ERR_INVALID_ARG);

    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    h2k_live_fixer *lf = NULL;
    o.host = "h";
    o.user = "root";
    assert_int_equal(h2k_live_fixer_new(ctx, &o, &lf), H2K_ERR_INVALID_ARG); /* no key */
    assert_null(lf);
    o.key_file = "/nonexistent/key";
    o.known_hosts_file = "/nonexistent/kh";
    assert_true(h2k_live_fixer_new(ctx, &o, &lf) < 0);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "/nonexistent/key"));
    o.version = 42;
    assert_int_equal(h2k_live_fixer_new(ctx, &o, &lf), H2K_ERR_INVALID_ARG);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv_shape),   cmocka_unit_test(test_check_rejects_hostile),
        cmocka_unit_test(test_values_inert), cmocka_unit_test(test_classify),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
