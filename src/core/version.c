/* Library version. */
#include "internal.h"
#include "version_config.h"

const char *
h2k_version(void)
{
    return H2K_VERSION_STRING;
}

void
h2k_version_numbers(int *major, int *minor, int *patch)
{
    if (major)
        *major = H2K_VERSION_MAJOR;
    if (minor)
        *minor = H2K_VERSION_MINOR;
    if (patch)
        *patch = H2K_VERSION_PATCH;
}
