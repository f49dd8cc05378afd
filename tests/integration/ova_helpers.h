/*
 * Small OVAs for the concurrency, manifest, crash and signal tests: a raw
 * image of seeded pseudo-random data, turned into a streamOptimized VMDK by
 * qemu-img, packed with a minimal OVF (and optionally a manifest) by tar.
 */
#ifndef H2K_TEST_OVA_HELPERS_H
#define H2K_TEST_OVA_HELPERS_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testsupport.h"

/* Writes @mib MiB of data drawn from @seed (xorshift) to @path. */
static inline void
oh_write_random(const char *path, unsigned mib, uint64_t seed)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    uint64_t *buf = malloc(1u << 20);
    assert_non_null(buf);
    for (unsigned m = 0; m < mib; m++) {
        for (size_t i = 0; i < (1u << 20) / 8; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = x;
        }
        assert_int_equal(fwrite(buf, 1, 1u << 20, f), 1u << 20);
    }
    free(buf);
    assert_int_equal(fclose(f), 0);
}

/* Hex digest (@algo "SHA1" or "SHA256") of the file @path; caller frees. */
static inline char *
oh_file_digest(const char *algo, const char *path)
{
    size_t len = 0;
    char *data = ts_read_file(path, &len);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    assert_int_equal(EVP_Digest(data, len, d, &dl,
                                strcmp(algo, "SHA1") == 0 ? EVP_sha1() : EVP_sha256(), NULL),
                     1);
    free(data);
    char *hex = calloc(1, 2 * dl + 1);
    for (unsigned i = 0; i < dl; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return hex;
}

enum oh_mf {
    OH_MF_NONE,
    OH_MF_GOOD,
    OH_MF_BAD_DISK,
    OH_MF_SHA1_GOOD
};

/* Makes DIR/NAME.ova holding NAME.ovf, disk.vmdk (streamOptimized, @mib MiB of
 * data from @seed) and, per @mf, NAME.mf.  The raw original is kept as
 * DIR/NAME.raw (for qemu-img compare).  Returns the OVA's path (caller frees). */
static inline char *oh_make_ova_fmt(const char *dir, const char *name, unsigned mib, uint64_t seed,
                                    enum oh_mf mf, bool raw_member);

static inline char *
oh_make_ova(const char *dir, const char *name, unsigned mib, uint64_t seed, enum oh_mf mf)
{
    return oh_make_ova_fmt(dir, name, mib, seed, mf, false);
}

/* Same; with @raw_member the disk is the raw image itself, member "disk.img"
 * (quick to make and to copy: for tests that must catch a copy). */
static inline char *
oh_make_ova_fmt(const char *dir, const char *name, unsigned mib, uint64_t seed, enum oh_mf mf,
                bool raw_member)
{
    char *pkg = hk_asprintf("%s/%s.pkg", dir, name);
    assert_int_equal(mkdir(pkg, 0755), 0);
    char *raw = hk_asprintf("%s/%s.raw", dir, name);
    oh_write_random(raw, mib, seed);
    const char *member = raw_member ? "disk.img" : "disk.vmdk";
    char *vmdk = ts_join(pkg, member);
    const char *conv[] = {"qemu-img", "convert", "-q",
                          "-f",       "raw",     "-O",
                          "vmdk",     "-o",      "subformat=streamOptimized",
                          raw,        vmdk,      NULL};
    const char *cp[] = {"cp", raw, vmdk, NULL};
    ts_run_ok(raw_member ? cp : conv);
    char *ovf = hk_asprintf(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
        "CIM_ResourceAllocationSettingData\">\n"
        "  <References><File ovf:href=\"%s\" ovf:id=\"f1\"/></References>\n"
        "  <DiskSection><Info>disks</Info>\n"
        "    <Disk ovf:capacity=\"%u\" ovf:capacityAllocationUnits=\"byte * 2^20\" "
        "ovf:diskId=\"d1\" ovf:fileRef=\"f1\"%s/>\n"
        "  </DiskSection>\n"
        "  <VirtualSystem ovf:id=\"%s\"><Info>A VM</Info><Name>%s</Name>\n"
        "    <VirtualHardwareSection><Info>hw</Info>\n"
        "      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>"
        "<rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType>"
        "<rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>\n"
        "      <Item><rasd:HostResource>ovf:/disk/d1</rasd:HostResource>"
        "<rasd:InstanceID>9</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType>"
        "</Item>\n"
        "    </VirtualHardwareSection>\n"
        "  </VirtualSystem>\n"
        "</Envelope>\n",
        member, mib,
        raw_member ? ""
                   : " ovf:format=\"http://www.vmware.com/interfaces/specifications/"
                     "vmdk.html#streamOptimized\"",
        name, name);
    char *ovf_name = hk_asprintf("%s.ovf", name);
    char *ovf_path = ts_join(pkg, ovf_name);
    ts_write_file(ovf_path, ovf, strlen(ovf));
    char *mf_name = hk_asprintf("%s.mf", name);
    if (mf != OH_MF_NONE) {
        const char *algo = mf == OH_MF_SHA1_GOOD ? "SHA1" : "SHA256";
        char *d_ovf = oh_file_digest(algo, ovf_path);
        char *d_disk = oh_file_digest(algo, vmdk);
        if (mf == OH_MF_BAD_DISK)
            d_disk[0] = d_disk[0] == '0' ? '1' : '0';
        char *text = hk_asprintf("%s(%s)= %s\n%s(%s)= %s\n", algo, ovf_name, d_ovf, algo, member,
                                 d_disk);
        char *mf_path = ts_join(pkg, mf_name);
        ts_write_file(mf_path, text, strlen(text));
        free(mf_path);
        free(text);
        free(d_ovf);
        free(d_disk);
    }
    char *ova = hk_asprintf("%s/%s.ova", dir, name);
    const char *tar[] = {"tar",
                         "--format=ustar",
                         "-C",
                         pkg,
                         "-cf",
                         ova,
                         ovf_name,
                         member,
                         mf != OH_MF_NONE ? mf_name : NULL,
                         NULL};
    ts_run_ok(tar);
    ts_rmtree(pkg);
    free(mf_name);
    free(ovf_path);
    free(ovf_name);
    free(ovf);
    free(vmdk);
    free(raw);
    free(pkg);
    return ova;
}

/* qemu-img compare of an output with the raw original DIR/NAME.raw. */
static inline void
oh_compare(const char *dir, const char *name, const char *output, const char *fmt)
{
    char *raw = hk_asprintf("%s/%s.raw", dir, name);
    ts_qemu_img_compare(raw, "raw", output, fmt);
    free(raw);
}

#endif
