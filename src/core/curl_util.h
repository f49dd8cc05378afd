/*
 * libcurl helpers shared by the providers (vSphere, Azure): the bounded
 * memory sink for response bodies and the TLS verification settings.
 * Internal, never installed.  Thread-safe (no state of their own); a sink is
 * used by the thread running its transfer.
 */
#ifndef HK_CORE_CURL_UTIL_H
#define HK_CORE_CURL_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "internal.h"

/* A response body kept in memory, refused past @max bytes.  Zero-initialise
 * with .max set; after the transfer, .b holds the body (hk_buf_free() it). */
typedef struct hk_curl_sink {
    hk_buf b;
    size_t max;   /* most bytes kept */
    bool too_big; /* set when the body was longer than max (transfer stopped) */
} hk_curl_sink;

/* CURLOPT_WRITEFUNCTION for an hk_curl_sink (CURLOPT_WRITEDATA): appends, or
 * stops the transfer (CURLE_WRITE_ERROR) when the body passes max
 * (too_big set) or an allocation fails (b.oom set). */
size_t hk_curl_sink_write(char *data, size_t size, size_t nmemb, void *sink);

/* Sets the TLS verification of @e: with @verify, the peer's certificate and
 * host name are checked against the system CAs or @ca_file (when not NULL);
 * without it (an insecure request, or a certificate pinned and checked by
 * the caller's own callback), neither is checked. */
void hk_curl_tls(CURL *e, bool verify, const char *ca_file);

#endif /* HK_CORE_CURL_UTIL_H */
