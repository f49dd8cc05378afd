/* hyper2kvm inspect: identify the guest operating system of disk images or a directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static void
print_identity(cli_env *env, const h2k_guest_identity *id)
{
    printf("type:            %s\n", h2k_guest_type_name(id->type));
    printf("os:              %s %s\n", cli_safe(env, id->os_id),
           id->os_version ? cli_safe(env, id->os_version) : "");
    printf("product:         %s\n", cli_safe(env, id->os_pretty));
    printf("family:          %s\n", cli_safe(env, id->distro_family));
    printf("architecture:    %s\n", cli_safe(env, id->architecture));
    printf("firmware:        %s\n", h2k_firmware_name(id->firmware));
    printf("init system:     %s\n", cli_safe(env, id->init_system));
    printf("package manager: %s\n", cli_safe(env, id->package_manager));
    printf("hostname:        %s\n", cli_safe(env, id->hostname));
    printf("root device:     %s\n", cli_safe(env, id->root_device));
    for (size_t i = 0; i < id->n_mounts; i++)
        printf("mount:           %s on %s\n", cli_safe(env, id->mounts[i].device),
               cli_safe(env, id->mounts[i].mountpoint));
    for (size_t i = 0; i < id->n_kernels; i++) {
        const h2k_guest_kernel *k = &id->kernels[i];
        printf("kernel:          %s (virtio blk %s, net %s; initrd %s%s)\n",
               cli_safe(env, k->version), k->has_virtio_blk ? "yes" : "no",
               k->has_virtio_net ? "yes" : "no",
               k->initrd_path ? cli_safe(env, k->initrd_path) : "missing",
               k->initrd_has_virtio < 0 ? ""
               : k->initrd_has_virtio   ? ", with virtio"
                                        : ", WITHOUT virtio");
    }
    for (size_t i = 0; id->windows && i < id->windows->n_drives; i++)
        printf("drive:           %s: %s\n", cli_safe(env, id->windows->drive_letters[i]),
               id->windows->drive_devices[i] ? cli_safe(env, id->windows->drive_devices[i])
                                             : "(on no disk of this VM)");
    printf("vmware tools:    %s\n", id->vmware_tools ? "installed" : "no");
    printf("selinux:         %s\n", cli_safe(env, id->selinux));
    printf("network config:  %s\n", cli_safe(env, id->network_config));
}

static int
run_inspect(cli_env *env, const cli_parsed *p)
{
    const char **disks = p->pos;
    size_t n = p->n_pos;
    int rc = CLI_EXIT_OK;
    h2k_guest_detector *det = NULL;
    h2k_guest_identity *id = NULL;
    int r = h2k_guest_detector_new(env->ctx, &det);
    struct stat st;
    if (r == 0 && n == 1 && stat(disks[0], &st) == 0 && S_ISDIR(st.st_mode))
        r = h2k_guest_detect_dir(det, disks[0], &id);
    else if (r == 0)
        r = h2k_guest_detect_image(det, disks, NULL, n, &id);
    if (r < 0) {
        rc = cli_report_error(env, r);
    } else if (env->json) {
        char *j = h2k_guest_identity_to_json(id);
        cli_print_json(j);
        free(j);
    } else {
        print_identity(env, id);
    }
    h2k_guest_identity_free(id);
    h2k_guest_detector_free(det);
    return rc;
}

const cli_command cli_cmd_inspect = {
    "inspect",
    "IMAGE...|DIR",
    "identify the guest operating system of disk images or a folder",
    1,
    -1,
    NULL,
    run_inspect,
};
