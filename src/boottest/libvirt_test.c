/*
 * h2k_libvirt_test_run: the boot test through libvirt.  A transient domain
 * (destroyed automatically if our connection goes away) boots the throw-away
 * overlay; its serial port writes to a file the tester watches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "boot_internal.h"
#include "libvirt_xml.h"

#define DESTROY_WAIT_US (100 * 1000)

static void
log_libvirt(void *ud, virErrorPtr err)
{
    /* errors are read with virGetLastErrorMessage(); this keeps them off stderr */
    h2k_ctx *ctx = ud;
    if (ctx && err && err->message)
        hk_log(ctx, H2K_LOG_DEBUG, "libvirt", "%s", err->message);
}

static int
verr(h2k_ctx *ctx, int code, const char *what)
{
    const char *m = virGetLastErrorMessage();
    return hk_error(ctx, code, "boot test (libvirt): %s: %s", what, m ? m : "failed");
}

/* A URI of this host (no server part): qemu:///system, qemu:///session, ... */
static bool
local_uri(const char *uri)
{
    const char *p = strstr(uri, "://");
    return p && p[3] == '/';
}

typedef struct vm {
    virDomainPtr dom;
} vm;

static bool
dom_alive(void *ud, int *status)
{
    vm *v = ud;
    int st = 0, reason = 0;
    if (virDomainGetState(v->dom, &st, &reason, 0) < 0) {
        *status = -1;
        return false;
    }
    if (st == VIR_DOMAIN_RUNNING || st == VIR_DOMAIN_BLOCKED || st == VIR_DOMAIN_PAUSED)
        return true;
    *status = st;
    return false;
}

static const char *
domain_type(h2k_ctx *ctx, virConnectPtr conn, const char *uri, h2k_boot_accel accel)
{
    if (accel == H2K_ACCEL_KVM)
        return "kvm";
    if (accel == H2K_ACCEL_TCG)
        return "qemu";
    if (local_uri(uri))
        return hk_kvm_usable(ctx) ? "kvm" : "qemu";
    char *caps = virConnectGetCapabilities(conn);
    bool kvm = caps && strstr(caps, "<domain type='kvm'") != NULL;
    free(caps);
    return kvm ? "kvm" : "qemu";
}

int
h2k_libvirt_test_run(h2k_ctx *ctx, const char *image, const h2k_boot_test_options *opts,
                     h2k_boot_result **out)
{
    hk_boot_opts o;
    char *abs = NULL;
    int rc = hk_boot_begin(ctx, image, opts, out, &o, &abs);
    if (rc < 0)
        return rc;

    /* libvirt's process-wide error handler is the application's: ours is set
     * per connection, once there is one (see src/output/define.c) */
    virConnectPtr conn = NULL;
    vm v = {NULL};
    hk_boot_work w;
    hk_console con;
    bool work = false, con_init = false, started = false;
    char *xml = NULL, *name = NULL;
    h2k_boot_result *r = NULL;

    conn = virConnectOpen(o.libvirt_uri);
    if (!conn) {
        const char *m = virGetLastErrorMessage();
        rc = hk_error(ctx, H2K_ERR_CONNECTION,
                      "boot test (libvirt): cannot connect to %s (is the libvirt daemon "
                      "running?): %s",
                      o.libvirt_uri, m ? m : "failed");
        goto done;
    }
    virConnSetErrorFunc(conn, ctx, log_libvirt);
    const char *type = domain_type(ctx, conn, o.libvirt_uri, o.accel);
    if (!o.vcpus) {
        /* the CPUs of the host the daemon runs on */
        virNodeInfo node;
        long cpus = virNodeGetInfo(conn, &node) == 0 ? (long)node.cpus : 1;
        o.vcpus = hk_boot_auto_vcpus(0, strcmp(type, "qemu") == 0, cpus);
    }
    if ((rc = hk_boot_work_prepare(ctx, abs, &o, &w)) < 0)
        goto done;
    work = true;
    name = hk_asprintf("h2k-boot-%s", w.token);
    if (!name) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    hk_libvirt_plan plan = {
        .name = name,
        .type = type,
        .vm = hk_boot_vm_of(&o, &w),
        /* a local daemon runs qemu as us: libvirt changes no file's owner, and the
         * image is reachable wherever it is */
        .run_as_uid = local_uri(o.libvirt_uri) ? (long)geteuid() : -1,
        .run_as_gid = local_uri(o.libvirt_uri) ? (long)getegid() : -1,
    };
    if ((rc = hk_libvirt_xml(ctx, &plan, &xml)) < 0)
        goto done;
    if ((rc = hk_boot_console_start(ctx, &o, &w, "libvirt-", type, &con, &r)) < 0)
        goto done;
    con_init = true;
    if ((rc = hk_check_cancel(ctx)) < 0)
        goto done;
    hk_info(ctx, "test", "booting %s as transient domain %s on %s (type %s, %s bus, proof %s)", abs,
            name, o.libvirt_uri, type, h2k_bus_name(o.bus), h2k_boot_proof_name(o.proof));
    hk_debug(ctx, "test", "domain XML:\n%s", xml);
    v.dom = virDomainCreateXML(conn, xml, VIR_DOMAIN_START_AUTODESTROY);
    if (!v.dom) {
        rc = verr(ctx, H2K_ERR_BOOT_TEST, "cannot start the domain");
        goto done;
    }
    started = true;
    int outcome = HK_WATCH_ENDED, status = 0;
    double seconds = 0;
    rc = hk_boot_watch(ctx, w.console_log, &con, o.timeout_seconds, dom_alive, &v, &outcome,
                       &status, &seconds);
    if (rc < 0)
        goto done;
    char *what = outcome == HK_WATCH_PROVEN ? NULL : hk_asprintf("domain %s", name);
    rc = hk_boot_conclude(ctx, r, &con, outcome, status, seconds, &o, abs, what ? what : "domain",
                          NULL);
    free(what);

done:
    if (v.dom) {
        /* destroyed whatever happened; a domain that already stopped is gone */
        int st = 0;
        if (virDomainGetState(v.dom, &st, NULL, 0) == 0 && st != VIR_DOMAIN_SHUTOFF &&
            virDomainDestroy(v.dom) < 0)
            hk_warn(ctx, "test", "cannot destroy domain %s: %s", name, virGetLastErrorMessage());
        virDomainFree(v.dom);
    }
    if (conn)
        virConnectClose(conn); /* AUTODESTROY: the domain cannot outlive this */
    hk_boot_release(ctx, work ? &w : NULL, con_init ? &con : NULL, &o, r);
    free(xml);
    free(name);
    free(abs);
    hk_boot_result_give(r, started, rc, out);
    return rc;
}
