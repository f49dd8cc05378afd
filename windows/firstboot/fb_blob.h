/*
 * The first-boot helper executables embedded into libhyper2kvm at build time
 * (windows/firstboot/firstboot.cmake, bin2c.cmake).  Read-only data.
 */
#ifndef HK_FB_BLOB_H
#define HK_FB_BLOB_H

#include <stddef.h>

/* h2kfirstboot.exe for x64 guests (PE32+, x86-64); size 0 when the library was
 * built without mingw-w64. */
extern const unsigned char hk_fb_helper_x64[];
extern const size_t hk_fb_helper_x64_size;
/* h2kfirstboot.exe for x86 guests (PE32, i386); size 0 likewise. */
extern const unsigned char hk_fb_helper_x86[];
extern const size_t hk_fb_helper_x86_size;

#endif
