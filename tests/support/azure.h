/*
 * Azure peers for integration tests: Azurite (started by the CTest fixture
 * "azurite", scripts/azurite-test.sh, its folder in $H2K_AZURITE_DIR) and the
 * suite's ARM stand-in (tests/azure/arm_standin.py) started here on 127.0.0.1
 * (a port the kernel picks) and stopped by its pid.
 */
#ifndef H2K_TS_AZURE_H
#define H2K_TS_AZURE_H

#include <stdint.h>
#include <sys/types.h>

#include "testsupport.h"

typedef struct ts_azure {
    char *dir;        /* the stand-in's folder: config, port, events */
    char *ca;         /* the certificate both servers use (PEM) */
    char azurite[96]; /* "https://127.0.0.1:PORT/devstoreaccount1" */
    char url[64];     /* "https://127.0.0.1:PORT" of the stand-in */
    pid_t pid;
} ts_azure;

/* Reads the fixture's Azurite folder (fails the test when it is not running). */
void ts_azure_init(ts_azure *a);

/* Uploads @file as the page blob @blob ("container/name.vhd"), only its non-zero
 * 512-byte pages written; returns the bytes written. */
uint64_t ts_azure_seed(const ts_azure *a, const char *blob, const char *file);

/* Starts the stand-in with @config (JSON; "@AZURITE@" replaced by a->azurite). */
void ts_azure_start(ts_azure *a, const char *config);

/* Stops it by its pid and removes its folder.  Safe to call twice. */
void ts_azure_stop(ts_azure *a);

/* The events the stand-in logged so far (one per line); caller frees. */
char *ts_azure_events(const ts_azure *a);

/* Number of lines of the events equal to @line. */
int ts_azure_count(const ts_azure *a, const char *line);

/* Empties the event log. */
void ts_azure_clear_events(const ts_azure *a);

#endif
