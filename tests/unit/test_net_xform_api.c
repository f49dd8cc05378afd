/*
 * Unit tests of the network transforms beyond the golden files: the .link and
 * udev pins, policy checks, CRLF, whole-word renaming, swaps, file renames,
 * argument checks and the scanner on every format.
 */
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "fix/net_xform.h"

static const hk_nic_rename two_nics[] = {
    {"ens192", "enp1s0", "52:54:00:00:00:01"},
    {"ens224", NULL, "52:54:00:00:00:02"},
};

static void
test_link_files_keep_mac(void **state)
{
    (void)state;
    hk_net_policy p = {two_nics, 2, true};
    hk_net_link *links = NULL;
    size_t n = 0;
    assert_int_equal(hk_net_link_files(&p, &links, &n), 0);
    assert_int_equal(n, 2);
    /* keep_mac: the OLD names are pinned */
    assert_string_equal(links[0].name, "ens192");
    assert_string_equal(links[0].mac, "52:54:00:00:00:01");
    assert_string_equal(links[0].file_name, "10-hyper2kvm-ens192.link");
    assert_string_equal(links[0].link_text,
                        "# Written by hyper2kvm: the NIC with MAC 52:54:00:00:00:01 keeps the "
                        "name ens192\n"
                        "# after the migration to KVM, so the network configs of the guest still "
                        "apply.\n"
                        "[Match]\n"
                        "MACAddress=52:54:00:00:00:01\n"
                        "\n"
                        "[Link]\n"
                        "Name=ens192\n");
    assert_string_equal(links[0].udev_rule,
                        "SUBSYSTEM==\"net\", ACTION==\"add\", "
                        "ATTR{address}==\"52:54:00:00:00:01\", NAME=\"ens192\"\n");
    assert_string_equal(links[1].name, "ens224");
    assert_string_equal(links[1].file_name, "10-hyper2kvm-ens224.link");
    hk_net_links_free(links, n);

    char *rules = hk_net_udev_rules(&p);
    assert_non_null(rules);
    assert_string_equal(
        rules, "# Written by hyper2kvm: every NIC keeps its interface name after the\n"
               "# migration to KVM (matched by MAC), so the network configs still "
               "apply.\n"
               "SUBSYSTEM==\"net\", ACTION==\"add\", ATTR{address}==\"52:54:00:00:00:01\", "
               "NAME=\"ens192\"\n"
               "SUBSYSTEM==\"net\", ACTION==\"add\", ATTR{address}==\"52:54:00:00:00:02\", "
               "NAME=\"ens224\"\n");
    /* the generated rules survive the udev transform */
    hk_xform_out out = {0};
    assert_int_equal(hk_net_xform_udev(rules, &p, &out), 0);
    assert_null(out.text);
    assert_int_equal(out.n_notes, 0);
    free(rules);
}

static void
test_link_files_new_mac(void **state)
{
    (void)state;
    const hk_nic_rename nics[] = {
        {"ens192", "enp1s0", "52:54:00:00:00:01"},
        {NULL, NULL, "52:54:00:00:00:09"}, /* no name: skipped */
        {"ens256", "enp3s0", NULL},        /* no MAC: skipped */
    };
    hk_net_policy p = {nics, 3, false};
    hk_net_link *links = NULL;
    size_t n = 0;
    assert_int_equal(hk_net_link_files(&p, &links, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(links[0].name, "enp1s0"); /* new MACs: the NEW name */
    assert_string_equal(links[0].file_name, "10-hyper2kvm-enp1s0.link");
    assert_non_null(strstr(links[0].link_text, "\n[Link]\nName=enp1s0\n"));
    hk_net_links_free(links, n);

    hk_net_policy none = {NULL, 0, true};
    assert_int_equal(hk_net_link_files(&none, &links, &n), 0);
    assert_null(links);
    assert_int_equal(n, 0);
    assert_null(hk_net_udev_rules(&none));
}

static void
test_policy_check(void **state)
{
    (void)state;
    hk_net_policy ok = {two_nics, 2, false};
    assert_int_equal(hk_net_policy_check(&ok), 0);
    const hk_nic_rename bad[][1] = {
        {{"", NULL, NULL}},
        {{"averyveryverylongname", NULL, NULL}}, /* > 15 bytes */
        {{"eth0", "a/b", NULL}},
        {{"eth0", "eth 1", NULL}},
        {{"eth0", "eth0:1", NULL}},
        {{"eth0", "..", NULL}},
        {{"eth0", NULL, "00:50:56:AA:BB:CC"}}, /* upper case */
        {{"eth0", NULL, "00-50-56-aa-bb-cc"}},
        {{"eth0", NULL, "00:50:56:aa:bb"}},
        {{"eth0", NULL, "00:50:56:aa:bb:cg"}},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(bad); i++) {
        hk_net_policy p = {bad[i], 1, false};
        assert_int_equal(hk_net_policy_check(&p), H2K_ERR_INVALID_ARG);
        hk_xform_out out = {0};
        assert_int_equal(hk_net_xform_ifcfg("DEVICE=eth0\n", &p, &out), H2K_ERR_INVALID_ARG);
        assert_null(out.text);
        assert_int_equal(out.n_notes, 0);
    }
    const hk_nic_rename dup[] = {{"eth0", "a", NULL}, {"eth0", "b", NULL}};
    hk_net_policy pd = {dup, 2, false};
    assert_int_equal(hk_net_policy_check(&pd), H2K_ERR_INVALID_ARG);
    hk_net_policy pn = {NULL, 1, false};
    assert_int_equal(hk_net_policy_check(&pn), H2K_ERR_INVALID_ARG);
    assert_int_equal(hk_net_policy_check(NULL), H2K_ERR_INVALID_ARG);
}

static void
test_bad_arguments(void **state)
{
    (void)state;
    hk_net_policy p = {two_nics, 2, false};
    hk_xform_out out = {0};
    for (int f = 0; f < HK_NET_FMT_COUNT; f++) {
        assert_int_equal(hk_net_xform((hk_net_fmt)f, NULL, &p, &out), H2K_ERR_INVALID_ARG);
        assert_int_equal(hk_net_xform((hk_net_fmt)f, "x\n", NULL, &out), H2K_ERR_INVALID_ARG);
        assert_int_equal(hk_net_xform((hk_net_fmt)f, "x\n", &p, NULL), H2K_ERR_INVALID_ARG);
        /* empty input: no change */
        assert_int_equal(hk_net_xform((hk_net_fmt)f, "", &p, &out), 0);
        assert_null(out.text);
        hk_xform_out_clear(&out);
    }
    assert_int_equal(hk_net_xform(HK_NET_FMT_COUNT, "x", &p, &out), H2K_ERR_INVALID_ARG);
    assert_int_equal(hk_net_xform((hk_net_fmt)-1, "x", &p, &out), H2K_ERR_INVALID_ARG);
    hk_net_ref *refs = NULL;
    size_t n = 0;
    assert_int_equal(hk_net_scan(HK_NET_FMT_COUNT, "x", &refs, &n), H2K_ERR_INVALID_ARG);
    assert_int_equal(hk_net_scan(HK_NET_IFCFG, NULL, &refs, &n), H2K_ERR_INVALID_ARG);
    assert_int_equal(hk_net_link_files(NULL, NULL, NULL), H2K_ERR_INVALID_ARG);
    assert_null(hk_net_file_rename(NULL, &p));
    assert_null(hk_net_file_rename("ifcfg-ens192", NULL));
    assert_null(hk_net_fmt_name(HK_NET_FMT_COUNT));
    assert_int_equal(hk_net_fmt_from_name("netplan"), HK_NET_NETPLAN);
    assert_int_equal(hk_net_fmt_from_name("yaml"), -1);
    assert_int_equal(hk_net_fmt_from_name(NULL), -1);
}

static void
test_crlf_preserved(void **state)
{
    (void)state;
    hk_net_policy p = {two_nics, 2, false};
    hk_xform_out out = {0};
    const char *in = "DEVICE=ens192\r\nHWADDR=00:50:56:aa:bb:cc\r\nONBOOT=yes\r\nIPADDR=10.0.0.2";
    assert_int_equal(hk_net_xform_ifcfg(in, &p, &out), 0);
    assert_non_null(out.text);
    assert_string_equal(out.text, "DEVICE=enp1s0\r\nONBOOT=yes\r\nIPADDR=10.0.0.2");
    assert_int_equal(out.n_notes, 3);
    hk_xform_out_clear(&out);

    in = "[Match]\r\nDriver=vmxnet3\r\n\r\n[Network]\r\nDHCP=yes\r\n";
    hk_net_policy one = {two_nics, 1, true};
    assert_int_equal(hk_net_xform_networkd(in, &one, &out), 0);
    assert_string_equal(out.text,
                        "[Match]\r\nMACAddress=52:54:00:00:00:01\r\n\r\n[Network]\r\nDHCP=yes\r\n");
    hk_xform_out_clear(&out);

    in = "network:\r\n  ethernets:\r\n    ens192:\r\n      macaddress: 00:50:56:aa:bb:cc\r\n"
         "      dhcp4: true\r\n";
    assert_int_equal(hk_net_xform_netplan(in, &p, &out), 0);
    assert_string_equal(out.text,
                        "network:\r\n  ethernets:\r\n    enp1s0:\r\n      dhcp4: true\r\n");
    hk_xform_out_clear(&out);
}

static void
test_whole_word(void **state)
{
    (void)state;
    const hk_nic_rename nics[] = {{"eth1", "enp2s0", "52:54:00:00:00:02"}};
    hk_net_policy p = {nics, 1, false};
    hk_xform_out out = {0};
    const char *in = "auto eth1 eth10 eth1.5 eth1:0 xeth1 eth1-bak neteth1\n"
                     "    up /sbin/ifup-eth1 /dev/eth1 eth1/x seth1,eth1\n";
    assert_int_equal(hk_net_xform_ifupdown(in, &p, &out), 0);
    assert_string_equal(out.text, "auto enp2s0 eth10 enp2s0.5 enp2s0:0 xeth1 eth1-bak neteth1\n"
                                  "    up /sbin/ifup-enp2s0 /dev/eth1 eth1/x seth1,enp2s0\n");
    hk_xform_out_clear(&out);
    /* keep_mac: nothing is renamed even with a new name given */
    p.keep_mac = true;
    assert_int_equal(hk_net_xform_ifupdown(in, &p, &out), 0);
    assert_null(out.text);
    assert_int_equal(out.n_notes, 0);
}

static void
test_swap_one_pass(void **state)
{
    (void)state;
    const hk_nic_rename nics[] = {{"eth0", "eth1", NULL}, {"eth1", "eth0", NULL}};
    hk_net_policy p = {nics, 2, false};
    hk_xform_out out = {0};
    assert_int_equal(hk_net_xform_ifupdown("auto eth0 eth1\n", &p, &out), 0);
    assert_string_equal(out.text, "auto eth1 eth0\n");
    hk_xform_out_clear(&out);
}

static void
test_file_rename(void **state)
{
    (void)state;
    hk_net_policy p = {two_nics, 2, false};
    struct {
        const char *in, *out;
    } cases[] = {
        {"ifcfg-ens192", "ifcfg-enp1s0"},
        {"ifcfg-ens192.100", "ifcfg-enp1s0.100"},
        {"ifcfg-ens192:1", NULL},
        {"route6-ens192", "route6-enp1s0"},
        {"rule-ens192", "rule-enp1s0"},
        {"ifcfg-ens1920", NULL},
        {"ifcfg-ens224", NULL}, /* not renamed */
        {"ens192.nmconnection", "enp1s0.nmconnection"},
        {"ens192.100.nmconnection", NULL},
        {"ens192", NULL},
        {"ifcfg-", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(cases); i++) {
        char *got = hk_net_file_rename(cases[i].in, &p);
        if (cases[i].out) {
            assert_non_null(got);
            assert_string_equal(got, cases[i].out);
        } else {
            if (got)
                fail_msg("%s renamed to %s", cases[i].in, got);
        }
        free(got);
    }
    p.keep_mac = true;
    assert_null(hk_net_file_rename("ifcfg-ens192", &p));
}

static void
test_notes_exact(void **state)
{
    (void)state;
    hk_net_policy p = {two_nics, 2, false};
    hk_xform_out out = {0};
    assert_int_equal(hk_net_xform_ifcfg("DEVICE=ens192\nHWADDR=00:50:56:aa:bb:cc\n", &p, &out), 0);
    assert_int_equal(out.n_notes, 3);
    assert_string_equal(out.notes[0],
                        "line 1: the file follows the device: ifcfg-ens192 -> ifcfg-enp1s0");
    assert_string_equal(out.notes[1], "line 1: DEVICE: 'DEVICE=ens192' -> 'DEVICE=enp1s0'");
    assert_string_equal(out.notes[2], "line 2: dropped MAC pin 'HWADDR=00:50:56:aa:bb:cc' (the VM "
                                      "gets a new MAC)");
    hk_xform_out_clear(&out);
    /* a pin on the NEW MAC is kept */
    assert_int_equal(hk_net_xform_ifcfg("HWADDR=52:54:00:00:00:02\n", &p, &out), 0);
    assert_null(out.text);
    hk_xform_out_clear(&out);
}

static void
scan_one(hk_net_fmt fmt, const char *text, const char *expect)
{
    hk_net_ref *refs = NULL;
    size_t n = 0;
    assert_int_equal(hk_net_scan(fmt, text, &refs, &n), 0);
    hk_buf b = {0};
    for (size_t i = 0; i < n; i++)
        hk_buf_printf(&b, "%s %s;", refs[i].name ? refs[i].name : "-",
                      refs[i].mac ? refs[i].mac : "-");
    char *s = hk_buf_steal(&b);
    if (strcmp(s, expect) != 0)
        fail_msg("%s: scan '%s', want '%s'", hk_net_fmt_name(fmt), s, expect);
    free(s);
    hk_net_refs_free(refs, n);
}

static void
test_scan(void **state)
{
    (void)state;
    scan_one(HK_NET_IFCFG, "DEVICE=eth0\nHWADDR=00:50:56:AA:BB:CC\n", "eth0 00:50:56:aa:bb:cc;");
    scan_one(HK_NET_IFCFG, "# nothing\n", "");
    scan_one(HK_NET_UDEV,
             "SUBSYSTEM==\"net\", ATTR{address}==\"00:0C:29:00:00:01\", NAME=\"eth0\"\n"
             "SUBSYSTEM==\"block\", NAME=\"x\"\n"
             "SUBSYSTEM==\"net\", ATTR{address}==\"00:0c:29:00:00:01\", NAME=\"eth0\"\n",
             "eth0 00:0c:29:00:00:01;");
    scan_one(HK_NET_NM,
             "[connection]\ninterface-name=ens33\n[ethernet]\nmac-address=00:0c:29:01:02:03\n",
             "ens33 00:0c:29:01:02:03;");
    scan_one(HK_NET_NETWORKD, "[Match]\nName=en* ens192 ens224\n", "ens192 -;ens224 -;");
    scan_one(HK_NET_NETPLAN,
             "network:\n  ethernets:\n    id0:\n      match:\n        name: en*\n"
             "    eth0:\n      dhcp4: true\n",
             "eth0 -;");
    scan_one(HK_NET_WICKED, "<interfaces><interface><name>eth3</name></interface></interfaces>",
             "eth3 -;");
    scan_one(HK_NET_IFUPDOWN, "auto lo eth0\niface eth0 inet dhcp\n  hwaddress 00:0c:29:01:02:03\n",
             "eth0 00:0c:29:01:02:03;");
}

static void
test_big_input(void **state)
{
    (void)state;
    /* many lines: linear behaviour and exact output */
    hk_buf b = {0};
    for (int i = 0; i < 20000; i++)
        hk_buf_puts(&b, "auto ens192\n");
    hk_net_policy p = {two_nics, 2, false};
    hk_xform_out out = {0};
    assert_int_equal(hk_net_xform_ifupdown(b.data, &p, &out), 0);
    assert_int_equal(out.n_notes, HK_NET_MAX_NOTES + 1);
    assert_string_equal(out.notes[HK_NET_MAX_NOTES], "... and 19800 more changes");
    assert_int_equal(strlen(out.text), 20000 * strlen("auto enp1s0\n"));
    hk_xform_out_clear(&out);
    hk_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_files_keep_mac), cmocka_unit_test(test_link_files_new_mac),
        cmocka_unit_test(test_policy_check),        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_crlf_preserved),      cmocka_unit_test(test_whole_word),
        cmocka_unit_test(test_swap_one_pass),       cmocka_unit_test(test_file_rename),
        cmocka_unit_test(test_notes_exact),         cmocka_unit_test(test_scan),
        cmocka_unit_test(test_big_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
