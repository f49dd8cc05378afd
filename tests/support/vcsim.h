/*
 * The vCenter simulator for integration tests: vcsimx started on 127.0.0.1
 * by scripts/vcsim-test.sh (a port the kernel picks), stopped by its pid, and
 * the few set-up calls the tests make (datastore PUTs, VM tasks).
 */
#ifndef H2K_TS_VCSIM_H
#define H2K_TS_VCSIM_H

#include <sys/types.h>

#include "testsupport.h"

typedef struct ts_vcsim {
    char *state; /* the script's state folder */
    int port;
    pid_t pid;
    char host[64]; /* "127.0.0.1:PORT" */
} ts_vcsim;

/* Starts the simulator (user "user", password @password) with extra vcsimx
 * options (NULL-terminated, may be NULL); fails the test when it cannot. */
void ts_vcsim_start(ts_vcsim *s, const char *password, const char *const *extra);

/* Stops it by its pid and removes its state folder.  Safe to call twice. */
void ts_vcsim_stop(ts_vcsim *s);

/* PUTs @file to the datastore path @rel of datacenter @dc, datastore LocalDS_0. */
void ts_vcsim_put(const ts_vcsim *s, const char *dc, const char *file, const char *rel);

/* Runs the task method @method (e.g. "PowerOnVM_Task") on VM @vm_name through
 * the client's internals and waits for it; @args_xml (may be NULL) follows _this. */
void ts_vcsim_vm_task(h2k_vmware_client *c, const char *vm_name, const char *method,
                      const char *args_xml);

#endif
