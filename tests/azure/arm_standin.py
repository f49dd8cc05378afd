#!/usr/bin/env python3
"""Azure Resource Manager stand-in for the test suite (loopback TLS, stdlib only).

Follows the published REST contract of the calls hyper2kvm makes:
  POST /{tenant}/oauth2/v2.0/token            client credentials (401 + AADSTS body on a bad secret)
  GET  .../virtualMachines[?..], .../virtualMachines/{vm}, .../{vm}/instanceView
  GET  /subscriptions/{s}/providers/Microsoft.Compute/locations/{l}/vmSizes
  GET  {disk id}, {nic id}
  POST {disk or snapshot id}/beginGetAccess   202 + Azure-AsyncOperation + Location, Retry-After
  POST {disk or snapshot id}/endGetAccess     202 + Location
  PUT / DELETE .../snapshots/{name}           202 + Azure-AsyncOperation
  every error as {"error": {"code", "message"}}; 429 + Retry-After when throttling is asked.
The grants are SAS URLs of page blobs in a real Azurite (Shared Key / service SAS
signed here with Azurite's public development account key).

  arm_standin.py seed --blob-url URL --ca CERT --file VHD   upload a page blob, allocated pages only
  arm_standin.py sas --blob-url URL                         print a read SAS URL (benchmarks)
  arm_standin.py serve --config JSON --cert C --key K --port-file F --events F
"""
import argparse, base64, datetime, hashlib, hmac, http.client, http.server, json, os, ssl
import sys, threading, urllib.parse as up, uuid

ACCOUNT = "devstoreaccount1"
KEY = base64.b64decode(
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
XMS_VERSION = "2021-12-02"


def _sign(text):
    return base64.b64encode(hmac.new(KEY, text.encode(), hashlib.sha256).digest()).decode()


def shared_key_headers(method, url, headers):
    """Adds x-ms-date, x-ms-version and Authorization (Shared Key) to headers."""
    h = {k.lower(): str(v) for k, v in headers.items()}
    h["x-ms-date"] = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%a, %d %b %Y %H:%M:%S GMT")
    h["x-ms-version"] = XMS_VERSION
    u = up.urlsplit(url)
    length = h.get("content-length", "")
    if length == "0":
        length = ""
    std = [h.get("content-encoding", ""), h.get("content-language", ""), length,
           h.get("content-md5", ""), h.get("content-type", ""), h.get("date", ""),
           h.get("if-modified-since", ""), h.get("if-match", ""), h.get("if-none-match", ""),
           h.get("if-unmodified-since", ""), h.get("range", "")]
    canon_headers = "".join("%s:%s\n" % (k, h[k]) for k in sorted(h) if k.startswith("x-ms-"))
    resource = "/%s%s" % (ACCOUNT, u.path)
    q = up.parse_qs(u.query, keep_blank_values=True)
    for k in sorted(q, key=str.lower):
        resource += "\n%s:%s" % (k.lower(), ",".join(sorted(q[k])))
    sts = method + "\n" + "\n".join(std) + "\n" + canon_headers + resource
    h["authorization"] = "SharedKey %s:%s" % (ACCOUNT, _sign(sts))
    return h


def read_sas(blob_url, hours=1):
    """A read-only service SAS URL for the blob (version 2018-03-28 string-to-sign)."""
    u = up.urlsplit(blob_url)
    path = u.path
    if path.startswith("/" + ACCOUNT + "/"):
        path = path[len(ACCOUNT) + 1:]
    sv = "2018-03-28"
    expiry = (datetime.datetime.now(datetime.timezone.utc) +
              datetime.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sts = "\n".join(["r", "", expiry, "/blob/%s%s" % (ACCOUNT, path), "", "", "", sv,
                     "", "", "", "", ""])
    return blob_url + "?" + up.urlencode({"sv": sv, "sr": "b", "sp": "r", "se": expiry,
                                          "sig": _sign(sts)})


_conns = {}


def storage_call(ctx, method, url, headers, body=b""):
    """One signed request; the connection to each host is kept alive and reused."""
    u = up.urlsplit(url)
    headers = dict(headers)
    headers["Content-Length"] = str(len(body))
    signed = shared_key_headers(method, url, headers)
    path = u.path + ("?" + u.query if u.query else "")
    for attempt in (0, 1):
        conn = _conns.get(u.netloc)
        if conn is None:
            conn = _conns[u.netloc] = http.client.HTTPSConnection(u.hostname, u.port,
                                                                  context=ctx, timeout=120)
        try:
            conn.request(method, path, body=body, headers=signed)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, data
        except (http.client.HTTPException, OSError):
            conn.close()
            del _conns[u.netloc]
            if attempt:
                raise


def seed(args):
    ctx = ssl.create_default_context(cafile=args.ca)
    size = os.path.getsize(args.file)
    if size % 512:
        sys.exit("seed: %s is not a multiple of 512 bytes" % args.file)
    u = up.urlsplit(args.blob_url)
    container = u.scheme + "://" + u.netloc + "/".join(u.path.split("/")[:3])
    st, data = storage_call(ctx, "PUT", container + "?restype=container", {})
    if st not in (201, 409):
        sys.exit("seed: create container: HTTP %d %s" % (st, data[:300]))
    st, data = storage_call(ctx, "PUT", args.blob_url,
                            {"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": str(size)})
    if st != 201:
        sys.exit("seed: put blob: HTTP %d %s" % (st, data[:300]))
    allocated = 0
    chunk = 4 << 20
    with open(args.file, "rb") as f:
        # every run of non-zero 512-byte pages, in pieces of at most 4 MiB
        offset = 0
        run_start, run = None, bytearray()

        def flush():
            nonlocal allocated, run_start, run
            if run_start is not None and run:
                rng = "bytes=%d-%d" % (run_start, run_start + len(run) - 1)
                s, d = storage_call(ctx, "PUT", args.blob_url + "?comp=page",
                                    {"x-ms-page-write": "update", "x-ms-range": rng}, bytes(run))
                if s != 201:
                    sys.exit("seed: put page %s: HTTP %d %s" % (rng, s, d[:300]))
                allocated += len(run)
            run_start, run = None, bytearray()

        while True:
            block = f.read(1 << 20)
            if not block:
                break
            if block.count(0) == len(block):
                flush()
                offset += len(block)
                continue
            for i in range(0, len(block), 512):
                page = block[i:i + 512]
                if page.count(0) == len(page):
                    flush()
                else:
                    if run_start is None:
                        run_start = offset + i
                    run += page
                    if len(run) >= chunk:
                        flush()
            offset += len(block)
        flush()
    print(allocated)


class State:
    def __init__(self, cfg, events, port):
        self.cfg = cfg
        self.events = events
        self.port = port
        self.lock = threading.Lock()
        self.tokens = set()
        self.ops = {}          # operation id -> dict(polls, result)
        self.throttled = set()
        self.snapshots = {}    # name -> source disk name
        self.granted = set()

    def log(self, line):
        with self.lock, open(self.events, "a") as f:
            f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    @property
    def st(self):
        return self.server.state

    def base(self):
        return "https://127.0.0.1:%d" % self.st.port

    def send_json(self, status, obj, headers=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message, headers=None):
        self.send_json(status, {"error": {"code": code, "message": message}}, headers)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # ------------------------------------------------------------ token
    def token(self, tenant):
        cfg = self.st.cfg
        form = up.parse_qs(self.body().decode(), keep_blank_values=True)
        get = lambda k: (form.get(k) or [""])[0]
        if tenant != cfg["tenant"]:
            return self.send_json(400, {
                "error": "invalid_request",
                "error_description": "AADSTS90002: Tenant '%s' not found." % tenant,
                "error_codes": [90002]})
        if get("grant_type") != "client_credentials" or get("scope") != \
                "https://management.azure.com/.default":
            return self.send_json(400, {
                "error": "invalid_request",
                "error_description": "AADSTS900144: The request body must contain a valid "
                                     "grant_type and scope.", "error_codes": [900144]})
        if get("client_id") != cfg["client_id"]:
            return self.send_json(400, {
                "error": "unauthorized_client",
                "error_description": "AADSTS700016: Application with identifier '%s' was not "
                                     "found in the directory." % get("client_id"),
                "error_codes": [700016]})
        if get("client_secret") != cfg["client_secret"]:
            self.st.log("token refused")
            return self.send_json(401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the "
                                     "secret being sent in the request is the client secret "
                                     "value, not the client secret ID.",
                "error_codes": [7000215]})
        tok = base64.urlsafe_b64encode(os.urandom(48)).decode()
        with self.st.lock:
            self.st.tokens.add(tok)
        self.st.log("token issued")
        self.send_json(200, {"token_type": "Bearer", "expires_in": 3599,
                             "ext_expires_in": 3599, "access_token": tok})

    def identity_token(self):
        """The instance metadata service's managed identity token."""
        q = up.parse_qs(up.urlsplit(self.path).query)
        if self.headers.get("Metadata") != "true":
            return self.send_json(400, {"error": "invalid_request",
                                        "error_description": "Required metadata header not specified"})
        if (q.get("api-version") or [""])[0] != "2018-02-01" or \
                (q.get("resource") or [""])[0] != "https://management.azure.com/":
            return self.send_json(400, {"error": "invalid_request",
                                        "error_description": "Invalid api-version or resource"})
        tok = base64.urlsafe_b64encode(os.urandom(48)).decode()
        with self.st.lock:
            self.st.tokens.add(tok)
        self.st.log("identity token issued")
        now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
        self.send_json(200, {"access_token": tok, "expires_in": "3599",
                             "expires_on": str(now + 3599), "not_before": str(now),
                             "resource": "https://management.azure.com/", "token_type": "Bearer"})

    # ------------------------------------------------------------ ARM
    def authorised(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.st.tokens:
            self.error(401, "AuthenticationFailed",
                       "Authentication failed. The 'Authorization' header is missing or invalid.")
            return False
        return True

    def ids(self):
        c = self.st.cfg
        return "/subscriptions/%s/resourceGroups/%s/providers" % (c["subscription"],
                                                                  c["resource_group"])

    def vm_json(self, name):
        c = self.st.cfg
        v = c["vms"][name]
        p = self.ids()
        os_disk = c["disks"][v["os_disk"]]
        props = {
            "vmId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "hardwareProfile": {"vmSize": v["size"]},
            "storageProfile": {
                "osDisk": {"osType": os_disk.get("os", "Linux"), "name": v["os_disk"],
                           "createOption": "FromImage", "caching": "ReadWrite",
                           "managedDisk": {"id": "%s/Microsoft.Compute/disks/%s" % (p, v["os_disk"]),
                                           "storageAccountType": "Premium_LRS"},
                           "diskSizeGB": os_disk["size"] >> 30},
                "dataDisks": [{"lun": d["lun"], "name": d["disk"], "createOption": "Empty",
                               "managedDisk": {"id": "%s/Microsoft.Compute/disks/%s" % (p, d["disk"])}}
                              for d in v.get("data_disks", [])]},
            "networkProfile": {"networkInterfaces": [
                {"id": "%s/Microsoft.Network/networkInterfaces/%s" % (p, n),
                 "properties": {"primary": i == 0}} for i, n in enumerate(v.get("nics", []))]},
            "provisioningState": "Succeeded"}
        if v.get("security_type"):
            props["securityProfile"] = {"securityType": v["security_type"],
                                        "uefiSettings": {"secureBootEnabled": bool(v.get("secure_boot")),
                                                         "vTpmEnabled": True}}
        return {"name": name, "id": "%s/Microsoft.Compute/virtualMachines/%s" % (p, name),
                "type": "Microsoft.Compute/virtualMachines", "location": c["location"],
                "properties": props}

    def disk_json(self, name):
        c = self.st.cfg
        d = c["disks"][name]
        owner = [vm for vm, v in c["vms"].items()
                 if v["os_disk"] == name or any(x["disk"] == name for x in v.get("data_disks", []))]
        state = "ActiveSAS" if name in self.st.granted else (
            "Attached" if owner and c["vms"][owner[0]]["power"] == "running" else
            "Reserved" if owner else "Unattached")
        props = {"diskSizeBytes": d["size"], "diskSizeGB": d["size"] >> 30, "diskState": state,
                 "provisioningState": "Succeeded"}
        if d.get("gen"):
            props["hyperVGeneration"] = d["gen"]
        if d.get("os"):
            props["osType"] = d["os"]
        return {"name": name, "id": "%s/Microsoft.Compute/disks/%s" % (self.ids(), name),
                "type": "Microsoft.Compute/disks", "location": c["location"], "properties": props}

    def nic_json(self, name):
        n = self.st.cfg["nics"][name]
        return {"name": name, "id": "%s/Microsoft.Network/networkInterfaces/%s" % (self.ids(), name),
                "properties": {"macAddress": n["mac"], "primary": True, "ipConfigurations": [
                    {"name": "ipconfig1", "properties": {"privateIPAddress": n.get("ip", "10.0.0.4")}}]}}

    def new_op(self, result, polls=1):
        op = str(uuid.uuid4())
        with self.st.lock:
            self.st.ops[op] = {"polls": polls, "result": result}
        loc = self.st.cfg["location"]
        base = "%s/subscriptions/%s/providers/Microsoft.Compute/locations/%s" % (
            self.base(), self.st.cfg["subscription"], loc)
        return op, {"Azure-AsyncOperation": "%s/DiskOperations/%s?api-version=2023-10-02" % (base, op),
                    "Location": "%s/DiskOperations/%s?monitor=true&api-version=2023-10-02" % (base, op),
                    "Retry-After": "1"}

    def op_status(self, op, monitor):
        with self.st.lock:
            o = self.st.ops.get(op)
            if not o:
                return self.error(404, "NotFound", "Operation %s was not found." % op)
            o["polls"] -= 1
            pending = o["polls"] >= 0
        if pending:
            if monitor:
                return self.send_json(202, None, {"Location": self.base() + self.path,
                                                  "Retry-After": "0"})
            return self.send_json(200, {"name": op, "status": "InProgress",
                                        "startTime": "2026-01-01T00:00:00Z"}, {"Retry-After": "0"})
        res = o["result"]
        if monitor:
            return self.send_json(200 if res is not None else 200, res if res is not None else None)
        body = {"name": op, "status": "Succeeded", "startTime": "2026-01-01T00:00:00Z",
                "endTime": "2026-01-01T00:00:01Z"}
        if res is not None:
            body["properties"] = {"output": res}
        self.send_json(200, body)

    def check_api(self, want):
        q = up.parse_qs(up.urlsplit(self.path).query)
        got = (q.get("api-version") or [""])[0]
        if got != want:
            self.error(400, "InvalidApiVersionParameter" if got else "MissingApiVersionParameter",
                       "The api-version '%s' is invalid for this stand-in (expects %s)." % (got, want))
            return False
        return True

    def route(self, method):
        path = up.urlsplit(self.path).path
        parts = [up.unquote(p) for p in path.split("/") if p]
        c = self.st.cfg
        if method == "POST" and len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            return self.token(parts[0])
        if method == "GET" and parts == ["metadata", "identity", "oauth2", "token"]:
            return self.identity_token()
        if not self.authorised():
            return
        # /subscriptions/S/providers/Microsoft.Compute/locations/L/(vmSizes|DiskOperations/OP)
        if len(parts) >= 6 and parts[0] == "subscriptions" and parts[2] == "providers" and \
                parts[4] == "locations":
            if parts[1] != c["subscription"]:
                return self.error(404, "SubscriptionNotFound",
                                  "The subscription '%s' could not be found." % parts[1])
            if len(parts) == 7 and parts[6] == "vmSizes" and method == "GET":
                if not self.check_api("2024-07-01"):
                    return
                return self.send_json(200, {"value": [
                    {"name": "Standard_B1s", "numberOfCores": 1, "memoryInMB": 1024,
                     "maxDataDiskCount": 2, "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 4096},
                    {"name": "Standard_B2s", "numberOfCores": 2, "memoryInMB": 4096,
                     "maxDataDiskCount": 4, "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 8192},
                    {"name": "Standard_D4s_v5", "numberOfCores": 4, "memoryInMB": 16384,
                     "maxDataDiskCount": 8, "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 0}]})
            if len(parts) == 8 and parts[6] == "DiskOperations" and method == "GET":
                monitor = "monitor=true" in up.urlsplit(self.path).query
                return self.op_status(parts[7], monitor)
            return self.error(404, "NotFound", "No route for %s." % path)
        if len(parts) < 6 or parts[0] != "subscriptions" or parts[2] != "resourceGroups" or \
                parts[4] != "providers":
            return self.error(404, "NotFound", "No route for %s." % path)
        if parts[1] != c["subscription"]:
            return self.error(404, "SubscriptionNotFound",
                              "The subscription '%s' could not be found." % parts[1])
        if parts[3] != c["resource_group"]:
            return self.error(404, "ResourceGroupNotFound",
                              "Resource group '%s' could not be found." % parts[3])
        kind = "/".join(parts[5:7])
        rest = parts[7:]
        if kind == "Microsoft.Compute/virtualMachines":
            if not self.check_api("2024-07-01"):
                return
            if not rest and method == "GET":
                q = up.parse_qs(up.urlsplit(self.path).query)
                names = sorted(c["vms"])
                # two pages: nextLink carries a skip token
                skip = int((q.get("$skiptoken") or ["0"])[0])
                page = names[skip:skip + 1] if len(names) > 1 else names
                out = {"value": [self.vm_json(n) for n in page]}
                if skip + len(page) < len(names):
                    out["nextLink"] = "%s%s?api-version=2024-07-01&$skiptoken=%d" % (
                        self.base(), path, skip + len(page))
                return self.send_json(200, out)
            vm = rest[0]
            if vm not in c["vms"]:
                return self.error(404, "ResourceNotFound",
                                  "The Resource 'Microsoft.Compute/virtualMachines/%s' under "
                                  "resource group '%s' was not found." % (vm, parts[3]))
            if len(rest) == 1 and method == "GET":
                if vm in c.get("throttle", []) and vm not in self.st.throttled:
                    with self.st.lock:
                        self.st.throttled.add(vm)
                    self.st.log("throttled %s" % vm)
                    return self.error(429, "TooManyRequests",
                                      "The request is being throttled.", {"Retry-After": "1"})
                return self.send_json(200, self.vm_json(vm))
            if len(rest) == 2 and rest[1] == "instanceView" and method == "GET":
                power = c["vms"][vm]["power"]
                return self.send_json(200, {"computerName": vm, "statuses": [
                    {"code": "ProvisioningState/succeeded", "level": "Info",
                     "displayStatus": "Provisioning succeeded"},
                    {"code": "PowerState/%s" % power, "level": "Info",
                     "displayStatus": "VM %s" % power}]})
            return self.error(404, "NotFound", "No route for %s." % path)
        if kind == "Microsoft.Network/networkInterfaces" and len(rest) == 1 and method == "GET":
            if not self.check_api("2024-05-01"):
                return
            if rest[0] not in c["nics"]:
                return self.error(404, "ResourceNotFound", "The Resource "
                                  "'Microsoft.Network/networkInterfaces/%s' was not found." % rest[0])
            return self.send_json(200, self.nic_json(rest[0]))
        if kind in ("Microsoft.Compute/disks", "Microsoft.Compute/snapshots") and rest:
            if not self.check_api("2023-10-02"):
                return
            name = rest[0]
            is_snap = kind.endswith("snapshots")
            if is_snap and len(rest) == 1 and method == "PUT":
                req = json.loads(self.body() or b"{}")
                src = req.get("properties", {}).get("creationData", {}).get("sourceResourceId", "")
                disk = src.rsplit("/", 1)[-1]
                if disk not in c["disks"] or req.get("properties", {}).get("creationData", {}).get(
                        "createOption") != "Copy":
                    return self.error(400, "InvalidParameter",
                                      "sourceResourceId does not name a disk of this group.")
                with self.st.lock:
                    self.st.snapshots[name] = disk
                self.st.log("snapshot created %s of %s" % (name, disk))
                op, h = self.new_op(None)
                return self.send_json(202, None, {"Azure-AsyncOperation": h["Azure-AsyncOperation"],
                                                  "Retry-After": "0"})
            if is_snap and len(rest) == 1 and method == "DELETE":
                with self.st.lock:
                    existed = self.st.snapshots.pop(name, None)
                self.st.log("snapshot deleted %s" % name)
                return self.send_json(200 if existed else 204, None)
            source = self.st.snapshots.get(name) if is_snap else name
            if source not in c["disks"]:
                return self.error(404, "ResourceNotFound", "The Resource '%s/%s' under resource "
                                  "group '%s' was not found." % (kind, name, parts[3]))
            if len(rest) == 1 and method == "GET":
                return self.send_json(200, self.disk_json(name))
            if len(rest) == 2 and rest[1] == "beginGetAccess" and method == "POST":
                req = json.loads(self.body() or b"{}")
                if req.get("access") != "Read" or not isinstance(req.get("durationInSeconds"), int):
                    return self.error(400, "InvalidParameter",
                                      "access must be Read and durationInSeconds an integer.")
                owner = [vm for vm, v in c["vms"].items()
                         if v["os_disk"] == source or
                         any(x["disk"] == source for x in v.get("data_disks", []))]
                if not is_snap and owner and c["vms"][owner[0]]["power"] == "running":
                    return self.error(409, "OperationNotAllowed",
                                      "Cannot export disk '%s' while it is attached to running "
                                      "VM '%s'." % (name, owner[0]))
                blob = "%s/%s" % (c["azurite"], c["disks"][source]["blob"])
                sas = read_sas(blob)
                with self.st.lock:
                    self.st.granted.add(name)
                self.st.log("beginGetAccess %s" % name)
                op, h = self.new_op({"accessSAS": sas})
                return self.send_json(202, None, h)
            if len(rest) == 2 and rest[1] == "endGetAccess" and method == "POST":
                with self.st.lock:
                    self.st.granted.discard(name)
                self.st.log("endGetAccess %s" % name)
                op, h = self.new_op(None)
                return self.send_json(202, None, {"Location": h["Location"], "Retry-After": "0"})
        return self.error(404, "NotFound", "No route for %s %s." % (method, path))

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")


def serve(args):
    with open(args.config) as f:
        cfg = json.load(f)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    httpd.state = State(cfg, args.events, port)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    httpd.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--blob-url", required=True)
    s.add_argument("--ca", required=True)
    s.add_argument("--file", required=True)
    a2 = sub.add_parser("sas")
    a2.add_argument("--blob-url", required=True)
    v = sub.add_parser("serve")
    v.add_argument("--config", required=True)
    v.add_argument("--cert", required=True)
    v.add_argument("--key", required=True)
    v.add_argument("--port-file", required=True)
    v.add_argument("--events", required=True)
    a = ap.parse_args()
    if a.cmd == "seed":
        seed(a)
    elif a.cmd == "sas":
        print(read_sas(a.blob_url))
    else:
        serve(a)


if __name__ == "__main__":
    main()
