"""Normalization and comparison of responses.

Every response becomes a pair (kind, value):
  ("err", {"status": 400, "type": "ValidationException", "extra": {...}}) + the message apart,
  ("ok",  normalized body).
Fields that legitimately differ between implementations are replaced by placeholders; lists
whose order DynamoDB does not define are sorted. What is normalized and why is listed in
DIFFERENCES.md ("How responses are compared").
"""
import json
import re

# Timestamps: differ between any two runs.
TIMESTAMPS = {
    "CreationDateTime", "LastIncreaseDateTime", "LastDecreaseDateTime",
    "LastUpdateToPayPerRequestDateTime", "ApproximateCreationDateTime", "LastUpdateDateTime",
    "InaccessibleEncryptionDateTime", "CreationRequestDateTime", "EarliestRestorableDateTime", "LatestRestorableDateTime",
}
# Generated identifiers.
IDENTIFIERS = {
    "TableId": "<table-id>", "LatestStreamLabel": "<stream-label>", "StreamLabel": "<stream-label>",
    "ShardId": "<shard-id>", "ParentShardId": "<shard-id>", "SequenceNumber": "<seq>",
    "StartingSequenceNumber": "<seq>", "EndingSequenceNumber": "<seq>", "eventID": "<event-id>",
    "ShardIterator": "<iterator>", "NextShardIterator": "<iterator>",
    "LastEvaluatedShardId": "<shard-id>", "ExclusiveStartShardId": "<shard-id>",
    "ClientRequestToken": "<token>", "awsRegion": "<region>",
}
# "DynamoDB updates this value approximately every six hours" (TableDescription.ItemCount and
# TableSizeBytes): an implementation may report the live figure or a stale one; only the
# field's presence is compared.
APPROXIMATE = {"TableSizeBytes", "ItemCount", "IndexSizeBytes"}

ARN_RE = re.compile(r"arn:aws:dynamodb:[^:]*:[0-9]*:table/([^/\s\"]+)(/stream/[^\s\"]+)?")
AV_TYPES = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}
UNORDERED_LISTS = {"AttributeDefinitions": "AttributeName", "Tags": "Key", "Streams": None,
                   "TagKeys": None, "GlobalSecondaryIndexes": "IndexName", "LocalSecondaryIndexes": "IndexName"}


def norm_arn(s):
    def rep(m):
        out = f"arn:aws:dynamodb:<region>:<account>:table/{m.group(1)}"
        if m.group(2):
            out += "/stream/<stream-label>"
        return out
    return ARN_RE.sub(rep, s)


def canon(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def is_av(v):
    return isinstance(v, dict) and len(v) == 1 and next(iter(v)) in AV_TYPES


def norm_av(v):
    (t, x), = v.items()
    if t in ("SS", "NS", "BS") and isinstance(x, list):
        return {t: sorted(x)}
    if t == "M" and isinstance(x, dict):
        return {"M": {k: (norm_av(a) if is_av(a) else walk(a)) for k, a in x.items()}}
    if t == "L" and isinstance(x, list):
        return {"L": [norm_av(a) if is_av(a) else walk(a) for a in x]}
    return {t: x}


def walk(v, key=None):
    if isinstance(v, dict):
        if is_av(v):
            return norm_av(v)
        out = {}
        for k, x in v.items():
            if k in TIMESTAMPS:
                # DynamoDB Local reports "never" as 0 (LastIncreaseDateTime: 0.0); others omit it.
                if x not in (0, 0.0, None):
                    out[k] = "<timestamp>"
            elif k in IDENTIFIERS and x is not None:
                out[k] = IDENTIFIERS[k]
            elif k in APPROXIMATE and isinstance(x, (int, float)):
                out[k] = "<approximate>"
            elif k == "SequenceNumberRange":
                out[k] = {kk: "<seq>" for kk in x} if isinstance(x, dict) else x
            else:
                out[k] = walk(x, k)
        return out
    if isinstance(v, list):
        items = [walk(x) for x in v]
        if key in UNORDERED_LISTS:
            # by the naming field first, so that elements that differ are still paired up
            field = UNORDERED_LISTS[key]
            items.sort(key=lambda x: (canon(x.get(field)) if field and isinstance(x, dict) else "", canon(x)))
        return items
    if isinstance(v, str):
        return norm_arn(v) if "arn:aws:dynamodb" in v else v
    return v


def error_type(body):
    t = body.get("__type") or body.get("code") or "?"
    return t.split("#")[-1]


def error_message(body):
    for k in ("message", "Message"):
        if k in body:
            return body[k]
    return None


def sort_items(items):
    return sorted(items, key=canon) if isinstance(items, list) else items


def index_key_of(item, keys):
    """The index-key part of an item or key, numbers compared by value."""
    return canon([numeric(item.get(a)) if a else None for a in keys])


def group_sort(items, keys):
    """Items of an index are ordered by the index's sort key; among items with equal index keys
    the order is not defined. Runs of consecutive items with equal index keys are sorted."""
    out, run, run_key = [], [], None
    for it in items:
        k = index_key_of(it, keys)
        if run and k != run_key:
            out.extend(sorted(run, key=canon))
            run = []
        run.append(it)
        run_key = k
    out.extend(sorted(run, key=canon))
    return out


def normalize_index_query(b, req, keys):
    """A Query page of a secondary index. Items with the same index key as ExclusiveStartKey or
    LastEvaluatedKey are those whose presence on this page depends on the (undefined) order
    among equal index keys: they are left out, and so are the counts that depend on them."""
    uncertain = {index_key_of(k, keys) for k in (req.get("ExclusiveStartKey"), b.get("LastEvaluatedKey"))
                 if isinstance(k, dict)}
    items = b.get("Items")
    if isinstance(items, list):
        if uncertain and any(a and a not in it for it in items for a in keys):
            b["Items"] = "<not comparable: a page of equal index keys without those keys>"
        elif uncertain and "ExclusiveStartKey" in req and not keys[1:]:
            b["Items"] = "<not comparable: a start key inside a partition of a hash-only index>"
        else:
            b["Items"] = group_sort([it for it in items if index_key_of(it, keys) not in uncertain], keys)
    if uncertain:
        if "ExclusiveStartKey" in req:
            for k in ("Count", "ScannedCount"):
                if k in b:
                    b[k] = "<depends on the order of equal index keys>"
        elif any(k in req for k in ("FilterExpression", "QueryFilter")) and "Count" in b:
            b["Count"] = "<depends on the order of equal index keys>"
    if "ExclusiveStartKey" in req:
        # after a start key among equal index keys, whether more follow depends on that order
        b.pop("LastEvaluatedKey", None)
    elif isinstance(b.get("LastEvaluatedKey"), dict):
        b["LastEvaluatedKey"] = {a: v for a, v in b["LastEvaluatedKey"].items() if a in keys}
    return b


def normalize(op, req, status, body, index_keys=None):
    """-> (value to compare, message or None). `index_keys`: the key attributes of the
    secondary index a Query reads (from the generator's model), else None."""
    if status == 0:
        return {"transport-error": True}, body.get("__raw")
    if status != 200:
        extra = {k: walk(x) for k, x in body.items() if k not in ("__type", "message", "Message", "code")}
        out = {"status": status, "error": error_type(body)}
        msg = error_message(body)
        reasons = extra.get("CancellationReasons")
        if isinstance(reasons, list):
            # The reasons' messages are compared with the other messages (low severity).
            msgs = []
            for r in reasons:
                if isinstance(r, dict) and "Message" in r:
                    msgs.append(r.pop("Message"))
            msg = "%s | reasons: %s" % (msg, msgs)
        if extra:
            out["extra"] = extra
        return out, msg
    b = walk(body)
    if op == "BatchGetItem":
        if isinstance(b.get("Responses"), dict):
            b["Responses"] = {t: sort_items(x) for t, x in b["Responses"].items()}
        if isinstance(b.get("ConsumedCapacity"), list):
            b["ConsumedCapacity"] = sort_items(b["ConsumedCapacity"])
    if op == "BatchWriteItem":
        if isinstance(b.get("ConsumedCapacity"), list):
            b["ConsumedCapacity"] = sort_items(b["ConsumedCapacity"])
        if isinstance(b.get("UnprocessedItems"), dict):
            b["UnprocessedItems"] = {t: sort_items(x) for t, x in b["UnprocessedItems"].items()}
    if op in ("TransactGetItems", "TransactWriteItems") and isinstance(b.get("ConsumedCapacity"), list):
        b["ConsumedCapacity"] = sort_items(b["ConsumedCapacity"])
    if op == "Scan":
        # Scan order is not specified: "Scan ... returns one or more items" with no ordering
        # guarantee; items are compared as a multiset. When Limit or ExclusiveStartKey or a
        # segment is given, which items fall into the page depends on the implementation's
        # (unspecified) order, so only the counts that do not depend on it are compared.
        paged = any(k in req for k in ("Limit", "ExclusiveStartKey", "Segment"))
        if paged:
            out = {}
            if "Segment" not in req and "ExclusiveStartKey" not in req:
                # which items fall into a segment, or follow a start key, is up to the
                # implementation's order, and so is whether such a page is the last one
                out["LastEvaluatedKey?"] = "LastEvaluatedKey" in b
            if "ExclusiveStartKey" not in req and "Segment" not in req:
                out["ScannedCount"] = b.get("ScannedCount")
            if "ConsumedCapacity" in b:
                out["ConsumedCapacity"] = "<present>"
            return out, None
        if isinstance(b.get("Items"), list):
            b["Items"] = sort_items(b["Items"])
    if op == "Scan*" and isinstance(b.get("Items"), list):
        b["Items"] = sort_items(b["Items"])
    if op == "Query" and index_keys:
        b = normalize_index_query(b, req, index_keys)
    if op == "Query*" and index_keys and isinstance(b.get("Items"), list):
        b["Items"] = group_sort(b["Items"], index_keys)
    if op == "ListStreams" and isinstance(b.get("Streams"), list):
        b["Streams"] = sort_items(b["Streams"])
    if op == "DescribeStream":
        sd = b.get("StreamDescription")
        if isinstance(sd, dict) and isinstance(sd.get("Shards"), list):
            # Shard layout is an implementation detail (DynamoDB splits and rolls shards over
            # on its own schedule): only that at least one shard exists is compared.
            sd["Shards"] = "<%d+ shards>" % min(1, len(sd["Shards"]))
    return b, None


# ---- diffs -----------------------------------------------------------------------------

def diff(a, b, path="", out=None, in_item=False):
    """Differences between two normalized values: a list of (generalized path, detail)."""
    if out is None:
        out = []
    if len(out) > 50:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        item_like = in_item or (a and all(is_av(x) for x in a.values())) or (b and all(is_av(x) for x in b.values()))
        for k in sorted(set(a) | set(b)):
            if is_av(a) and is_av(b) and a.keys() != b.keys():
                out.append((path, "type %s vs %s" % (next(iter(a)), next(iter(b)))))
                return out
            gk = "<attr>" if (item_like and not is_av(a)) or (path.endswith(".M")) else k
            if path.endswith("RecordsByKey"):
                gk = "<key>"
            if path.rsplit(".", 1)[-1] in ("Responses", "UnprocessedItems", "UnprocessedKeys", "RequestItems"):
                gk = "<table>"
            p = f"{path}.{gk}" if path else gk
            if k not in a:
                out.append((p, "only in second"))
            elif k not in b:
                out.append((p, "only in first"))
            else:
                diff(a[k], b[k], p, out, in_item=False)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append((path + "[]", "length %d vs %d" % (len(a), len(b))))
            return out
        for x, y in zip(a, b):
            diff(x, y, path + "[]", out)
        return out
    if a != b:
        if path.endswith(".N") and isinstance(a, str) and isinstance(b, str) and \
                numeric({"N": a}) == numeric({"N": b}):
            out.append((path, "number-form"))
        else:
            out.append((path, "value"))
    return out


def numeric(v):
    """`v` with every number replaced by a canonical form of its value: used only to tell
    whether two responses differ in nothing but how numbers are written."""
    from decimal import Decimal, InvalidOperation

    def canon_n(x):
        try:
            d = Decimal(x)
            return "0" if d == 0 else format(d.normalize(), "E")
        except (InvalidOperation, TypeError, ValueError):
            return x
    if isinstance(v, dict):
        if len(v) == 1 and "N" in v and isinstance(v["N"], str):
            return {"N": canon_n(v["N"])}
        if len(v) == 1 and "NS" in v and isinstance(v["NS"], list):
            return {"NS": sorted(canon_n(x) for x in v["NS"])}
        return {k: numeric(x) for k, x in v.items()}
    if isinstance(v, list):
        return [numeric(x) for x in v]
    return v
