/*
 * libcurl helpers shared by the providers.
 */
#include "curl_util.h"

size_t
hk_curl_sink_write(char *data, size_t size, size_t nmemb, void *sink)
{
    hk_curl_sink *s = sink;
    size_t n = size * nmemb;
    if (n > s->max || s->b.len > s->max - n) {
        s->too_big = true;
        return 0;
    }
    hk_buf_append(&s->b, data, n);
    return s->b.oom ? 0 : n;
}

void
hk_curl_tls(CURL *e, bool verify, const char *ca_file)
{
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    if (verify && ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
}
