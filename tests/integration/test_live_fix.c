/*
 * The live fixer on a real running guest: the Debian test guest with
 * openssh-server (scripts/images/build-debian-ssh-guest.sh) boots under qemu
 * (TCG, IDE disk, e1000 NIC with its VMware MAC) with its port 22 forwarded to
 * a free loopback port.  A key and the known_hosts entry are made at test time.
 * Wrong key, unknown host key and a closed port fail clearly and change
 * nothing; a dry run writes nothing; the sudo user prepares the guest; root's
 * second run changes nothing.  The guest powers off, and its disk then boots
 * on virtio with its static address through the orchestrator with no offline
 * repair at all: the live repairs alone were enough.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "boot_helpers.h"
#include "hyper2kvm/h2k_fix.h"
#include "hyper2kvm/h2k_orchestrator.h"

extern char **environ;

static unsigned
free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) != 0)
        fail_msg("no free loopback port");
    unsigned p = ntohs(a.sin_port);
    close(s);
    return p;
}

static char *
ssh_guest(void)
{
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-debian-ssh-guest.sh");
    const char *argv[] = {"bash", script, NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("cannot build the SSH test guest (%s exited %d):\n%s", script, st, out);
    char *path = NULL, *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (l[0] == '/' && strstr(l, ".qcow2") && access(l, R_OK) == 0) {
            free(path);
            path = strdup(l);
        }
    if (!path)
        fail_msg("build-debian-ssh-guest.sh printed no image path:\n%s", out);
    free(out);
    free(script);
    return path;
}

typedef struct lf_case {
    h2k_ctx *ctx;
    h2k_live_fixer *lf;
    int rc;
} lf_case;

static lf_case
live(unsigned port, const char *user, const char *key, const char *kh, int sudo, int dry,
     unsigned fixes)
{
    lf_case c = {.ctx = ts_ctx()};
    h2k_live_fix_options o = H2K_LIVE_FIX_OPTIONS_INIT;
    o.host = "127.0.0.1";
    o.port = port;
    o.user = user;
    o.key_file = key;
    o.known_hosts_file = kh;
    o.sudo = sudo;
    o.dry_run = dry;
    o.connect_timeout = 20;
    o.command_timeout = 900;
    if (fixes)
        o.fixes = fixes;
    ts_assert_rc(c.ctx, h2k_live_fixer_new(c.ctx, &o, &c.lf), 0);
    c.rc = h2k_live_fixer_run(c.lf);
    return c;
}

static void
lf_done(lf_case *c)
{
    h2k_live_fixer_free(c->lf);
    h2k_ctx_free(c->ctx);
}

static const h2k_fix_result *
result(const lf_case *c, h2k_fix_kind k)
{
    for (size_t i = 0; i < h2k_live_fixer_result_count(c->lf); i++)
        if (h2k_live_fixer_result_at(c->lf, i)->kind == k)
            return h2k_live_fixer_result_at(c->lf, i);
    fail_msg("no result for %s", h2k_fix_kind_name(k));
    return NULL;
}

static const char *
msg(const lf_case *c)
{
    return h2k_ctx_last_error(c->ctx)->message;
}

static void
test_live_fix(void **state)
{
    (void)state;
    ts_require_program("ssh");
    ts_require_program("ssh-keygen");
    ts_require_program("guestfish");
    ts_require_program("qemu-system-x86_64");
    setenv("LIBGUESTFS_BACKEND", "direct", 0);
    setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", 0);
    double t0 = hk_now();
    char *base = ssh_guest();
    char *dir = ts_mkdtemp();
    char *disk = ts_join(dir, "source.qcow2");
    const char *mk[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-F",
                        "qcow2",    "-b",     base, disk, NULL};
    ts_run_ok(mk);
    char *key = ts_join(dir, "id"), *pub = ts_join(dir, "id.pub"), *bad = ts_join(dir, "bad");
    const char *kg[] = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key, NULL};
    const char *kg2[] = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", bad, NULL};
    ts_run_ok(kg);
    ts_run_ok(kg2);
    char *hostpub = ts_join(dir, "host.pub");
    const char *gf[] = {"guestfish",
                        "--rw",
                        "-a",
                        disk,
                        "-i",
                        "upload",
                        pub,
                        "/etc/h2k-test/authorized_keys",
                        ":",
                        "download",
                        "/etc/ssh/ssh_host_ed25519_key.pub",
                        hostpub,
                        NULL};
    ts_run_ok(gf);
    unsigned port = free_port();
    char *kh = ts_join(dir, "known_hosts"), *empty_kh = ts_join(dir, "empty_known_hosts");
    char *hk = ts_read_file(hostpub, NULL);
    char line[1024];
    snprintf(line, sizeof line, "[127.0.0.1]:%u %s", port, hk);
    ts_write_file(kh, line, strlen(line));
    ts_write_file(empty_kh, "", 0);
    free(hk);
    fprintf(stderr, "# prepared in %.0f s\n", hk_now() - t0);

    /* boot the "VMware" guest: IDE disk, e1000 NIC with its MAC, ssh forwarded */
    char *console = ts_join(dir, "console.log");
    char drive[4096], netdev[256], nic[128], serial[4200];
    snprintf(drive, sizeof drive, "file=%s,if=ide,format=qcow2", disk);
    snprintf(netdev, sizeof netdev, "user,id=n0,hostfwd=tcp:127.0.0.1:%u-:22", port);
    snprintf(nic, sizeof nic, "e1000,netdev=n0,mac=%s", GUEST_MAC);
    snprintf(serial, sizeof serial, "file:%s", console);
    char *const qargv[] = {"qemu-system-x86_64",
                           "-machine",
                           "pc,accel=tcg",
                           "-m",
                           "1024",
                           "-smp",
                           "2",
                           "-drive",
                           drive,
                           "-netdev",
                           netdev,
                           "-device",
                           nic,
                           "-display",
                           "none",
                           "-serial",
                           serial,
                           "-no-reboot",
                           NULL};
    pid_t qemu = 0;
    assert_int_equal(posix_spawnp(&qemu, "qemu-system-x86_64", NULL, NULL, qargv, environ), 0);

    /* a closed port: clear error, no change (nothing listens there) */
    unsigned closed = free_port();
    lf_case c = live(closed, "root", key, kh, 0, 0, 0);
    assert_int_equal(c.rc, H2K_ERR_CONNECTION);
    if (!strstr(msg(&c), "127.0.0.1") || !strstr(msg(&c), "refused"))
        fail_msg("closed port: %s", msg(&c));
    lf_done(&c);

    /* wait for sshd */
    double tb = hk_now();
    int up = 0;
    while (!up && hk_now() - tb < 600) {
        int st = 0;
        if (waitpid(qemu, &st, WNOHANG) == qemu)
            fail_msg("qemu exited early");
        c = live(port, "root", key, kh, 0, 1, H2K_FIX_FSTAB);
        up = c.rc == 0;
        lf_done(&c);
        if (!up)
            sleep(5);
    }
    if (!up) {
        kill(qemu, SIGKILL);
        waitpid(qemu, NULL, 0);
        char *con = ts_read_file(console, NULL);
        fail_msg("sshd did not answer within 600 s; console:\n%s", con);
    }
    fprintf(stderr, "# sshd up after %.0f s\n", hk_now() - tb);

    /* wrong key, unknown host key: clear errors */
    c = live(port, "root", bad, kh, 0, 0, 0);
    assert_int_equal(c.rc, H2K_ERR_AUTHENTICATION);
    if (!strstr(msg(&c), "port") || !strstr(msg(&c), "key was refused"))
        fail_msg("wrong key: %s", msg(&c));
    lf_done(&c);
    c = live(port, "root", key, empty_kh, 0, 0, 0);
    assert_int_equal(c.rc, H2K_ERR_CONNECTION);
    if (!strstr(msg(&c), "not in known_hosts"))
        fail_msg("unknown host key: %s", msg(&c));
    lf_done(&c);
    char *ekh = ts_read_file(empty_kh, NULL);
    assert_string_equal(ekh, ""); /* never accepted implicitly */
    free(ekh);

    /* a dry run as the sudo user lists everything and writes nothing */
    double td = hk_now();
    c = live(port, "h2k", key, kh, 1, 1, 0);
    ts_assert_rc(c.ctx, c.rc, 0);
    assert_int_equal(result(&c, H2K_FIX_FSTAB)->status, H2K_FIX_STATUS_CHANGED);
    assert_int_equal(result(&c, H2K_FIX_INITRAMFS)->status, H2K_FIX_STATUS_CHANGED);
    lf_done(&c);
    fprintf(stderr, "# dry run %.0f s\n", hk_now() - td);
    c = live(port, "h2k", key, kh, 1, 1, H2K_FIX_FSTAB);
    assert_int_equal(result(&c, H2K_FIX_FSTAB)->status, H2K_FIX_STATUS_CHANGED);
    lf_done(&c);

    /* the repairs, as the sudo user */
    double tr = hk_now();
    c = live(port, "h2k", key, kh, 1, 0, 0);
    char *rep = h2k_live_fixer_report_json(c.lf);
    if (c.rc != 0)
        fail_msg("live fix: %s\n%s", msg(&c), rep);
    for (h2k_fix_kind k = H2K_FIX_FSTAB; k <= H2K_FIX_INITRAMFS; k <<= 1)
        if (result(&c, k)->status != H2K_FIX_STATUS_CHANGED)
            fail_msg("%s not changed: %s", h2k_fix_kind_name(k), rep);
    assert_non_null(strstr(rep, "UUID="));
    assert_non_null(strstr(rep, "update-initramfs -u -k all"));
    assert_non_null(strstr(rep, GUEST_MAC));
    free(rep);
    lf_done(&c);
    fprintf(stderr, "# live fix %.0f s\n", hk_now() - tr);

    /* a second run (as root) changes nothing */
    c = live(port, "root", key, kh, 0, 0, 0);
    ts_assert_rc(c.ctx, c.rc, 0);
    rep = h2k_live_fixer_report_json(c.lf);
    for (size_t i = 0; i < h2k_live_fixer_result_count(c.lf); i++)
        if (h2k_live_fixer_result_at(c.lf, i)->status == H2K_FIX_STATUS_CHANGED)
            fail_msg("second run changed something: %s", rep);
    free(rep);
    lf_done(&c);

    /* power off over ssh */
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%u", port);
    char *kho = malloc(strlen(kh) + 32);
    sprintf(kho, "UserKnownHostsFile=%s", kh);
    const char *off[] = {"ssh",  "-F", "/dev/null", "-o",        "BatchMode=yes",
                         "-o",   kho,  "-i",        key,         "-p",
                         port_s, "-l", "root",      "127.0.0.1", "systemctl poweroff",
                         NULL};
    ts_run(off, NULL);
    int st = 0;
    double ts = hk_now();
    while (waitpid(qemu, &st, WNOHANG) != qemu) {
        if (hk_now() - ts > 300) {
            kill(qemu, SIGKILL);
            waitpid(qemu, NULL, 0);
            fail_msg("the guest did not power off");
        }
        sleep(2);
    }
    free(kho);

    /* no offline repair: boot on virtio with its network */
    double tt = hk_now();
    char *out = ts_join(dir, "out");
    h2k_ctx *ctx = ts_ctx();
    ts_allow_dir_of(ctx, base); /* the overlay's backing file lies in the image cache */
    const char *inputs[] = {disk};
    const char *macs[] = {GUEST_MAC};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.name = "livefixed";
    o.nic_macs = macs;
    o.n_nic_macs = 1;
    o.fixes = 0;
    o.test_boot = 1;
    o.boot_timeout = 600;
    h2k_migration_result *res = NULL;
    int rc = h2k_orchestrator_run(ctx, &o, &res);
    ts_print_failed_boot(ctx, rc, res);
    ts_assert_rc(ctx, rc, 0);
    assert_non_null(res->boot);
    assert_int_equal(res->boot->success, 1);
    int found = 0;
    for (size_t i = 0; i < res->boot->n_addresses; i++)
        if (strncmp(res->boot->addresses[i], GUEST_IP, strlen(GUEST_IP)) == 0)
            found = 1;
    if (!found)
        fail_msg("no %s in the proof: %s", GUEST_IP,
                 res->boot->proof_line ? res->boot->proof_line : "");
    fprintf(stderr, "# boot test %.0f s; total %.0f s\n", hk_now() - tt, hk_now() - t0);
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(out);
    free(console);
    free(kh);
    free(empty_kh);
    free(hostpub);
    free(key);
    free(pub);
    free(bad);
    free(disk);
    free(dir);
    free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_fix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
