/* The boot test's libvirt domain XML (a pure function of the plan). */
#include <stdlib.h>
#include <string.h>

#include "libvirt_xml.h"

/* libvirt's name for a qemu NIC model. */
static const char *
nic_model(const char *qemu_model)
{
    if (strcmp(qemu_model, "virtio-net-pci") == 0 || strcmp(qemu_model, "virtio-net") == 0)
        return "virtio";
    return qemu_model;
}

int
hk_libvirt_xml(h2k_ctx *ctx, const hk_libvirt_plan *p, char **out)
{
    *out = NULL;
    if (!p || !p->name || !p->type || !hk_boot_vm_complete(&p->vm) || !hk_boot_bus_ok(p->vm.bus))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "domain XML: incomplete plan");
    const char *dev = p->vm.bus == H2K_BUS_VIRTIO ? "vda"
                      : p->vm.bus == H2K_BUS_IDE  ? "hda"
                                                  : "sda";
    bool kvm = strcmp(p->type, "kvm") == 0;
    hk_buf b = {0};
    hk_buf_printf(&b, "<domain type='%s'>\n  <name>", kvm ? "kvm" : "qemu");
    hk_buf_xml_escape(&b, p->name);
    hk_buf_printf(&b, "</name>\n  <memory unit='MiB'>%u</memory>\n  <vcpu>%u</vcpu>\n",
                  p->vm.memory_mib, p->vm.vcpus);
    hk_buf_puts(&b, "  <os>\n    <type arch='x86_64' machine='");
    hk_buf_xml_escape(&b, p->vm.machine);
    hk_buf_puts(&b, "'>hvm</type>\n");
    if (p->vm.ovmf_code) {
        hk_buf_puts(&b, "    <loader readonly='yes' type='pflash'>");
        hk_buf_xml_escape(&b, p->vm.ovmf_code);
        hk_buf_puts(&b, "</loader>\n    <nvram>");
        hk_buf_xml_escape(&b, p->vm.ovmf_vars);
        hk_buf_puts(&b, "</nvram>\n");
    }
    hk_buf_puts(&b, "    <boot dev='hd'/>\n  </os>\n");
    hk_buf_puts(&b, "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n");
    if (kvm)
        hk_buf_puts(&b, "  <cpu mode='host-passthrough'/>\n");
    else
        hk_boot_tcg_cpu_xml(&b, p->vm.cpu_level);
    hk_buf_puts(&b, "  <clock offset='utc'/>\n"
                    "  <on_poweroff>destroy</on_poweroff>\n"
                    "  <on_reboot>destroy</on_reboot>\n"
                    "  <on_crash>destroy</on_crash>\n");
    hk_buf_puts(&b, "  <devices>\n");
    if (p->vm.bus == H2K_BUS_SCSI)
        hk_buf_puts(&b, "    <controller type='scsi' index='0' model='virtio-scsi'/>\n");
    hk_buf_puts(&b, "    <disk type='file' device='disk'>\n      <driver name='qemu' type='");
    hk_buf_xml_escape(&b, p->vm.disk_format);
    hk_buf_puts(&b, "' cache='unsafe'/>\n      <source file='");
    hk_buf_xml_escape(&b, p->vm.disk);
    hk_buf_printf(&b, "'/>\n      <target dev='%s' bus='%s'/>\n    </disk>\n", dev,
                  h2k_bus_name(p->vm.bus));
    if (p->vm.nic_model) {
        hk_buf_puts(&b, "    <interface type='user'>\n");
        if (p->vm.mac) {
            hk_buf_puts(&b, "      <mac address='");
            hk_buf_xml_escape(&b, p->vm.mac);
            hk_buf_puts(&b, "'/>\n");
        }
        hk_buf_puts(&b, "      <model type='");
        hk_buf_xml_escape(&b, nic_model(p->vm.nic_model));
        hk_buf_puts(&b, "'/>\n    </interface>\n");
    }
    hk_buf_puts(&b, "    <serial type='file'>\n      <source path='");
    hk_buf_xml_escape(&b, p->vm.console_log);
    hk_buf_puts(&b, "' append='off'/>\n      <target port='0'/>\n    </serial>\n");
    hk_buf_puts(&b, "    <video>\n      <model type='vga'/>\n    </video>\n");
    /* entropy from the host, as in the domain XML the migration writes */
    hk_buf_puts(&b, "    <rng model='virtio'>\n"
                    "      <backend model='random'>/dev/urandom</backend>\n    </rng>\n");
    hk_buf_puts(&b, "    <memballoon model='none'/>\n  </devices>\n");
    if (p->run_as_uid >= 0 && p->run_as_gid >= 0)
        hk_buf_printf(&b,
                      "  <seclabel type='static' model='dac' relabel='no'>\n"
                      "    <label>+%ld:+%ld</label>\n  </seclabel>\n",
                      p->run_as_uid, p->run_as_gid);
    hk_buf_puts(&b, "</domain>\n");
    char *s = hk_buf_steal(&b);
    if (!s)
        return hk_error_nomem(ctx);
    *out = s;
    return 0;
}
