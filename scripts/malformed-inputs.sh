#!/bin/bash
# Feeds generated malformed inputs through the hyper2kvm command line (probe,
# ovf, batch) and, for the parsers no command reaches without a guest or a
# server (SOAP, fstab, grub, network files, manifests), through the fuzz
# targets of a fuzz build run on single files; counts the outcomes per input
# class and prints a Markdown table.
#
# usage: scripts/malformed-inputs.sh [--fuzz-build DIR] [--out DIR] [--timeout S]
#                                     [--seed N] [--keep] CLI
#   CLI           the hyper2kvm program (a sanitizer build finds more)
#   --fuzz-build  a build with -DH2K_FUZZ=ON (adds the library-only classes)
#   --out DIR     write table.md, cases.tsv and the inputs of every crash,
#                 hang or wrong accept there (default: print the table only)
#   --classes RE  only the input classes whose name matches RE (Python regex)
#
# Inputs are made from the seed corpora of tests/fuzz/corpus (hand-written
# seeds only): truncations, bit flips, overwritten byte runs, damaged magic,
# random garbage under the class's file name, oversize numbers in the fields
# VMware bounds, and 2 MiB of padding.  Outcomes:
#   clean error   non-zero exit with a message on stderr
#   accepted      exit 0 (expected for some mutations, e.g. a flipped bit in
#                 a comment)
#   wrong accept  exit 0 on a case that must be refused (garbage, damaged
#                 magic, a header cut short, a number beyond VMware's limits),
#                 or any disk file of the class probed as raw (its name
#                 claims a format its content does not have)
#   crash         a signal, or a sanitizer report
#   hang          no exit within the timeout (default 30 s)
# The batch cases run in a scratch folder as user nobody when started as root,
# so a mutated plan cannot write anywhere else.  Exit status 1 when anything
# crashed, hung or was wrongly accepted.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
fuzz="" out="" timeout=30 seed=1 only=""
args=()
while [ $# -gt 0 ]; do
    case $1 in
        --fuzz-build) fuzz=$(cd "$2" && pwd); shift 2 ;;
        --out) out=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --classes) only=$2; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        -*) echo "malformed-inputs: unknown option $1" >&2; exit 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
if [ ${#args[@]} -ne 1 ]; then
    echo "usage: malformed-inputs.sh [--fuzz-build DIR] [--out DIR] CLI" >&2
    exit 2
fi
cli=$(cd "$(dirname "${args[0]}")" && pwd)/$(basename "${args[0]}")
if [ ! -x "$cli" ]; then
    echo "malformed-inputs: $cli is not a program" >&2
    exit 1
fi
command -v python3 >/dev/null || { echo "malformed-inputs: python3 is missing" >&2; exit 1; }
if [ -n "$out" ]; then
    mkdir -p "$out"
    out=$(cd "$out" && pwd)
fi
exec python3 - "$top" "$cli" "$fuzz" "$out" "$timeout" "$seed" "$only" <<'PY'
import io, json, os, random, re, shutil, subprocess, sys, tarfile, tempfile

top, cli, fuzz, out, timeout, seed, only = sys.argv[1:8]
timeout = float(timeout)
corpus = os.path.join(top, "tests", "fuzz", "corpus")
merged_name = re.compile(r"^[0-9a-f]{40}$")

def seeds(d, pick=None):
    p = os.path.join(corpus, d)
    names = sorted(n for n in os.listdir(p) if not merged_name.match(n))
    if pick:
        names = [n for n in names if pick(n)]
    res = []
    for n in names:
        with open(os.path.join(p, n), "rb") as f:
            res.append((n, f.read()))
    return res

def make_ova():
    """A small well-formed OVA: an OVF naming one disk, the disk, a manifest."""
    with open(os.path.join(corpus, "ovf", "test-i-ova.ovf"), "rb") as f:
        ovf = f.read()
    hrefs = re.findall(rb'href="([^"]+)"', ovf)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
        add("vm.ovf", ovf)
        for h in hrefs:
            add(h.decode(), b"\0" * 4096)
    return buf.getvalue()

# class name, seeds, file extension, route, magic spans [(offset, length)]
classes = [
    ("VMDK descriptor", seeds("vmdk_descriptor", lambda n: n.endswith(".txt")), ".vmdk",
     "probe", []),
    ("sparse VMDK (hosted, COWD, SESparse, stream)",
     seeds("vmdk", lambda n: n.endswith(".bin")), ".vmdk", "probe", [(0, 4)]),
    ("VHD", seeds("vhd"), ".vhd", "probe", [(0, 8), (-512, 8)]),
    ("VHDX", seeds("vhdx"), ".vhdx", "probe", [(0, 8)]),
    ("qcow2", seeds("qcow2"), ".qcow2", "probe", [(0, 4)]),
    ("OVA (tar)", seeds("tar") + [("generated.ova", make_ova())], ".ova", "ovf", [(257, 5)]),
    ("OVF XML", seeds("ovf"), ".ovf", "ovf", []),
    ("VMX", seeds("vmx"), ".vmx", "ovf", []),
    ("plan JSON", seeds("plan"), ".json", "batch", []),
    ("plan YAML", seeds("plan_yaml"), ".yaml", "batch", []),
]
if fuzz:
    classes += [
        ("SOAP (vSphere responses)", seeds("soap"), "", "fuzz:soap", []),
        ("OVA manifest (.mf)", seeds("ova_manifest"), "", "fuzz:ova_manifest", []),
        ("fstab / crypttab", seeds("fstab"), "", "fuzz:fstab", []),
        ("grub config / BLS / device.map", seeds("grub"), "", "fuzz:grub", []),
        ("network config (ifcfg, ifupdown, netplan, ...)", seeds("net"), "", "fuzz:net", []),
    ]

if only:
    classes = [c for c in classes if re.search(only, c[0])]

NUMBER_FIELDS = [
    # (regex on the text, replacement, must refuse)
    (rb'(?i)(memsize\s*=\s*")[^"]*', rb'\g<1>99999999999', True),
    (rb'(?i)(numvcpus\s*=\s*")[^"]*', rb'\g<1>100000', True),
    (rb'(?i)(memsize\s*=\s*")[^"]*', rb'\g<1>-4096', True),
    (rb'(<rasd:VirtualQuantity>)[^<]*', rb'\g<1>99999999999999', True),
    (rb'(ovf:capacity=")[^"]*', rb'\g<1>18446744073709551616', True),
    (rb'(ovf:capacity=")[^"]*', rb'\g<1>-1', True),
    (rb'(?m)^(RW|RDONLY)\s+\d+', rb'\g<1> 9223372036854775807', True),
    (rb'(?i)("jobs"\s*:\s*)\d+', rb'\g<1>99999999999999999999', False),
    (rb'(?i)(jobs:\s*)\d+', rb'\g<1>-5', False),
]

def mutations(cname, sname, data, magic, route):
    """Yields (label, bytes, must_refuse)."""
    rnd = random.Random(f"{seed}:{cname}:{sname}")
    n = len(data)
    binary = route == "probe" and not cname.startswith("VMDK descriptor")
    structured = not route.startswith("fuzz:")
    # an empty VMX reads as VMware's defaults (by design); nothing else is empty
    yield "empty", b"", structured and route != "batch" and cname != "VMX"
    for frac in (1, 4, 2):
        k = n // frac if frac > 1 else 1
        if 0 < k < n:
            # a binary header cut short cannot be a disk
            yield f"truncate-{k}", data[:k], binary and k < 512
    if n > 1:
        yield f"truncate-{n - 1}", data[:n - 1], False
    for i in range(10):
        b = bytearray(data)
        if not b:
            break
        for _ in range(rnd.randint(1, 8)):
            pos = rnd.randrange(len(b))
            b[pos] ^= 1 << rnd.randrange(8)
        yield f"bitflip-{i}", bytes(b), False
    for i in range(4):
        b = bytearray(data)
        if len(b) < 8:
            break
        pos = rnd.randrange(len(b) - 7)
        b[pos:pos + 8] = rnd.choice([b"\xff" * 8, b"\x7f\xff\xff\xff\xff\xff\xff\xff",
                                     b"\x00" * 8, b"\x80" + b"\x00" * 7])
        yield f"overwrite-{i}@{pos}", bytes(b), False
    if magic and n:
        b = bytearray(data)
        for off, ln in magic:
            o = off if off >= 0 else n + off
            if 0 <= o and o + ln <= n:
                for j in range(o, o + ln):
                    b[j] ^= 0xA5
        yield "bad-magic", bytes(b), True
    if structured:
        yield "garbage", bytes(rnd.getrandbits(8) for _ in range(max(n, 64))), True
    for i, (rx, rep, must) in enumerate(NUMBER_FIELDS):
        if not structured:
            break
        m2 = re.sub(rx, rep, data)
        if m2 != data:
            yield f"oversize-{i}", m2, must
    if not binary:
        yield "padded-2MiB", data + b"\n" + b"A" * (2 << 20), False

def run_case(route, path, workdir):
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "abort_on_error=1:detect_leaks=1:allocator_may_return_null=1"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:abort_on_error=1:print_stacktrace=1"
    env["LIBGUESTFS_BACKEND"] = "direct"
    pre = []
    if route.startswith("fuzz:"):
        argv = [os.path.join(fuzz, "tests", "fuzz", "fuzz_" + route[5:]), "-runs=1",
                "-rss_limit_mb=2048", "-timeout=%d" % int(timeout), path]
    elif route == "probe":
        argv = [cli, "--json", "probe", path]
    elif route == "ovf":
        argv = [cli, "ovf", path]
    else:
        argv = [cli, "batch", path, "--jobs", "1", "--state", os.path.join(workdir, "state")]
        env["HOME"] = workdir
        if os.geteuid() == 0:
            pre = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    try:
        p = subprocess.run(pre + argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang", ""
    err = p.stderr.decode("utf-8", "replace")
    sanitizer = re.search(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|"
                          r"deadly signal|==\d+==ERROR", err)
    if p.returncode < 0 or sanitizer:
        return "crash", err[-2000:]
    if route.startswith("fuzz:"):
        return ("handled" if p.returncode == 0 else "crash"), err[-2000:]
    if p.returncode == 0 and route == "probe":
        # a file named .vmdk/.vhd/.vhdx/.qcow2 read as raw: its claim was ignored
        outp = p.stdout.decode("utf-8", "replace")
        try:
            fmt = json.loads(outp).get("format")
        except ValueError:
            m = re.search(r"(?m)^format:\s*(\S+)", outp)
            fmt = m.group(1) if m else None
        if fmt == "raw":
            return "accepted as raw", err[-500:]
    if p.returncode == 0:
        return "accepted", err[-500:]
    return ("clean error" if err.strip() else "silent error"), err[-500:]

scratch = tempfile.mkdtemp(prefix="h2k-malformed-")
os.chmod(scratch, 0o755)
rows, details, problems = [], [], 0
try:
    for cname, sl, ext, route, magic in classes:
        counts = dict(cases=0, clean=0, accepted=0, wrong=0, crash=0, hang=0, silent=0)
        for sname, data in sl:
            for label, blob, must in mutations(cname, sname, data, magic, route):
                counts["cases"] += 1
                wd = tempfile.mkdtemp(dir=scratch)
                os.chmod(wd, 0o777)
                base = re.sub(r"\.[A-Za-z0-9]+$", "", sname)
                path = os.path.join(wd, base + (ext or ".bin"))
                with open(path, "wb") as f:
                    f.write(blob)
                os.chmod(path, 0o644)
                res, err = run_case(route, path, wd)
                bad = None
                if res == "crash":
                    counts["crash"] += 1; bad = "crash"
                elif res == "hang":
                    counts["hang"] += 1; bad = "hang"
                elif (res == "accepted" and must) or res == "accepted as raw":
                    counts["wrong"] += 1; bad = "wrong accept"
                elif res in ("accepted", "handled"):
                    counts["accepted"] += 1
                elif res == "silent error":
                    counts["silent"] += 1; counts["clean"] += 1
                else:
                    counts["clean"] += 1
                details.append((cname, sname, label, res + (" (must refuse)" if must else "")))
                if bad:
                    problems += 1
                    print(f"  {bad}: {cname}: {sname} {label}", file=sys.stderr)
                    if err.strip():
                        print("    " + err.strip().splitlines()[-1][:300], file=sys.stderr)
                    if out:
                        keep = os.path.join(out, "problems")
                        os.makedirs(keep, exist_ok=True)
                        shutil.copy(path, os.path.join(keep, re.sub(r"[^A-Za-z0-9._-]", "_",
                                    f"{cname}-{sname}-{label}") + (ext or ".bin")))
                shutil.rmtree(wd, ignore_errors=True)
        rows.append((cname, route, counts))
        print(f"{cname}: {counts}", file=sys.stderr)
finally:
    shutil.rmtree(scratch, ignore_errors=True)

lines = ["| input class | through | cases | clean errors | accepted | wrong accepts | crashes | hangs |",
         "|---|---|---:|---:|---:|---:|---:|---:|"]
tot = dict(cases=0, clean=0, accepted=0, wrong=0, crash=0, hang=0)
for cname, route, c in rows:
    through = "fuzz_" + route[5:] + " (library)" if route.startswith("fuzz:") else "hyper2kvm " + route
    wrong = "n/a" if route.startswith("fuzz:") else str(c["wrong"])
    clean = "n/a" if route.startswith("fuzz:") else str(c["clean"])
    lines.append(f"| {cname} | {through} | {c['cases']} | {clean} | {c['accepted']} | {wrong} | "
                 f"{c['crash']} | {c['hang']} |")
    for k in tot:
        tot[k] += c[k]
lines.append(f"| **total** | | {tot['cases']} | {tot['clean']} | {tot['accepted']} | {tot['wrong']} | "
             f"{tot['crash']} | {tot['hang']} |")
table = "\n".join(lines) + "\n"
print(table)
if out:
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(table)
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        f.write("class\tseed\tmutation\toutcome\n")
        for d in details:
            f.write("\t".join(d) + "\n")
sys.exit(1 if problems else 0)
PY
