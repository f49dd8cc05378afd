/*
 * Golden tests of the Azure guest transforms (src/fix/azure_xform.c):
 * cloud-init's datasource_list without Azure, fstab without the resource disk;
 * each idempotent.
 */
#include <stdlib.h>
#include <string.h>

#include "fix/azure_xform.h"
#include "testsupport.h"

typedef int (*xf_fn)(const char *, hk_xform_out *);

/* Applies @xf to @in: expects @want (NULL: unchanged) and @notes notes, then
 * that the output is a fixed point. */
static void
check(xf_fn xf, const char *in, const char *want, size_t notes)
{
    hk_xform_out o;
    assert_int_equal(xf(in, &o), 0);
    if (!want) {
        assert_null(o.text);
        assert_int_equal(o.n_notes, 0);
        return;
    }
    assert_non_null(o.text);
    assert_string_equal(o.text, want);
    assert_int_equal(o.n_notes, notes);
    hk_xform_out again;
    assert_int_equal(xf(o.text, &again), 0);
    assert_null(again.text);
    hk_xform_out_clear(&again);
    hk_xform_out_clear(&o);
}

static void
test_flow_lists(void **state)
{
    (void)state;
    /* Ubuntu's Azure images: 90_dpkg.cfg */
    check(hk_xform_cloudinit_azure,
          "# to update this file, run dpkg-reconfigure cloud-init\n"
          "datasource_list: [ Azure ]\n",
          "# to update this file, run dpkg-reconfigure cloud-init\n"
          "datasource_list: [ NoCloud, None ]\n",
          1);
    check(hk_xform_cloudinit_azure, "datasource_list: [\"Azure\", NoCloud, None] # mine\n",
          "datasource_list: [ NoCloud, None ] # mine\n", 1);
    check(hk_xform_cloudinit_azure, "datasource_list: [ NoCloud, 'azure', ConfigDrive ]",
          "datasource_list: [ NoCloud, ConfigDrive ]\n", 1);
    /* nothing of Azure: unchanged, also in nested keys and comments */
    check(hk_xform_cloudinit_azure, "datasource_list: [ NoCloud, None ]\n", NULL, 0);
    check(hk_xform_cloudinit_azure,
          "# datasource_list: [ Azure ]\n"
          "datasource:\n  Azure:\n    apply_network_config: true\n"
          "reporting:\n  logging:\n    type: log\n  telemetry:\n    type: hyperv\n",
          NULL, 0);
    check(hk_xform_cloudinit_azure, "", NULL, 0);
}

static void
test_block_lists(void **state)
{
    (void)state;
    check(hk_xform_cloudinit_azure,
          "system_info:\n  default_user: {name: azureuser}\n"
          "datasource_list:\n  - Azure\n\n"
          "datasource:\n  Azure:\n    agent_command: __builtin__\n",
          "system_info:\n  default_user: {name: azureuser}\n"
          "datasource_list:\n\n  - NoCloud\n  - None\n"
          "datasource:\n  Azure:\n    agent_command: __builtin__\n",
          1);
    check(hk_xform_cloudinit_azure, "datasource_list:\n- Azure # cloud\n- None\n",
          "datasource_list:\n- None\n", 1);
    check(hk_xform_cloudinit_azure, "datasource_list:\n  - Azure",
          "datasource_list:\n  - NoCloud\n  - None\n", 1);
    check(hk_xform_cloudinit_azure, "datasource_list:\n  - OpenStack\n  - None\n", NULL, 0);
}

static void
test_fstab(void **state)
{
    (void)state;
    check(hk_xform_fstab_azure,
          "UUID=1234 / ext4 defaults 0 1\n"
          "/dev/disk/cloud/azure_resource-part1\t/mnt\tauto\tdefaults,nofail,"
          "x-systemd.requires=cloud-init.service,_netdev,comment=cloudconfig\t0\t2\n",
          "UUID=1234 / ext4 defaults 0 1\n"
          "# /dev/disk/cloud/azure_resource-part1\t/mnt\tauto\tdefaults,nofail,"
          "x-systemd.requires=cloud-init.service,_netdev,comment=cloudconfig\t0\t2\n",
          1);
    check(hk_xform_fstab_azure, "UUID=1234 / ext4 defaults 0 1\n/dev/sdb1 /mnt auto nofail 0 2\n",
          NULL, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_lists),
        cmocka_unit_test(test_block_lists),
        cmocka_unit_test(test_fstab),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
