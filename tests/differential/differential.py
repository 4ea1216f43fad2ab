#!/usr/bin/env python3
"""Differential test: the same seeded, randomized sequence of DynamoDB requests against strata,
DynamoDB Local and Dynoxide; responses normalized and compared; differences deduplicated by
signature and written to a report.

    python3 tests/differential/differential.py --seed 1 --steps 3000

Normally run through tests/differential/run.sh, which installs and builds what is missing.
The script re-executes itself inside a user + network namespace with only loopback up
(`unshare -rn`), starts the three servers there on free ports, and stops them on exit.

Exit status: 0 when every strata-vs-DynamoDB-Local difference matches an entry of known.json,
1 otherwise, 2 on a setup failure.
"""
import argparse
import json
import os
import re
import signal
import sys
import time
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import servers as S  # noqa: E402
from generator import Gen  # noqa: E402
from normalize import canon, diff, normalize, numeric, walk  # noqa: E402

NAMES = ("strata", "ddblocal", "dynoxide")
FAILING = ("strata-vs-ddblocal", "strata-vs-dynoxide")
DDB = "DynamoDB_20120810."
STREAMS = "DynamoDBStreams_20120810."
WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
TABLE_OPS = {"CreateTable", "DeleteTable", "UpdateTable"}
# Operations DynamoDB Local does not implement (it answers UnknownOperationException): strata is
# compared with Dynoxide instead, in the section "strata-vs-dynoxide", which fails the run too.
DDBLOCAL_LACKS = {"TagResource", "UntagResource", "ListTagsOfResource", "DescribeContinuousBackups"}


# ---- per-server context: ARNs, stream ARNs, shard ids ------------------------------------------
class Ctx:
    def __init__(self):
        self.arn, self.stream, self.shard = {}, {}, {}

    def resolve(self, v):
        if isinstance(v, dict):
            return {k: self.resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.resolve(x) for x in v]
        if isinstance(v, str) and v.startswith("@@") and v.endswith("@@"):
            kind, _, table = v[2:-2].partition(":")
            fake = f"arn:aws:dynamodb:us-east-1:000000000000:table/{table}"
            if kind == "ARN":
                return self.arn.get(table, fake)
            if kind == "STREAM":
                return self.stream.get(table, fake + "/stream/2000-01-01T00:00:00.000")
            if kind == "SHARD":
                return self.shard.get(table, "shardId-00000000000000000000-00000000")
        return v

    def learn_table(self, desc):
        if not isinstance(desc, dict) or "TableName" not in desc:
            return
        name = desc["TableName"]
        if desc.get("TableArn"):
            self.arn[name] = desc["TableArn"]
        if desc.get("LatestStreamArn") and (desc.get("StreamSpecification") or {}).get("StreamEnabled"):
            self.stream[name] = desc["LatestStreamArn"]


class Runner:
    def __init__(self, servers, gen, args):
        self.srv = servers
        self.gen = gen
        self.args = args
        self.ctx = {n: Ctx() for n in NAMES}
        self.stream_tainted = set()
        self.op_counts = Counter()
        self.findings = {}  # signature -> finding
        self.skipped = Counter()
        self.resyncs = Counter()
        self.unsettled = Counter()
        self.unsettled_examples = []
        self.requests = 0
        self.crashed = None

    # -- calls --
    def call(self, name, target, body):
        self.requests += 1
        raw = json.dumps(body, ensure_ascii=False).encode()
        try:
            return S.Server.call(self.srv[name], target, raw)
        except S.TransportError as e:
            return 0, {"__raw": str(e)}

    def call_all(self, target, body_for):
        return {n: self.call(n, target, body_for(n)) for n in NAMES}

    def describe(self, name, table):
        st, b = self.call(name, DDB + "DescribeTable", {"TableName": table})
        if st == 200:
            self.ctx[name].learn_table(b.get("Table"))
            if (b.get("Table") or {}).get("StreamSpecification", {}).get("StreamEnabled") is not True:
                self.ctx[name].stream.pop(table, None)
        elif st == 400:
            self.ctx[name].arn.pop(table, None)
            self.ctx[name].stream.pop(table, None)
        return st == 200

    def learn_shard(self, name, table):
        arn = self.ctx[name].stream.get(table)
        if not arn:
            return
        st, b = self.call(name, STREAMS + "DescribeStream", {"StreamArn": arn})
        shards = (b.get("StreamDescription") or {}).get("Shards") or [] if st == 200 else []
        if shards:
            self.ctx[name].shard[table] = shards[0]["ShardId"]

    # -- composite steps --
    def scan_all(self, name, step):
        items, pages, err = [], 0, None
        for seg in range(step["segments"]):
            esk = None
            while True:
                body = dict(step["body"])
                if step["segments"] > 1:
                    body.update(Segment=seg, TotalSegments=step["segments"])
                if esk:
                    body["ExclusiveStartKey"] = esk
                st, b = self.call(name, DDB + "Scan", body)
                pages += 1
                if st != 200:
                    return st, b
                items.extend(b.get("Items", []))
                esk = b.get("LastEvaluatedKey")
                if not esk or pages > 400:
                    break
        return 200, {"Items": items, "Count": len(items)}

    def query_all(self, name, step):
        items, pages, esk = [], 0, None
        scanned = 0
        while True:
            body = dict(step["body"])
            if esk:
                body["ExclusiveStartKey"] = esk
            st, b = self.call(name, DDB + "Query", body)
            pages += 1
            if st != 200:
                return st, b
            items.extend(b.get("Items", []))
            scanned += b.get("ScannedCount", 0)
            esk = b.get("LastEvaluatedKey")
            if not esk or pages > 400:
                break
        out = {"Count": len(items), "ScannedCount": scanned}
        if "Select" not in step["body"] or step["body"]["Select"] != "COUNT":
            out["Items"] = items
        return 200, out

    def stream_read(self, name, table):
        arn = self.ctx[name].stream.get(table)
        if not arn:
            return 200, {"NoStream": True}
        st, b = self.call(name, STREAMS + "DescribeStream", {"StreamArn": arn})
        if st != 200:
            return st, b
        desc = b.get("StreamDescription", {})
        records = []
        for shard in (desc.get("Shards") or [])[:20]:
            st, b = self.call(name, STREAMS + "GetShardIterator", {
                "StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON"})
            if st != 200:
                return st, b
            it = b.get("ShardIterator")
            for _ in range(30):
                if not it:
                    break
                st, b = self.call(name, STREAMS + "GetRecords", {"ShardIterator": it})
                if st != 200:
                    return st, b
                recs = b.get("Records", [])
                records.extend(recs)
                it = b.get("NextShardIterator")
                if not recs:
                    break
        # DynamoDB Streams guarantees order per item only ("the stream records for a given
        # item appear in the same sequence as the actual modifications"): records are grouped
        # by key, each group order-sensitive.
        by_key = defaultdict(list)
        for r in records:
            d = r.get("dynamodb", {})
            rec = {"eventName": r.get("eventName"), "eventSource": r.get("eventSource"),
                   "eventVersion": r.get("eventVersion"), "StreamViewType": d.get("StreamViewType"),
                   "Keys": d.get("Keys"), "SizeBytes": d.get("SizeBytes")}
            for img in ("NewImage", "OldImage"):
                if img in d:
                    rec[img] = d[img]
            by_key[canon(numeric(walk(d.get("Keys"))))].append(rec)
        return 200, {"StreamViewType": desc.get("StreamViewType"), "StreamStatus": desc.get("StreamStatus"),
                     "RecordsByKey": dict(sorted(by_key.items()))}

    # -- one step --
    def run_step(self, i, step):
        op = step["op"]
        label = {"scan-all": "Scan(all pages%s)" % (", %d segments" % step.get("segments", 1) if step.get("segments", 1) > 1 else ""),
                 "query-all": "Query(all pages)",
                 "stream-read": "StreamRead"}.get(step["kind"], op)
        if "IndexName" in step["body"] and op in ("Query", "Scan"):
            label = label.replace(op, op + "[index]", 1)
        elif op == "UpdateTable" and "BillingMode" in step["body"]:
            label = "UpdateTable[billing]"
        elif op == "UpdateTable" and "GlobalSecondaryIndexUpdates" in step["body"]:
            label = "UpdateTable[index]"
        self.op_counts[label] += 1
        resp = {}
        sent = {}
        for n in NAMES:
            if step["kind"] == "scan-all":
                resp[n] = self.scan_all(n, step)
                sent[n] = step["body"]
            elif step["kind"] == "query-all":
                resp[n] = self.query_all(n, step)
                sent[n] = step["body"]
            elif step["kind"] == "stream-read":
                resp[n] = self.stream_read(n, step["table"])
                sent[n] = {"table": step["table"]}
            else:
                body = self.ctx[n].resolve(step["body"])
                sent[n] = body
                resp[n] = self.call(n, step["service"] + "." + op, body)
        for n in NAMES:
            if resp[n][0] == 0 and not self.srv[n].alive():
                self.crashed = (n, i, step)
        # learn ARNs from responses
        for n in NAMES:
            st, b = resp[n]
            if st == 200 and op in ("CreateTable", "UpdateTable"):
                self.ctx[n].learn_table(b.get("TableDescription"))
        ref_ok = resp["ddblocal"][0] == 200
        self.gen.observe(step, ref_ok, resp["ddblocal"][1])
        skip = step["kind"] == "stream-read" and step["table"] in self.stream_tainted
        if skip:
            self.skipped[label] += 1
        else:
            self.compare(i, label, op, step, sent, resp)
        if step["kind"] == "plain" and op in TABLE_OPS and step.get("table"):
            self.after_table_op(step)
        if step["kind"] == "plain" and op in WRITE_OPS:
            self.check_state(i, op, step)

    def settle(self, name, table, timeout=20.0):
        """Polls DescribeTable until the table and all its indexes are ACTIVE (strata backfills a
        new GSI in the background; DynamoDB Local takes a moment to create or drop one).
        Returns the final description, or None when the table does not exist."""
        deadline = time.monotonic() + timeout
        while True:
            st, b = self.call(name, DDB + "DescribeTable", {"TableName": table})
            if st != 200:
                return None
            d = b.get("Table") or {}
            busy = d.get("TableStatus") not in ("ACTIVE", None) or any(
                x.get("IndexStatus", "ACTIVE") != "ACTIVE" or x.get("Backfilling")
                for x in d.get("GlobalSecondaryIndexes") or [])
            if not busy:
                return d
            if time.monotonic() > deadline:
                self.unsettled[name] += 1
                self.just_unsettled = True
                self.unsettled_examples.append((name, table, d.get("TableStatus"), [
                    (x.get("IndexName"), x.get("IndexStatus"), x.get("Backfilling"))
                    for x in d.get("GlobalSecondaryIndexes") or []]))
                return d
            time.sleep(0.05)

    def after_table_op(self, step):
        t = step["table"]
        exists = {n: self.describe(n, t) for n in NAMES}
        for n in NAMES:
            self.learn_shard(n, t)
        self.just_unsettled = False
        desc = {n: self.settle(n, t) if exists[n] else None for n in NAMES}
        if desc["ddblocal"] is not None:
            self.gen.learn(t, desc["ddblocal"])
        index_sets = {n: tuple(sorted(x.get("IndexName") for k in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
                                      for x in (desc[n] or {}).get(k) or []))
                      for n in NAMES if desc[n] is not None}
        if step["op"] == "CreateTable" or step["op"] == "DeleteTable":
            self.stream_tainted.discard(t)
        billing = {n: (desc[n].get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
                   for n in NAMES if desc[n] is not None}
        drop = len(set(exists.values())) > 1
        if not drop and len(index_sets) == len(NAMES) and (
                len(set(index_sets.values())) > 1 or len(set(billing.values())) > 1 or self.just_unsettled):
            # The servers disagree on the table's indexes or billing mode (the difference itself
            # was reported at the CreateTable/UpdateTable step), or an index never became ACTIVE
            # on one of them: the table is dropped everywhere as well.
            drop = True
            self.resyncs["index"] += 1
        elif drop:
            self.resyncs["table"] += 1
        if drop:
            # The servers disagree on whether the table exists: drop it everywhere so the
            # rest of the run is not one long cascade of the same difference.
            self.drop_table(t, [n for n in NAMES if exists[n]])

    def drop_table(self, t, names=NAMES):
        for n in names:
            self.call(n, DDB + "DeleteTable", {"TableName": t})
            self.ctx[n].arn.pop(t, None)
            self.ctx[n].stream.pop(t, None)
        self.gen.tables.pop(t, None)

    def check_state(self, i, op, step):
        seen = set()
        for table, key in step["keys"]:
            c = (table, canon(key))
            if c in seen or table not in self.gen.tables:
                continue
            seen.add(c)
            req = {"TableName": table, "Key": key, "ConsistentRead": True}
            got = {n: self.call(n, DDB + "GetItem", req) for n in NAMES}
            if got["ddblocal"][0] != 200:
                continue
            ref_item = got["ddblocal"][1].get("Item")
            norm = {n: walk(got[n][1].get("Item")) if got[n][0] == 200 else {"error": got[n]} for n in NAMES}
            if norm["strata"] != norm["ddblocal"] or norm["dynoxide"] != norm["ddblocal"]:
                self.record_state(i, op, step, req, got, norm)
                failed = False
                for n in ("strata", "dynoxide"):
                    if norm[n] != norm["ddblocal"]:
                        if ref_item is not None:
                            st, _ = self.call(n, DDB + "PutItem", {"TableName": table, "Item": ref_item})
                        else:
                            st, _ = self.call(n, DDB + "DeleteItem", {"TableName": table, "Key": key})
                        failed |= st != 200
                        self.resyncs["item"] += 1
                        self.stream_tainted.add(table)
                if failed:
                    # the reference holds an item the other server refuses to store (e.g. an
                    # index key of the wrong type): the table is dropped everywhere
                    self.drop_table(table)
                    self.resyncs["table"] += 1

    # -- comparison and recording --
    def compare(self, i, label, op, step, sent, resp):
        self.last_differs = False
        norm, msg = {}, {}
        for n in NAMES:
            st, b = resp[n]
            kind_op = {"scan-all": "Scan*", "query-all": "Query*"}.get(step["kind"], op)
            norm[n], msg[n] = normalize(kind_op, sent[n], st, b, index_keys=step.get("index_keys"))
        s, d, x = norm["strata"], norm["ddblocal"], norm["dynoxide"]
        if op == "ListStreams" and (self.resyncs["table"] or self.resyncs["index"]):
            self.skipped[label] += 1  # a table dropped by a resync leaves its stream behind
            return
        if op in DDBLOCAL_LACKS and d.get("error") == "UnknownOperationException":
            if x.get("error") == "UnknownOperationException":
                self.skipped[label + " (no reference implements it)"] += 1
            elif s != x:
                for sig in signatures(label, s, x, resp["strata"], resp["dynoxide"], "strata", "dynoxide"):
                    self.add("strata-vs-dynoxide", sig, i, step, sent, resp, norm, "-")
            elif "error" in s and msg["strata"] != msg["dynoxide"]:
                sig = "%s | message | %s | %s" % (label, s["error"], gen_msg(msg["dynoxide"]))
                self.add("message", sig, i, step, sent, resp, norm, "-")
            return
        self.last_differs = s != d
        if s != d and any(k == "number-form" for _, k in diff(s, d)):
            # DynamoDB Local returns some numbers as they were written ("5.", "1e2", "+7")
            # where DynamoDB, strata and Dynoxide return them normalized.
            self.add("ddblocal-number-form", "%s | number form" % label, i, step, sent, resp, norm,
                     "strata" if numeric(s) == numeric(x) else "-")
        if s != d and (numeric(s) != numeric(d) or "error" in s or "error" in d):
            agree = "ddblocal" if x == d else ("strata" if x == s else "neither")
            for sig in signatures(label, s, d, resp["strata"], resp["ddblocal"], "strata", "ddblocal"):
                self.add("strata-vs-ddblocal", sig, i, step, sent, resp, norm, agree)
        elif s != x:
            for sig in signatures(label, s, x, resp["strata"], resp["dynoxide"], "strata+ddblocal", "dynoxide"):
                self.add("dynoxide-only", sig, i, step, sent, resp, norm, "strata+ddblocal")
        # messages of errors of the same type
        if s == d and "error" in s and msg["strata"] != msg["ddblocal"]:
            sig = "%s | message | %s | %s" % (label, s["error"], gen_msg(msg["ddblocal"]))
            self.add("message", sig, i, step, sent, resp, norm, "ddblocal" if msg["dynoxide"] == msg["ddblocal"] else "-")

    def record_state(self, i, op, step, req, got, norm):
        s, d, x = norm["strata"], norm["ddblocal"], norm["dynoxide"]
        fake_sent = {n: step["body"] for n in NAMES}
        resp = {n: got[n] for n in NAMES}
        note = {"state-check": req}
        if s != d and numeric(s) == numeric(d):
            self.add("ddblocal-number-form", "%s | state number form" % op, i, step, fake_sent, resp, norm, "strata", note)
        elif s != d and getattr(self, "last_differs", False):
            # the response already differed (and is reported): the state follows from it
            self.skipped[op + " state check after a reported response difference"] += 1
        elif s != d:
            agree = "ddblocal" if x == d else ("strata" if x == s else "neither")
            for p in sorted({p for p, _ in diff(s, d)})[:4] or ["item"]:
                self.add("strata-vs-ddblocal", "%s | state | %s" % (op, p or "item"), i, step, fake_sent, resp, norm, agree, note)
        elif x != d:
            for p in sorted({p for p, _ in diff(d, x)})[:4] or ["item"]:
                self.add("dynoxide-only", "%s | state | %s" % (op, p or "item"), i, step, fake_sent, resp, norm, "strata+ddblocal", note)

    def add(self, section, sig, i, step, sent, resp, norm, agree, note=None):
        key = (section, sig)
        f = self.findings.get(key)
        size = len(canon(step["body"]))
        ex = {"seed": self.gen.seed, "step": i, "request": {"op": step["op"], "kind": step["kind"], "body": step["body"],
                                     **({"segments": step["segments"]} if "segments" in step else {}),
                                     **({"table": step["table"]} if step["kind"] == "stream-read" else {})},
              "responses": {n: {"status": resp[n][0], "body": resp[n][1]} for n in NAMES},
              "agree": agree, "size": size}
        if note:
            ex.update(note)
        if f is None:
            self.findings[key] = {"section": section, "signature": sig, "count": 1, "first_step": i,
                                  "example": ex, "agree": Counter([agree])}
        else:
            f["count"] += 1
            f["agree"][agree] += 1
            if size < f["example"]["size"]:
                f["example"] = ex


def desc(v):
    if "transport-error" in v:
        return "CONNECTION-FAILED"
    if "error" in v:
        return "%s %s" % (v["status"], v["error"])
    return "OK"


def gen_msg(m):
    if not isinstance(m, str):
        return str(m)
    m = m.split(";")[0]
    m = re.sub(r"'[^']*'", "'…'", m)
    m = re.sub(r'"[^"]*"', '"…"', m)
    m = re.sub(r"\b\d+\b", "N", m)
    m = re.sub(r"(:|#)[A-Za-z_][A-Za-z0-9_]*", r"\1x", m)
    return m[:90]


def signatures(label, a, b, ra, rb, na, nb):
    """One signature per differing field, so that each can be listed as known on its own."""
    if "error" in a or "error" in b or "transport-error" in a or "transport-error" in b:
        return [signature(label, a, b, ra, rb, na, nb)]
    paths = sorted({p for p, k in diff(a, b) if k != "number-form"})
    return ["%s | body | %s" % (label, p) for p in paths[:6]]


def signature(label, a, b, ra, rb, na, nb):
    if "error" in a or "error" in b or "transport-error" in a or "transport-error" in b:
        if desc(a) != desc(b):
            # the cause, from whichever side rejected the request (the reference preferred)
            why = ""
            if "error" in b:
                why = gen_msg(rb[1].get("message") or rb[1].get("Message"))
            elif "error" in a:
                why = gen_msg(ra[1].get("message") or ra[1].get("Message"))
            return "%s | error-type | %s=%s %s=%s | %s" % (label, na, desc(a), nb, desc(b), why)
        paths = sorted({p for p, _ in diff(a, b)})
        return "%s | error-body | %s | %s" % (label, a.get("error"), ", ".join(paths[:4]))
    paths = sorted({p for p, _ in diff(a, b)})
    more = " (+%d)" % (len(paths) - 4) if len(paths) > 4 else ""
    return "%s | body | %s%s" % (label, ", ".join(paths[:4]), more)


# ---- known differences -----------------------------------------------------------------------
def load_known(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        data = json.load(f)
    out = []
    for e in data.get("known", []):
        e = dict(e)
        e["_re"] = re.compile(e["match"])
        out.append(e)
    return out


def classify(finding, known):
    for e in known:
        sec = e.get("section")
        if ((sec is None and finding["section"] in FAILING) or sec == finding["section"]) and \
                e["_re"].search(finding["signature"]):
            return e
    return None


# ---- report ------------------------------------------------------------------------------------
def trunc(v, n=1800):
    s = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= n else s[:n] + " …(%d chars)" % len(s)


def write_report(path, runner, meta, known):
    f = runner.findings
    lines = ["# Differential run: strata vs DynamoDB Local vs Dynoxide", ""]
    lines.append("Generated by `tests/differential/run.sh` (`differential.py`). Seeds: %s; steps per seed: %s; "
                 "requests sent (all servers, incl. state checks): %d; wall time %.1fs." %
                 (meta["seeds"], meta["steps"], runner.requests, meta["elapsed"]))
    lines.append("")
    lines.append("Server start-up: " + ", ".join("%s %.2fs" % kv for kv in meta["startup"].items()) +
                 ". Resyncs after a divergence: %d item(s), %d table(s), %d table(s) whose indexes or billing mode differed. " % (
                     runner.resyncs["item"], runner.resyncs["table"], runner.resyncs["index"]) +
                 ("Indexes that did not become ACTIVE (or finish deleting) within 20s, table dropped: %s (first: %s). " % (
                     dict(runner.unsettled), runner.unsettled_examples[:3]) if runner.unsettled else "") +
                 "Stream reads skipped (stream polluted by a resync): %d." % sum(runner.skipped.values()))
    if runner.crashed:
        n, i, step = runner.crashed
        lines += ["", "**%s stopped answering at step %d** (%s): %s" % (n, i, step["op"], trunc(step["body"], 600))]
    lines += ["", "## Steps and mismatches per operation", "",
              "| operation | steps | strata≠reference (unknown) | strata≠reference (known) | only Dynoxide differs | message-only |",
              "|---|---:|---:|---:|---:|---:|"]
    per = defaultdict(Counter)
    for (sec, sig), x in f.items():
        op = sig.split(" | ")[0]
        if sec in ("strata-vs-ddblocal", "strata-vs-dynoxide"):
            per[op]["known" if classify(x, known) else "unknown"] += x["count"]
        else:
            per[op][sec] += x["count"]
    for op in sorted(set(runner.op_counts) | set(per)):
        c = per[op]
        lines.append("| %s | %d | %d | %d | %d | %d |" % (op, runner.op_counts.get(op, 0), c["unknown"], c["known"],
                                                         c["dynoxide-only"], c["message"]))
    lines.append("")
    sections = [
        ("strata-vs-ddblocal", False, "## strata ≠ DynamoDB Local: not in known.json (these fail the run)"),
        ("strata-vs-ddblocal", True, "## strata ≠ DynamoDB Local: known differences (known.json / DIFFERENCES.md)"),
        ("strata-vs-dynoxide", False, "## strata ≠ Dynoxide on operations DynamoDB Local lacks: not in known.json (these fail the run)"),
        ("strata-vs-dynoxide", True, "## strata ≠ Dynoxide on operations DynamoDB Local lacks: known differences"),
        ("dynoxide-only", None, "## strata = DynamoDB Local ≠ Dynoxide"),
        ("ddblocal-number-form", None, "## Numbers DynamoDB Local returns un-normalized (strata = Dynoxide; not failing, see DIFFERENCES.md D-NUM)"),
        ("message", None, "## Error messages (same error type, different message; low severity)"),
    ]
    for sec, want_known, title in sections:
        items = [x for (s, _), x in f.items() if s == sec and
                 (want_known is None or bool(classify(x, known)) == want_known)]
        items.sort(key=lambda x: (x["signature"].split(" | ")[0], -x["count"]))
        lines += ["", title, "", "%d distinct signature(s)." % len(items), ""]
        for x in items:
            k = classify(x, known)
            ex = x["example"]
            lines.append("### `%s`" % x["signature"].replace("`", "'"))
            lines.append("")
            extra = " Known: **%s** (%s)." % (k["id"], k.get("verdict", "")) if k else ""
            agree = ", ".join("%s %d" % kv for kv in x["agree"].most_common())
            lines.append("Occurrences: %d (first at step %d). Dynoxide sides with: %s.%s" % (x["count"], x["first_step"], agree, extra))
            lines.append("")
            if sec == "message":
                lines.append("- request: `%s %s`" % (ex["request"]["op"], trunc(ex["request"]["body"], 400)))
                for n in NAMES:
                    b = ex["responses"][n]["body"]
                    lines.append("- %s: `%s`" % (n, trunc(b.get("message", b.get("Message")), 250)))
                lines.append("")
                continue
            lines.append("Request (seed %s, step %d): `%s`" % (ex.get("seed", "?"), ex["step"], trunc(ex["request"], 800)))
            if "state-check" in ex:
                lines.append("")
                lines.append("State check afterwards (GetItem, ConsistentRead): `%s`" % trunc(ex["state-check"], 400))
            lines.append("")
            for n in NAMES:
                r = ex["responses"][n]
                lines.append("- **%s** %s: `%s`" % (n, r["status"], trunc(r["body"], 600)))
            lines.append("")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, action="append", help="seed (repeatable); default 1")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--report", default=os.path.join(HERE, "last-run.md"))
    ap.add_argument("--json", default=None, help="also write the findings as JSON here")
    ap.add_argument("--known", default=os.path.join(HERE, "known.json"))
    ap.add_argument("--progress", type=int, default=500)
    args = ap.parse_args()
    seeds = args.seed or [1]
    S.enter_netns()

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)  # unwinds through the `finally` that stops the servers
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    known = load_known(args.known)
    t0 = time.monotonic()
    total = None
    startup = {}
    for seed in seeds:
        try:
            srv, startup = S.start_all(NAMES)
        except (RuntimeError, SystemExit) as e:
            print("setup failed:", e, file=sys.stderr)
            sys.exit(2)
        try:
            gen = Gen(seed)
            runner = Runner(srv, gen, args)
            if total is not None:  # accumulate findings over seeds
                runner.findings, runner.op_counts, runner.skipped, runner.resyncs, runner.unsettled = (
                    total.findings, total.op_counts, total.skipped, total.resyncs, total.unsettled)
                runner.unsettled_examples = total.unsettled_examples
                runner.requests = total.requests
            ts = time.monotonic()
            for i in range(args.steps):
                step = gen.step()
                runner.run_step(i, step)
                if runner.crashed:
                    print("server %s stopped answering at step %d" % runner.crashed[:2], file=sys.stderr)
                    break
                if args.progress and (i + 1) % args.progress == 0:
                    n_unknown = sum(1 for x in runner.findings.values() if x["section"] in FAILING and not classify(x, known))
                    print("seed %d: %d steps, %.1fs, %d signatures (%d unknown strata≠ddblocal)" %
                          (seed, i + 1, time.monotonic() - ts, len(runner.findings), n_unknown), file=sys.stderr)
            total = runner
        finally:
            for s in srv.values():
                s.stop()
        if runner.crashed:
            break
    meta = {"seeds": ", ".join(map(str, seeds)), "steps": args.steps, "elapsed": time.monotonic() - t0,
            "startup": startup}
    write_report(args.report, total, meta, known)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([{**x, "agree": dict(x["agree"]), "known": (classify(x, known) or {}).get("id")}
                       for x in total.findings.values()], fh, indent=1, default=str)
    unknown = [x for x in total.findings.values() if x["section"] in FAILING and not classify(x, known)]
    print("report: %s" % args.report)
    print("%d step(s), %d request(s), %.1fs; strata≠DDB Local signatures: %d unknown, %d known; "
          "Dynoxide-only: %d; message-only: %d" % (
              sum(total.op_counts.values()), total.requests, meta["elapsed"], len(unknown),
              sum(1 for x in total.findings.values() if x["section"] in FAILING) - len(unknown),
              sum(1 for x in total.findings.values() if x["section"] == "dynoxide-only"),
              sum(1 for x in total.findings.values() if x["section"] == "message")))
    for x in sorted(unknown, key=lambda x: x["signature"]):
        print("  UNKNOWN  %s  (x%d)" % (x["signature"], x["count"]))
    sys.exit(1 if unknown or total.crashed else 0)


if __name__ == "__main__":
    main()
