/*
 * Helpers shared by the VHD, VHDX and qcow2 probers: byte-order reads,
 * CRC-32C, the VHD checksum, GUID formatting, UTF-16 decoding and the
 * normalisation of Windows parent paths.  All are pure (no I/O, no context)
 * except hk_vhd_resolve_parent(), which checks which candidate file exists.
 */
#ifndef HK_DISK_VHD_UTIL_H
#define HK_DISK_VHD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t
hk_vhd_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t
hk_vhd_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
hk_vhd_be64(const uint8_t *p)
{
    return (uint64_t)hk_vhd_be32(p) << 32 | hk_vhd_be32(p + 4);
}

static inline uint16_t
hk_vhd_le16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[1] << 8 | p[0]);
}

static inline uint32_t
hk_vhd_le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t
hk_vhd_le64(const uint8_t *p)
{
    return (uint64_t)hk_vhd_le32(p + 4) << 32 | hk_vhd_le32(p);
}

/* CRC-32C (Castagnoli, reflected, polynomial 0x82F63B78) of @len bytes,
 * continuing from @crc (pass 0 to start).  "123456789" gives 0xE3069283. */
uint32_t hk_vhdx_crc32c(uint32_t crc, const void *data, size_t len);

/* VHD checksum: ones' complement of the sum of the @len bytes of @buf,
 * skipping the 4 bytes of the checksum field at @csum_off. */
uint32_t hk_vhd_checksum(const uint8_t *buf, size_t len, size_t csum_off);

/* Formats 16 bytes in stored order (VHD GUIDs are big endian) as
 * "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lowercase, into @out. */
void hk_vhd_guid_to_string(const uint8_t g[16], char out[37]);

/* True when the 16 bytes are all zero. */
bool hk_vhd_guid_is_zero(const uint8_t g[16]);

/* Decodes @nbytes of UTF-16 (big endian when @big_endian) to a new UTF-8
 * string in *out (caller frees).  Decoding stops at the first U+0000.
 * Returns 0, -1 for malformed input (odd length, unpaired surrogate) or
 * -2 when out of memory; *out is NULL on failure. */
int hk_vhd_utf16_to_utf8(const uint8_t *p, size_t nbytes, bool big_endian, char **out);

/* Normalises a parent path recorded by Windows: backslashes become '/',
 * a leading "./" (from ".\") is dropped.  Returns a new string (caller
 * frees) or NULL when out of memory. */
char *hk_vhd_winpath_normalize(const char *s);

/* True for a path that is absolute on Windows or POSIX after normalisation:
 * "C:/...", "//server/...", "/...". */
bool hk_vhd_path_is_absolute(const char *s);

/* Pointer to the last component of a normalised path (inside @s). */
const char *hk_vhd_path_basename(const char *s);

/* Decodes a "file://" URL (optional "localhost" host, %XX escapes) to a new
 * POSIX path (caller frees).  NULL for other URLs, NUL escapes or no memory. */
char *hk_vhd_file_url_to_path(const char *url);

/* Picks the parent file of a differencing VHD/VHDX from the paths it records
 * (@hints, normalised, NULL entries skipped, best first): a relative hint is
 * taken against @child_dir; an absolute Windows path ("C:/x/y.vhd") becomes its
 * base name in @child_dir; an absolute POSIX path is tried as is, then by its
 * base name in @child_dir.  Returns the first candidate that exists, else the
 * first candidate at all, as a new absolute path (caller frees); NULL when
 * there is no hint or no memory. */
char *hk_vhd_resolve_parent(const char *child_dir, const char *const *hints, size_t n_hints);

#endif
