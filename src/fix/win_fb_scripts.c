/*
 * Windows first boot: strict validators and the step generators (pure text
 * in, text out; see win_firstboot.h).  Nothing of an input's own bytes goes
 * into a script: values are parsed and written back in canonical form.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "fb_runner.h"
#include "win_firstboot.h"

void
hk_win_fb_step_clear(hk_win_fb_step *step)
{
    if (!step)
        return;
    free(step->name);
    free(step->text);
    step->name = NULL;
    step->text = NULL;
}

/* The refused value as it can be shown in a message: printable ASCII, others
 * as \xNN, at most 64 input bytes.  Caller frees. */
static char *
shown(const char *s)
{
    hk_buf b = {0};
    if (!s)
        return strdup("(none)");
    size_t n = 0;
    hk_buf_puts(&b, "\"");
    for (; s[n] && n < 64; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            hk_buf_append(&b, (const char *)&c, 1);
        else
            hk_buf_printf(&b, "\\x%02x", c);
    }
    hk_buf_puts(&b, s[n] ? "\"..." : "\"");
    return hk_buf_steal(&b);
}

static int
refuse(h2k_ctx *ctx, const char *field, const char *value, const char *expected)
{
    char *v = shown(value);
    int rc = hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, field,
                         "Windows first boot: %s is not %s; refused", v ? v : "(value)", expected);
    free(v);
    return rc;
}

int
hk_win_parse_guid(h2k_ctx *ctx, const char *field, const char *s, char out[39])
{
    static const char *const expected = "a product code {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}";
    if (!s)
        return refuse(ctx, field, s, expected);
    size_t len = strlen(s);
    const char *p = s;
    if (len == 38 && s[0] == '{' && s[37] == '}')
        p = s + 1;
    else if (len != 36)
        return refuse(ctx, field, s, expected);
    char *o = out;
    *o++ = '{';
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? p[i] != '-' : hk_hexval(p[i]) < 0)
            return refuse(ctx, field, s, expected);
        *o++ = dash ? '-' : "0123456789ABCDEF"[hk_hexval(p[i])];
    }
    *o++ = '}';
    *o = '\0';
    return 0;
}

int
hk_win_parse_mac(h2k_ctx *ctx, const char *field, const char *s, unsigned char mac[6])
{
    static const char *const expected = "a MAC address (six hex pairs separated by ':' or '-')";
    if (!s || !hk_mac_parse(s, strlen(s), 0, mac))
        return refuse(ctx, field, s, expected);
    return 0;
}

int
hk_win_parse_ip(h2k_ctx *ctx, const char *field, const char *s, char out[46], bool *v6)
{
    unsigned char bin[16];
    if (s && strlen(s) < 46) {
        if (inet_pton(AF_INET, s, bin) == 1 && inet_ntop(AF_INET, bin, out, 46)) {
            *v6 = false;
            return 0;
        }
        if (inet_pton(AF_INET6, s, bin) == 1 && inet_ntop(AF_INET6, bin, out, 46)) {
            *v6 = true;
            return 0;
        }
    }
    return refuse(ctx, field, s, "an IPv4 or IPv6 address");
}

int
hk_win_mask_to_prefix(h2k_ctx *ctx, const char *field, const char *mask, unsigned *prefix)
{
    struct in_addr a;
    if (!mask || inet_pton(AF_INET, mask, &a) != 1)
        return refuse(ctx, field, mask, "an IPv4 subnet mask");
    uint32_t m = ntohl(a.s_addr);
    unsigned n = 0;
    while (n < 32 && (m & (0x80000000u >> n)))
        n++;
    if (n < 32 && (m << n) != 0)
        return refuse(ctx, field, mask, "a contiguous IPv4 subnet mask");
    *prefix = n;
    return 0;
}

bool
hk_win_path_ok(const char *s)
{
    if (!s)
        return false;
    size_t len = strlen(s);
    if (len < 3 || len > 200 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) ||
        s[1] != ':' || s[2] != '\\')
        return false;
    if (len == 3)
        return true;
    const char *comp = s + 3;
    for (const char *p = s + 3;; p++) {
        if (*p == '\\' || *p == '\0') {
            size_t cl = (size_t)(p - comp);
            if (cl == 0 || (cl == 2 && comp[0] == '.' && comp[1] == '.') ||
                (cl == 1 && comp[0] == '.'))
                return false;
            if (*p == '\0')
                return true;
            comp = p + 1;
            continue;
        }
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ' ' || c == '_' || c == '.' || c == '(' || c == ')' || c == '+' || c == '-'))
            return false;
    }
}

/* ------------------------------------------------------------ helpers */

static bool
ps_era(const hk_win_version *os)
{
    /* Windows 8 / Server 2012 (6.2) brought the NetTCPIP and Storage modules */
    return os->major > 6 || (os->major == 6 && os->minor >= 2);
}

static const char *
os_label(const hk_win_version *os, char buf[48])
{
    snprintf(buf, 48, "Windows NT %u.%u build %u %s", os->major, os->minor, os->build,
             os->arch == HK_WIN_ARCH_X86 ? "x86" : "x64");
    return buf;
}

/* Finishes a step: LF -> CRLF, the name from @number and @stem. */
static int
finish(h2k_ctx *ctx, unsigned number, const char *stem, const char *ext, hk_buf *b,
       hk_win_fb_step *out)
{
    if (number > 9999) {
        hk_buf_free(b);
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "Windows first boot: step number %u > 9999",
                        number);
    }
    hk_buf crlf = {0};
    for (size_t i = 0; b->data && i < b->len; i++) {
        if (b->data[i] == '\n')
            hk_buf_append(&crlf, "\r\n", 2);
        else
            hk_buf_append(&crlf, &b->data[i], 1);
    }
    bool oom = b->oom;
    hk_buf_free(b);
    char *text = oom ? NULL : hk_buf_steal(&crlf);
    hk_buf_free(&crlf);
    char *name = hk_asprintf("%04u-%s.%s", number, stem, ext);
    if (!text || !name) {
        free(text);
        free(name);
        return hk_error_nomem(ctx);
    }
    if (hk_fb_step_kind(name) == HK_FB_NOT_A_STEP) { /* our own names always are */
        free(text);
        free(name);
        return hk_error(ctx, H2K_ERR_GENERIC, "Windows first boot: bad step name");
    }
    out->name = name;
    out->text = text;
    return 0;
}

static void
cmd_header(hk_buf *b, const char *what, const hk_win_version *os)
{
    char lbl[48];
    hk_buf_printf(b,
                  "@echo off\n"
                  "rem hyper2kvm first boot: %s\n"
                  "rem generated for %s\n"
                  "setlocal\n",
                  what, os ? os_label(os, lbl) : "any Windows version");
}

static void
ps_header(hk_buf *b, const char *what, const hk_win_version *os)
{
    char lbl[48];
    hk_buf_printf(b,
                  "# hyper2kvm first boot: %s\n"
                  "# generated for %s\n"
                  "$ErrorActionPreference = 'Stop'\n"
                  "$failed = 0\n",
                  what, os_label(os, lbl));
}

/* ------------------------------------------------------------ drivers */

int
hk_win_fb_script_drivers(h2k_ctx *ctx, unsigned number, const hk_win_version *os,
                         const char *driver_dir, hk_win_fb_step *out)
{
    if (!os)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "Windows first boot: no OS version");
    if (!hk_win_path_ok(driver_dir))
        return refuse(ctx, "driver_dir", driver_dir,
                      "a Windows folder path (X:\\ then [A-Za-z0-9 _.()+-] components)");
    hk_buf b = {0};
    cmd_header(&b, "install the drivers copied into the guest with pnputil", os);
    hk_buf_printf(&b, "set \"dir=%s\"\n", driver_dir);
    if (os->major >= 10) {
        hk_buf_puts(&b,
                    "echo installing every driver below \"%dir%\": pnputil /add-driver /subdirs "
                    "/install\n"
                    "\"%SystemRoot%\\System32\\pnputil.exe\" /add-driver \"%dir%\\*.inf\" "
                    "/subdirs /install\n"
                    "set rc=%errorlevel%\n"
                    "echo pnputil exit code %rc%\n"
                    "rem 259: the packages were added but no present device needed them\n"
                    "if \"%rc%\"==\"259\" exit /b 0\n"
                    "exit /b %rc%\n");
    } else {
        hk_buf_puts(&b, "echo installing every driver below \"%dir%\": pnputil -i -a, one .inf at "
                        "a time\n"
                        "set failed=0\n"
                        "for /r \"%dir%\" %%i in (*.inf) do call :add \"%%~fi\"\n"
                        "echo drivers that failed: %failed%\n"
                        "if not \"%failed%\"==\"0\" exit /b 1\n"
                        "exit /b 0\n"
                        "\n"
                        ":add\n"
                        "echo pnputil -i -a %1\n"
                        "\"%SystemRoot%\\System32\\pnputil.exe\" -i -a %1\n"
                        "set rc=%errorlevel%\n"
                        "echo pnputil exit code %rc%\n"
                        "if not \"%rc%\"==\"0\" if not \"%rc%\"==\"3010\" set /a failed+=1\n"
                        "exit /b 0\n");
    }
    return finish(ctx, number, "virtio-drivers", "cmd", &b, out);
}

/* ------------------------------------------------------- VMware Tools */

int
hk_win_fb_script_vmware_tools(h2k_ctx *ctx, unsigned number, const char *product_code,
                              hk_win_fb_step *out)
{
    char code[39];
    int rc = hk_win_parse_guid(ctx, "vmware_tools_code", product_code, code);
    if (rc < 0)
        return rc;
    hk_buf b = {0};
    cmd_header(&b, "uninstall VMware Tools silently", NULL);
    hk_buf_printf(&b,
                  "echo uninstalling VMware Tools, product code %s\n"
                  "start \"\" /wait \"%%SystemRoot%%\\System32\\msiexec.exe\" /x %s /qn "
                  "/norestart\n",
                  code, code);
    hk_buf_puts(&b, "set rc=%errorlevel%\n"
                    "echo msiexec exit code %rc%\n"
                    "rem 1605: this product is not installed (any more): nothing to do\n"
                    "if \"%rc%\"==\"1605\" exit /b 0\n"
                    "rem 3010: uninstalled, a restart completes it (the runner notes it)\n"
                    "exit /b %rc%\n");
    return finish(ctx, number, "vmware-tools-uninstall", "cmd", &b, out);
}

/* ------------------------------------------------------------ network */

typedef struct nic_plan {
    unsigned char mac[6];
    bool dhcp;
    size_t n4, n6;
    char (*addr)[46];
    unsigned *prefix;
    bool *addr_v6;
    char (*gw)[46];
    bool *gw_v6;
    char (*dns)[46];
    bool *dns_v6;
} nic_plan;

static void
nic_plan_free(nic_plan *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) {
        free(p[i].addr);
        free(p[i].prefix);
        free(p[i].addr_v6);
        free(p[i].gw);
        free(p[i].gw_v6);
        free(p[i].dns);
        free(p[i].dns_v6);
    }
    free(p);
}

static int
parse_nic(h2k_ctx *ctx, size_t idx, const hk_win_nic *nic, nic_plan *p)
{
    char field[96];
    snprintf(field, sizeof(field), "nics[%zu].mac", idx);
    int rc = hk_win_parse_mac(ctx, field, nic->mac, p->mac);
    if (rc < 0)
        return rc;
    p->dhcp = nic->dhcp;
    if (nic->dhcp)
        return 0;
    if (nic->n_addresses == 0)
        return hk_error(ctx, H2K_ERR_VALIDATION,
                        "Windows first boot: nics[%zu]: static but without an address", idx);
    if (nic->n_addresses > 64 || nic->n_gateways > 16 || nic->n_dns > 16)
        return hk_error(ctx, H2K_ERR_VALIDATION,
                        "Windows first boot: nics[%zu]: too many addresses, gateways or DNS "
                        "servers (64, 16, 16 at most)",
                        idx);
    p->addr = calloc(nic->n_addresses, sizeof(*p->addr));
    p->prefix = calloc(nic->n_addresses, sizeof(*p->prefix));
    p->addr_v6 = calloc(nic->n_addresses, sizeof(*p->addr_v6));
    p->gw = calloc(nic->n_gateways + 1, sizeof(*p->gw));
    p->gw_v6 = calloc(nic->n_gateways + 1, sizeof(*p->gw_v6));
    p->dns = calloc(nic->n_dns + 1, sizeof(*p->dns));
    p->dns_v6 = calloc(nic->n_dns + 1, sizeof(*p->dns_v6));
    if (!p->addr || !p->prefix || !p->addr_v6 || !p->gw || !p->gw_v6 || !p->dns || !p->dns_v6)
        return hk_error_nomem(ctx);
    for (size_t i = 0; i < nic->n_addresses; i++) {
        snprintf(field, sizeof(field), "nics[%zu].addresses[%zu]", idx, i);
        rc = hk_win_parse_ip(ctx, field, nic->addresses[i].address, p->addr[i], &p->addr_v6[i]);
        if (rc < 0)
            return rc;
        unsigned max = p->addr_v6[i] ? 128 : 32;
        if (nic->addresses[i].prefix > max || nic->addresses[i].prefix == 0)
            return hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, field,
                               "Windows first boot: prefix length %u is not within 1..%u; "
                               "refused",
                               nic->addresses[i].prefix, max);
        p->prefix[i] = nic->addresses[i].prefix;
        if (p->addr_v6[i])
            p->n6++;
        else
            p->n4++;
    }
    for (size_t i = 0; i < nic->n_gateways; i++) {
        snprintf(field, sizeof(field), "nics[%zu].gateways[%zu]", idx, i);
        rc = hk_win_parse_ip(ctx, field, nic->gateways[i], p->gw[i], &p->gw_v6[i]);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < nic->n_dns; i++) {
        snprintf(field, sizeof(field), "nics[%zu].dns[%zu]", idx, i);
        rc = hk_win_parse_ip(ctx, field, nic->dns[i], p->dns[i], &p->dns_v6[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* PowerShell: Get-NetAdapter's form "00-50-56-AA-BB-CC"; wmic's "00:50:56:AA:BB:CC". */
static void
mac_text(const unsigned char mac[6], char sep, char out[18])
{
    snprintf(out, 18, "%02X%c%02X%c%02X%c%02X%c%02X%c%02X", mac[0], sep, mac[1], sep, mac[2], sep,
             mac[3], sep, mac[4], sep, mac[5]);
}

static void
net_ps_nic(hk_buf *b, const hk_win_nic *nic, const nic_plan *p)
{
    char mac[18];
    mac_text(p->mac, '-', mac);
    if (p->dhcp) {
        hk_buf_printf(b, "Write-Output 'NIC %s: DHCP in the source VM: nothing to apply'\n", mac);
        return;
    }
    hk_buf_printf(b,
                  "$a = Find-Adapter '%s'\n"
                  "if (-not $a) {\n"
                  "    Write-Output 'NIC %s: no adapter with this MAC address: not configured'\n"
                  "    $failed++\n"
                  "} else {\n"
                  "    try {\n"
                  "        $i = $a.ifIndex\n"
                  "        Write-Output \"NIC %s: adapter '$($a.Name)', interface index $i\"\n",
                  mac, mac, mac);
    for (int fam = 0; fam < 2; fam++) {
        bool v6 = fam == 1;
        if ((v6 ? p->n6 : p->n4) == 0)
            continue;
        const char *af = v6 ? "IPv6" : "IPv4";
        const char *def = v6 ? "::/0" : "0.0.0.0/0";
        if (!v6)
            hk_buf_puts(b, "        Set-NetIPInterface -InterfaceIndex $i -AddressFamily IPv4 "
                           "-Dhcp Disabled\n");
        hk_buf_printf(b,
                      "        Get-NetIPAddress -InterfaceIndex $i -AddressFamily %s%s "
                      "-ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false\n"
                      "        Get-NetRoute -InterfaceIndex $i -DestinationPrefix '%s' "
                      "-ErrorAction SilentlyContinue | Remove-NetRoute -Confirm:$false\n",
                      af, v6 ? " -PrefixOrigin Manual" : "", def);
        for (size_t i = 0; i < nic->n_addresses; i++) {
            if (p->addr_v6[i] != v6)
                continue;
            hk_buf_printf(b,
                          "        New-NetIPAddress -InterfaceIndex $i -AddressFamily %s "
                          "-IPAddress '%s' -PrefixLength %u | Out-Null\n"
                          "        Write-Output 'NIC %s: address %s/%u'\n",
                          af, p->addr[i], p->prefix[i], mac, p->addr[i], p->prefix[i]);
        }
        for (size_t i = 0; i < nic->n_gateways; i++) {
            if (p->gw_v6[i] != v6)
                continue;
            hk_buf_printf(b,
                          "        New-NetRoute -InterfaceIndex $i -DestinationPrefix '%s' "
                          "-NextHop '%s' | Out-Null\n"
                          "        Write-Output 'NIC %s: default gateway %s'\n",
                          def, p->gw[i], mac, p->gw[i]);
        }
    }
    if (nic->n_dns) {
        hk_buf_puts(b, "        Set-DnsClientServerAddress -InterfaceIndex $i -ServerAddresses @(");
        for (size_t i = 0; i < nic->n_dns; i++)
            hk_buf_printf(b, "%s'%s'", i ? ", " : "", p->dns[i]);
        hk_buf_printf(b, ")\n        Write-Output 'NIC %s: DNS servers", mac);
        for (size_t i = 0; i < nic->n_dns; i++)
            hk_buf_printf(b, " %s", p->dns[i]);
        hk_buf_puts(b, "'\n");
    }
    hk_buf_printf(b,
                  "    } catch {\n"
                  "        Write-Output \"NIC %s: failed: $_\"\n"
                  "        $failed++\n"
                  "    }\n"
                  "}\n",
                  mac);
}

/* Dotted mask of an IPv4 prefix length. */
static void
prefix_mask(unsigned prefix, char out[16])
{
    uint32_t m = prefix ? 0xffffffffu << (32 - prefix) : 0;
    snprintf(out, 16, "%u.%u.%u.%u", m >> 24, (m >> 16) & 255, (m >> 8) & 255, m & 255);
}

static void
net_cmd_nic(hk_buf *b, size_t idx, const hk_win_nic *nic, const nic_plan *p)
{
    char mac[18];
    mac_text(p->mac, ':', mac);
    if (p->dhcp) {
        hk_buf_printf(b, "echo NIC %s: DHCP in the source VM: nothing to apply\n", mac);
        return;
    }
    hk_buf_printf(b,
                  "call :find %s\n"
                  "if not defined name (\n"
                  "    echo NIC %s: no adapter with this MAC address: not configured\n"
                  "    set /a failed+=1\n"
                  "    goto nic%zu_end\n"
                  ")\n"
                  "echo NIC %s: adapter \"%%name%%\"\n",
                  mac, mac, idx, mac);
    bool first4 = true, first_gw4 = true;
    for (size_t i = 0; i < nic->n_addresses; i++) {
        if (p->addr_v6[i])
            continue;
        char mask[16];
        prefix_mask(p->prefix[i], mask);
        if (first4) {
            /* the first address replaces DHCP; its gateway goes with it */
            const char *gw = NULL;
            for (size_t g = 0; g < nic->n_gateways && !gw; g++)
                if (!p->gw_v6[g])
                    gw = p->gw[g];
            if (gw) {
                hk_buf_printf(b,
                              "call :netsh interface ipv4 set address name=\"%%name%%\" "
                              "source=static address=%s mask=%s gateway=%s gwmetric=1\n",
                              p->addr[i], mask, gw);
                first_gw4 = false;
            } else {
                hk_buf_printf(b,
                              "call :netsh interface ipv4 set address name=\"%%name%%\" "
                              "source=static address=%s mask=%s\n",
                              p->addr[i], mask);
            }
            first4 = false;
        } else {
            hk_buf_printf(b,
                          "call :netsh interface ipv4 add address name=\"%%name%%\" "
                          "address=%s mask=%s\n",
                          p->addr[i], mask);
        }
    }
    bool skip_gw4 = !first_gw4;
    for (size_t g = 0; g < nic->n_gateways; g++) {
        if (p->gw_v6[g])
            continue;
        if (skip_gw4) { /* already set with the first address */
            skip_gw4 = false;
            continue;
        }
        hk_buf_printf(b,
                      "call :netsh interface ipv4 add route 0.0.0.0/0 interface=\"%%name%%\" "
                      "nexthop=%s\n",
                      p->gw[g]);
    }
    for (size_t i = 0; i < nic->n_addresses; i++) {
        if (!p->addr_v6[i])
            continue;
        hk_buf_printf(b,
                      "call :netsh interface ipv6 add address interface=\"%%name%%\" "
                      "address=%s/%u\n",
                      p->addr[i], p->prefix[i]);
    }
    for (size_t g = 0; g < nic->n_gateways; g++) {
        if (!p->gw_v6[g])
            continue;
        hk_buf_printf(b,
                      "call :netsh interface ipv6 add route ::/0 interface=\"%%name%%\" "
                      "nexthop=%s\n",
                      p->gw[g]);
    }
    unsigned k4 = 0, k6 = 0;
    for (size_t i = 0; i < nic->n_dns; i++) {
        bool v6 = p->dns_v6[i];
        unsigned *k = v6 ? &k6 : &k4;
        if (*k == 0)
            hk_buf_printf(b,
                          "call :netsh interface %s set dnsservers name=\"%%name%%\" "
                          "source=static address=%s register=primary\n",
                          v6 ? "ipv6" : "ipv4", p->dns[i]);
        else
            hk_buf_printf(b,
                          "call :netsh interface %s add dnsservers name=\"%%name%%\" "
                          "address=%s index=%u\n",
                          v6 ? "ipv6" : "ipv4", p->dns[i], *k + 1);
        (*k)++;
    }
    hk_buf_printf(b, ":nic%zu_end\n", idx);
}

int
hk_win_fb_script_network(h2k_ctx *ctx, unsigned number, const hk_win_version *os,
                         const hk_win_nic *nics, size_t n_nics, hk_win_fb_step *out)
{
    if (!os || (n_nics && !nics))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "Windows first boot: no OS version or NICs");
    if (n_nics > 64)
        return hk_error(ctx, H2K_ERR_VALIDATION, "Windows first boot: %zu NICs (64 at most)",
                        n_nics);
    nic_plan *plan = n_nics ? calloc(n_nics, sizeof(*plan)) : NULL;
    if (n_nics && !plan)
        return hk_error_nomem(ctx);
    int rc = 0;
    for (size_t i = 0; i < n_nics && rc == 0; i++) {
        rc = parse_nic(ctx, i, &nics[i], &plan[i]);
        for (size_t j = 0; j < i && rc == 0; j++)
            if (memcmp(plan[j].mac, plan[i].mac, 6) == 0)
                rc = hk_error(ctx, H2K_ERR_VALIDATION,
                              "Windows first boot: nics[%zu] and nics[%zu] have the same MAC "
                              "address; refused",
                              j, i);
    }
    if (rc < 0) {
        nic_plan_free(plan, n_nics);
        return rc;
    }
    hk_buf b = {0};
    const char *what = "re-apply the source VM's static IP settings to the NIC with the same MAC";
    bool ps = ps_era(os);
    if (ps) {
        ps_header(&b, what, os);
        hk_buf_puts(&b, "# the virtio NIC appears once PnP has installed its driver: wait for it\n"
                        "function Find-Adapter([string]$Mac) {\n"
                        "    for ($t = 0; $t -lt 60; $t++) {\n"
                        "        $a = Get-NetAdapter -ErrorAction SilentlyContinue |\n"
                        "            Where-Object { $_.MacAddress -eq $Mac } | Select-Object "
                        "-First 1\n"
                        "        if ($a) { return $a }\n"
                        "        Start-Sleep -Seconds 5\n"
                        "    }\n"
                        "    return $null\n"
                        "}\n");
        if (n_nics == 0)
            hk_buf_puts(&b, "Write-Output 'no NIC in the source VM: nothing to apply'\n");
        for (size_t i = 0; i < n_nics; i++)
            net_ps_nic(&b, &nics[i], &plan[i]);
        hk_buf_puts(&b, "Write-Output \"NICs that failed: $failed\"\n"
                        "if ($failed -ne 0) { exit 1 }\n"
                        "exit 0\n");
    } else {
        cmd_header(&b, what, os);
        hk_buf_puts(&b, "set failed=0\n");
        if (n_nics == 0)
            hk_buf_puts(&b, "echo no NIC in the source VM: nothing to apply\n");
        for (size_t i = 0; i < n_nics; i++)
            net_cmd_nic(&b, i, &nics[i], &plan[i]);
        hk_buf_puts(
            &b, "echo NICs that failed: %failed%\n"
                "if not \"%failed%\"==\"0\" exit /b 1\n"
                "exit /b 0\n"
                "\n"
                "rem :find MAC sets name to the connection name of the adapter with MAC,\n"
                "rem waiting up to 5 minutes for the virtio NIC to appear\n"
                ":find\n"
                "set \"name=\"\n"
                "for /l %%t in (1,1,60) do if not defined name call :query %1\n"
                "exit /b 0\n"
                ":query\n"
                "for /f \"tokens=1,* delims==\" %%a in ('wmic nic where \"MACAddress='%1'\" get "
                "NetConnectionID /value 2^>nul ^| find \"=\"') do for /f \"delims=\" %%c in "
                "(\"%%b\") do set \"name=%%c\"\n"
                "if not defined name ping -n 6 127.0.0.1 >nul\n"
                "exit /b 0\n"
                "\n"
                "rem :netsh ARGS runs netsh and logs its exit code\n"
                ":netsh\n"
                "echo netsh %*\n"
                "netsh %*\n"
                "set rc=%errorlevel%\n"
                "echo netsh exit code %rc%\n"
                "if not \"%rc%\"==\"0\" set /a failed+=1\n"
                "exit /b 0\n");
    }
    nic_plan_free(plan, n_nics);
    return finish(ctx, number, "network", ps ? "ps1" : "cmd", &b, out);
}

/* -------------------------------------------------------------- disks */

int
hk_win_fb_script_disks_online(h2k_ctx *ctx, unsigned number, const hk_win_version *os,
                              unsigned n_disks, hk_win_fb_step *out)
{
    if (!os)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "Windows first boot: no OS version");
    hk_buf b = {0};
    const char *what = "bring offline disks online (SAN policy OnlineAll)";
    bool ps = ps_era(os);
    if (ps) {
        ps_header(&b, what, os);
        hk_buf_puts(&b, "try {\n"
                        "    Set-StorageSetting -NewDiskPolicy OnlineAll\n"
                        "    Write-Output 'SAN policy: OnlineAll'\n"
                        "} catch {\n"
                        "    Write-Output \"SAN policy: not changed: $_\"\n"
                        "}\n"
                        "foreach ($d in Get-Disk) {\n"
                        "    $n = $d.Number\n"
                        "    if (-not $d.IsOffline) {\n"
                        "        Write-Output \"disk ${n}: online\"\n"
                        "        continue\n"
                        "    }\n"
                        "    try {\n"
                        "        Set-Disk -Number $n -IsOffline $false\n"
                        "        Write-Output \"disk ${n}: brought online\"\n"
                        "        if ((Get-Disk -Number $n).IsReadOnly) {\n"
                        "            Set-Disk -Number $n -IsReadOnly $false\n"
                        "            Write-Output \"disk ${n}: read-only attribute cleared\"\n"
                        "        }\n"
                        "    } catch {\n"
                        "        Write-Output \"disk ${n}: failed: $_\"\n"
                        "        $failed++\n"
                        "    }\n"
                        "}\n"
                        "Write-Output \"disks that failed: $failed\"\n"
                        "if ($failed -ne 0) { exit 1 }\n"
                        "exit 0\n");
    } else {
        if (n_disks == 0 || n_disks > 64) {
            hk_buf_free(&b);
            return hk_error(ctx, H2K_ERR_VALIDATION,
                            "Windows first boot: n_disks %u is not within 1..64; refused", n_disks);
        }
        cmd_header(&b, what, os);
        hk_buf_printf(&b,
                      "set \"dp=%%TEMP%%\\h2k-firstboot-diskpart.txt\"\n"
                      "> \"%%dp%%\" echo san policy=OnlineAll\n"
                      "echo diskpart: san policy=OnlineAll\n"
                      "\"%%SystemRoot%%\\System32\\diskpart.exe\" /s \"%%dp%%\"\n"
                      "for /l %%%%n in (0,1,%u) do call :disk %%%%n\n"
                      "del \"%%dp%%\"\n"
                      "exit /b 0\n"
                      "\n"
                      "rem :disk N brings disk N online and clears its read-only attribute\n"
                      ":disk\n"
                      "> \"%%dp%%\" echo select disk %%1\n"
                      ">> \"%%dp%%\" echo online disk noerr\n"
                      ">> \"%%dp%%\" echo attributes disk clear readonly noerr\n"
                      "echo diskpart: disk %%1\n"
                      "\"%%SystemRoot%%\\System32\\diskpart.exe\" /s \"%%dp%%\"\n"
                      "echo diskpart exit code %%errorlevel%%\n"
                      "exit /b 0\n",
                      n_disks - 1);
    }
    return finish(ctx, number, "disks-online", ps ? "ps1" : "cmd", &b, out);
}
