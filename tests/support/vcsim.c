/* The vCenter simulator for integration tests (see vcsim.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "providers/vmware/vmw_internal.h"
#include "vcsim.h"

void
ts_vcsim_start(ts_vcsim *s, const char *password, const char *const *extra)
{
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/vcsim-test.sh");
    s->state = ts_mkdtemp();
    const char *argv[12] = {"sh", script, "start", s->state};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 11; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    setenv("VCSIM_PASSWORD", password, 1);
    /* the first start builds the simulator (a package install, a Go build) and
     * logs that on stderr: "PORT PID" is read from stdout alone */
    char *out = NULL, *err = NULL;
    int st = ts_run_split(argv, &out, &err);
    if (st != 0)
        fail_msg("vcsim-test.sh start failed (%d): %s%s", st, out, err);
    const char *last = out;
    for (const char *p = out; *p; p++)
        if (*p == '\n' && p[1])
            last = p + 1;
    int port = 0, pid = 0;
    if (sscanf(last, "%d %d", &port, &pid) != 2 || port <= 0 || pid <= 0)
        fail_msg("vcsim-test.sh printed no port on stdout: \"%s\" (stderr: %s)", out, err);
    s->port = port;
    s->pid = (pid_t)pid;
    snprintf(s->host, sizeof(s->host), "127.0.0.1:%d", port);
    free(err);
    free(out);
    free(script);
}

void
ts_vcsim_stop(ts_vcsim *s)
{
    if (!s->state)
        return;
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/vcsim-test.sh");
    const char *argv[] = {"sh", script, "stop", s->state, NULL};
    ts_run(argv, NULL);
    if (s->pid > 0 && kill(s->pid, 0) == 0)
        kill(s->pid, SIGKILL);
    ts_rmtree(s->state);
    free(s->state);
    free(script);
    s->state = NULL;
}

void
ts_vcsim_put(const ts_vcsim *s, const char *dc, const char *file, const char *rel)
{
    char url[512];
    snprintf(url, sizeof(url), "https://%s/folder/%s?dcPath=%s&dsName=LocalDS_0", s->host, rel, dc);
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    struct stat st;
    assert_int_equal(fstat(fileno(f), &st), 0);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READDATA, f);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    CURLcode cc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    fclose(f);
    if (cc != CURLE_OK || status != 200)
        fail_msg("PUT %s: %s, HTTP %ld", url, curl_easy_strerror(cc), status);
}

void
ts_vcsim_vm_task(h2k_vmware_client *c, const char *vm_name, const char *method,
                 const char *args_xml)
{
    char *moref = NULL;
    ts_assert_rc(c->ctx, hk_vmw_find_vm(c, vm_name, &moref), 0);
    hk_vmw_response r = {0};
    ts_assert_rc(c->ctx,
                 hk_vmw_call(c, method, "VirtualMachine", moref, args_xml ? args_xml : "", &r), 0);
    bool oom = false;
    char *task = hk_vmw_child_text(r.result, "returnval", &oom);
    hk_vmw_response_clear(&r);
    assert_non_null(task);
    ts_assert_rc(c->ctx, hk_vmw_wait_task(c, task, method, NULL), 0);
    free(task);
    free(moref);
}
