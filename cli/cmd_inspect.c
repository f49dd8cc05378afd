/* hyper2kvm inspect: identify the guest operating system of disk images or a directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static void
print_identity(const h2k_guest_identity *id)
{
    printf("type:            %s\n", h2k_guest_type_name(id->type));
    printf("os:              %s %s\n", id->os_id ? id->os_id : "-",
           id->os_version ? id->os_version : "");
    printf("product:         %s\n", id->os_pretty ? id->os_pretty : "-");
    printf("family:          %s\n", id->distro_family ? id->distro_family : "-");
    printf("architecture:    %s\n", id->architecture ? id->architecture : "-");
    printf("firmware:        %s\n", h2k_firmware_name(id->firmware));
    printf("init system:     %s\n", id->init_system ? id->init_system : "-");
    printf("package manager: %s\n", id->package_manager ? id->package_manager : "-");
    printf("hostname:        %s\n", id->hostname ? id->hostname : "-");
    printf("root device:     %s\n", id->root_device ? id->root_device : "-");
    for (size_t i = 0; i < id->n_mounts; i++)
        printf("mount:           %s on %s\n", id->mounts[i].device, id->mounts[i].mountpoint);
    for (size_t i = 0; i < id->n_kernels; i++) {
        const h2k_guest_kernel *k = &id->kernels[i];
        printf("kernel:          %s (virtio blk %s, net %s; initrd %s%s)\n", k->version,
               k->has_virtio_blk ? "yes" : "no", k->has_virtio_net ? "yes" : "no",
               k->initrd_path ? k->initrd_path : "missing",
               k->initrd_has_virtio < 0   ? ""
               : k->initrd_has_virtio ? ", with virtio"
                                      : ", WITHOUT virtio");
    }
    printf("vmware tools:    %s\n", id->vmware_tools ? "installed" : "no");
    printf("selinux:         %s\n", id->selinux ? id->selinux : "-");
    printf("network config:  %s\n", id->network_config ? id->network_config : "-");
}

int
cmd_inspect(cli_env *env, int argc, char **argv)
{
    const char **disks = calloc((size_t)argc, sizeof(char *));
    size_t n = 0;
    int rc = CLI_EXIT_OK;
    if (!disks)
        return cli_exit_code(H2K_ERR_NO_MEMORY);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            env->json = true;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: hyper2kvm inspect IMAGE [IMAGE...] | DIR [--json]\n");
            free(disks);
            return CLI_EXIT_USAGE;
        } else
            disks[n++] = argv[i];
    }
    if (n == 0) {
        fprintf(stderr, "usage: hyper2kvm inspect IMAGE [IMAGE...] | DIR [--json]\n");
        free(disks);
        return CLI_EXIT_USAGE;
    }
    cli_setup_output(env);
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
        print_identity(id);
    }
    h2k_guest_identity_free(id);
    h2k_guest_detector_free(det);
    free(disks);
    return rc;
}
