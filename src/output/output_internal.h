/* Internal helpers of the libvirt output layer (src/output), exposed for tests. */
#ifndef HK_OUTPUT_INTERNAL_H
#define HK_OUTPUT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "hyper2kvm/h2k_common.h"

/* True when @s is valid UTF-8 holding only XML 1.0 characters, without
 * control characters (C0 including TAB/LF/CR, DEL, C1). */
bool hk_xml_text_ok(const char *s);

/* A libvirt domain name from @s: '/', control characters and invalid UTF-8
 * bytes become '_', surrounding blanks are trimmed.  Caller frees; NULL when
 * out of memory. */
char *hk_domain_name_sanitise(const char *s);

/* Canonical lower-case 8-4-4-4-12 form of a UUID given as 32 hex digits with
 * optional '-' or ' ' separators (VMware's uuid.bios form too).  False (and
 * out[0] = 0) when malformed or all zero. */
bool hk_uuid_canonical(const char *s, char out[37]);

/* True for "xx:xx:xx:xx:xx:xx" (hex, any case) that is not multicast. */
bool hk_mac_ok(const char *s);

/* libvirt target name of disk @idx: prefix + a..z, aa..az, ... ("vda", "sdab"). */
void hk_disk_target_name(const char *prefix, size_t idx, char *out, size_t outsz);

/* h2k_output_write_file() with the output's permission bits: hk_output_mode()
 * of @mode (0: 0600) and the file @source (may be NULL), whatever the umask. */
int hk_output_write_file_mode(h2k_ctx *ctx, const char *path, const char *text, unsigned mode,
                              const char *source);

#endif
