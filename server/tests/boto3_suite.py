"""boto3 (botocore's own model of the API, request signing, retries and paginators) against
strata: every operation, the error paths, pagination, transactions, streams consumed from
TRIM_HORIZON through shard lineage, and SigV4 rejection.

Run by server/tests/http.rs, which starts two servers and sets:
  STRATA_ENDPOINT         any credentials accepted; stream shards close every 10 records;
                          expired items are swept every 100 ms
  STRATA_SIGNED_ENDPOINT  requires SigV4 with key AKIDGOOD / secret-good
"""
import os
import time
import unittest
import uuid

import boto3
import botocore
from botocore.exceptions import ClientError

ENDPOINT = os.environ["STRATA_ENDPOINT"]
KW = dict(endpoint_url=ENDPOINT, region_name="us-east-1",
          aws_access_key_id="x", aws_secret_access_key="y")
ddb = boto3.client("dynamodb", **KW)
streams = boto3.client("dynamodbstreams", **KW)


def new_table(streams_view=None, hash_type="S", range_type="N"):
    """A fresh table (pk HASH, sk RANGE) with a unique name."""
    name = "t-" + uuid.uuid4().hex[:12]
    kw = {}
    if streams_view:
        kw["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": streams_view}
    out = ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": hash_type},
                              {"AttributeName": "sk", "AttributeType": range_type}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST", **kw)["TableDescription"]
    assert out["TableStatus"] == "ACTIVE", out
    return name, out


def key(pk, sk):
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


class ErrorCase(unittest.TestCase):
    def assertError(self, code, fn, *args, **kwargs):
        """Calls fn and asserts it failed with DynamoDB error `code`; returns the response."""
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        self.assertTrue(cm.exception.response["Error"]["Message"], cm.exception.response)
        return cm.exception.response


class Tables(ErrorCase):
    def test_create_describe_list_update_delete(self):
        name, desc = new_table()
        self.assertTrue(desc["TableArn"].startswith("arn:aws:dynamodb:us-east-1:"))
        self.assertEqual(desc["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")
        got = ddb.describe_table(TableName=name)["Table"]
        self.assertEqual(got["KeySchema"], desc["KeySchema"])
        self.assertEqual(got["ItemCount"], 0)
        self.assertError("ResourceInUseException", new_table_named, name)
        # ListTables through the paginator, one name a page.
        names = [n for page in ddb.get_paginator("list_tables").paginate(
            PaginationConfig={"PageSize": 1}) for n in page["TableNames"]]
        self.assertIn(name, names)
        self.assertEqual(names, sorted(names))
        # UpdateTable: provisioned throughput, then a stream.
        out = ddb.update_table(TableName=name, BillingMode="PROVISIONED",
                               ProvisionedThroughput={"ReadCapacityUnits": 5,
                                                      "WriteCapacityUnits": 7})
        self.assertEqual(out["TableDescription"]["ProvisionedThroughput"]["WriteCapacityUnits"], 7)
        out = ddb.update_table(TableName=name, StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        self.assertIn("LatestStreamArn", out["TableDescription"])
        ddb.get_waiter("table_exists").wait(TableName=name)
        ddb.delete_table(TableName=name)
        self.assertError("ResourceNotFoundException", ddb.describe_table, TableName=name)
        self.assertError("ResourceNotFoundException", ddb.delete_table, TableName=name)

    def test_invalid_definitions(self):
        self.assertError(
            "ValidationException", ddb.create_table, TableName="bad-defs",
            AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "b", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
        self.assertError(
            "ValidationException", ddb.create_table, TableName="x",  # name too short
            AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
        self.assertError("ResourceNotFoundException", ddb.describe_table, TableName="no-such-table")

    def test_control_plane(self):
        name, desc = new_table()
        arn = desc["TableArn"]
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "billing"},
                                                {"Key": "env", "Value": "test"}])
        ddb.untag_resource(ResourceArn=arn, TagKeys=["env"])
        self.assertEqual(ddb.list_tags_of_resource(ResourceArn=arn)["Tags"],
                         [{"Key": "team", "Value": "billing"}])
        limits = ddb.describe_limits()
        self.assertGreater(limits["TableMaxReadCapacityUnits"], 0)
        endpoints = ddb.describe_endpoints()["Endpoints"]
        self.assertTrue(endpoints[0]["Address"])
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        self.assertIn(ttl["TimeToLiveStatus"], ("DISABLED", "ENABLED"))
        backups = ddb.describe_continuous_backups(TableName=name)
        self.assertEqual(backups["ContinuousBackupsDescription"]["ContinuousBackupsStatus"],
                         "ENABLED")
        self.assertError("ResourceNotFoundException", ddb.describe_time_to_live,
                         TableName="no-such-table")
        self.assertError("TableNotFoundException", ddb.describe_continuous_backups,
                         TableName="no-such-table")


def new_table_named(name):
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST")


class Items(ErrorCase):
    @classmethod
    def setUpClass(cls):
        cls.table, _ = new_table()

    def test_put_get_update_delete(self):
        t = self.table
        out = ddb.put_item(TableName=t, Item={**key("a", 1), "n": {"N": "1"}, "s": {"SS": ["x", "y"]}},
                           ReturnValues="ALL_OLD")
        self.assertNotIn("Attributes", out)
        out = ddb.put_item(TableName=t, Item={**key("a", 1), "n": {"N": "2"}}, ReturnValues="ALL_OLD")
        self.assertEqual(out["Attributes"]["n"], {"N": "1"})
        got = ddb.get_item(TableName=t, Key=key("a", 1), ConsistentRead=True,
                           ProjectionExpression="#n", ExpressionAttributeNames={"#n": "n"})
        self.assertEqual(got["Item"], {"n": {"N": "2"}})
        self.assertNotIn("Item", ddb.get_item(TableName=t, Key=key("a", 404)))
        # m does not exist: a path inside it is invalid for update.
        self.assertError("ValidationException", ddb.update_item, TableName=t, Key=key("a", 1),
                         UpdateExpression="SET m.#x = :v", ExpressionAttributeNames={"#x": "x"},
                         ExpressionAttributeValues={":v": {"S": "v"}})
        ddb.delete_item(TableName=t, Key=key("a", 1))
        self.assertNotIn("Item", ddb.get_item(TableName=t, Key=key("a", 1), ConsistentRead=True))

    def test_update_return_values(self):
        t = self.table
        ddb.put_item(TableName=t, Item={**key("u", 1), "n": {"N": "10"}, "m": {"M": {}}})
        out = ddb.update_item(TableName=t, Key=key("u", 1),
                              UpdateExpression="SET m.x = :v ADD n :one REMOVE gone",
                              ExpressionAttributeValues={":v": {"S": "v"}, ":one": {"N": "1"}},
                              ReturnValues="UPDATED_NEW")
        self.assertEqual(out["Attributes"], {"m": {"M": {"x": {"S": "v"}}}, "n": {"N": "11"}})
        out = ddb.update_item(TableName=t, Key=key("u", 1), UpdateExpression="SET n = n - :one",
                              ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_OLD")
        self.assertEqual(out["Attributes"], {"n": {"N": "11"}})
        out = ddb.update_item(TableName=t, Key=key("u", 2), UpdateExpression="SET created = :t",
                              ExpressionAttributeValues={":t": {"BOOL": True}}, ReturnValues="ALL_NEW")
        self.assertEqual(out["Attributes"], {**key("u", 2), "created": {"BOOL": True}})
        self.assertError("ValidationException", ddb.update_item, TableName=t, Key=key("u", 1),
                         UpdateExpression="SET missing.x = :v",
                         ExpressionAttributeValues={":v": {"S": "v"}})
        self.assertError("ValidationException", ddb.update_item, TableName=t, Key=key("u", 1),
                         UpdateExpression="SET pk = :v", ExpressionAttributeValues={":v": {"S": "v"}})

    def test_conditions(self):
        t = self.table
        ddb.put_item(TableName=t, Item={**key("c", 1), "v": {"N": "1"}})
        resp = self.assertError("ConditionalCheckFailedException", ddb.put_item, TableName=t,
                                Item=key("c", 1), ConditionExpression="attribute_not_exists(pk)",
                                ReturnValuesOnConditionCheckFailure="ALL_OLD")
        self.assertEqual(resp["Item"]["v"], {"N": "1"})
        self.assertError("ConditionalCheckFailedException", ddb.delete_item, TableName=t,
                         Key=key("c", 1), ConditionExpression="v > :x",
                         ExpressionAttributeValues={":x": {"N": "5"}})
        out = ddb.delete_item(TableName=t, Key=key("c", 1), ConditionExpression="v = :x",
                              ExpressionAttributeValues={":x": {"N": "1"}}, ReturnValues="ALL_OLD")
        self.assertEqual(out["Attributes"]["v"], {"N": "1"})
        self.assertNotIn("Item", ddb.get_item(TableName=t, Key=key("c", 1)))
        # Legacy Expected still works.
        ddb.put_item(TableName=t, Item=key("c", 2), Expected={"pk": {"Exists": False}})

    def test_invalid_items(self):
        t = self.table
        self.assertError("ValidationException", ddb.put_item, TableName=t, Item={"pk": {"S": "a"}})
        self.assertError("ValidationException", ddb.put_item, TableName=t,
                         Item={"pk": {"S": "a"}, "sk": {"S": "not a number"}})
        self.assertError("ValidationException", ddb.get_item, TableName=t,
                         Key={**key("a", 1), "extra": {"S": "x"}})
        self.assertError("ValidationException", ddb.put_item, TableName=t,
                         Item={**key("big", 1), "v": {"S": "x" * (400 * 1024)}})
        self.assertError("ValidationException", ddb.put_item, TableName=t,
                         Item={**key("e", 1), "s": {"SS": []}})
        self.assertError("ValidationException", ddb.put_item, TableName=t,
                         Item={**key("e", 1), "n": {"N": "1e200"}})
        self.assertError("ValidationException", ddb.update_item, TableName=t, Key=key("e", 1),
                         UpdateExpression="SET a = :undefined")
        self.assertError("ResourceNotFoundException", ddb.put_item, TableName="no-such-table",
                         Item=key("a", 1))


class QueryScan(ErrorCase):
    @classmethod
    def setUpClass(cls):
        cls.table, _ = new_table()
        for i in range(30):
            ddb.put_item(TableName=cls.table, Item={**key("q", i), "v": {"N": str(i % 5)},
                                                    "name": {"S": f"item-{i:02}"}})
        for i in range(10):
            ddb.put_item(TableName=cls.table, Item={**key("other", i)})

    def test_query_pagination_and_order(self):
        pages = list(ddb.get_paginator("query").paginate(
            TableName=self.table, KeyConditionExpression="pk = :p AND sk >= :lo",
            ExpressionAttributeValues={":p": {"S": "q"}, ":lo": {"N": "5"}},
            ScanIndexForward=False, PaginationConfig={"PageSize": 7}))
        got = [int(i["sk"]["N"]) for p in pages for i in p["Items"]]
        self.assertEqual(got, list(range(29, 4, -1)))
        self.assertGreater(len(pages), 3)
        self.assertEqual(pages[0]["LastEvaluatedKey"], key("q", 23))

    def test_query_filter_select_projection(self):
        out = ddb.query(TableName=self.table, KeyConditionExpression="pk = :p",
                        FilterExpression="v = :zero", Select="COUNT",
                        ExpressionAttributeValues={":p": {"S": "q"}, ":zero": {"N": "0"}})
        self.assertEqual((out["Count"], out["ScannedCount"]), (6, 30))
        self.assertNotIn("Items", out)
        out = ddb.query(TableName=self.table, KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                        ProjectionExpression="#n", ExpressionAttributeNames={"#n": "name"},
                        ExpressionAttributeValues={":p": {"S": "q"}, ":a": {"N": "3"}, ":b": {"N": "4"}})
        self.assertEqual(out["Items"], [{"name": {"S": "item-03"}}, {"name": {"S": "item-04"}}])
        self.assertError("ValidationException", ddb.query, TableName=self.table,
                         KeyConditionExpression="sk = :s", ExpressionAttributeValues={":s": {"N": "1"}})
        self.assertError("ValidationException", ddb.query, TableName=self.table,
                         KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"N": "1"}})

    def test_scan_paginated_and_parallel(self):
        items = [i for p in ddb.get_paginator("scan").paginate(
            TableName=self.table, PaginationConfig={"PageSize": 9}) for i in p["Items"]]
        self.assertEqual(len(items), 40)
        seen = []
        for segment in range(3):
            for page in ddb.get_paginator("scan").paginate(
                    TableName=self.table, Segment=segment, TotalSegments=3,
                    PaginationConfig={"PageSize": 4}):
                seen += [(i["pk"]["S"], i["sk"]["N"]) for i in page["Items"]]
        self.assertEqual(sorted(seen), sorted((i["pk"]["S"], i["sk"]["N"]) for i in items))
        self.assertError("ValidationException", ddb.scan, TableName=self.table, Segment=3,
                         TotalSegments=3)


class Batches(ErrorCase):
    def test_batch_write_and_get(self):
        t, _ = new_table()
        puts = [{"PutRequest": {"Item": {**key("b", i), "v": {"N": str(i)}}}} for i in range(25)]
        out = ddb.batch_write_item(RequestItems={t: puts})
        self.assertEqual(out["UnprocessedItems"], {})
        deletes = [{"DeleteRequest": {"Key": key("b", i)}} for i in range(20, 25)]
        ddb.batch_write_item(RequestItems={t: deletes})
        out = ddb.batch_get_item(RequestItems={t: {
            "Keys": [key("b", 1), key("b", 24), key("b", 2)], "ProjectionExpression": "v"}})
        self.assertEqual(sorted(i["v"]["N"] for i in out["Responses"][t]), ["1", "2"])
        self.assertEqual(out["UnprocessedKeys"], {})
        too_many = [{"PutRequest": {"Item": key("b", i)}} for i in range(26)]
        self.assertError("ValidationException", ddb.batch_write_item, RequestItems={t: too_many})
        dupes = [{"PutRequest": {"Item": key("b", 1)}}, {"DeleteRequest": {"Key": key("b", 1)}}]
        self.assertError("ValidationException", ddb.batch_write_item, RequestItems={t: dupes})
        self.assertError("ValidationException", ddb.batch_get_item,
                         RequestItems={t: {"Keys": [key("b", 1), key("b", 1)]}})
        self.assertError("ResourceNotFoundException", ddb.batch_write_item,
                         RequestItems={"no-such-table": puts[:1]})


class Transactions(ErrorCase):
    def test_cancel_commit_idempotency(self):
        t, _ = new_table()
        ddb.put_item(TableName=t, Item={**key("acct", 1), "bal": {"N": "100"}})
        ddb.put_item(TableName=t, Item={**key("acct", 2), "bal": {"N": "0"}})

        def transfer(amount, token=None):
            kw = {"ClientRequestToken": token} if token else {}
            return ddb.transact_write_items(TransactItems=[
                {"Update": {"TableName": t, "Key": key("acct", 1),
                            "UpdateExpression": "SET bal = bal - :a", "ConditionExpression": "bal >= :a",
                            "ExpressionAttributeValues": {":a": {"N": str(amount)}}}},
                {"Update": {"TableName": t, "Key": key("acct", 2),
                            "UpdateExpression": "SET bal = bal + :a",
                            "ExpressionAttributeValues": {":a": {"N": str(amount)}}}}], **kw)

        resp = self.assertError("TransactionCanceledException", transfer, 500)
        self.assertEqual([r["Code"] for r in resp["CancellationReasons"]],
                         ["ConditionalCheckFailed", "None"])
        transfer(30, token="tok-1")
        transfer(30, token="tok-1")  # the same token: applied once
        self.assertError("IdempotentParameterMismatchException", transfer, 31, token="tok-1")
        got = ddb.transact_get_items(TransactItems=[
            {"Get": {"TableName": t, "Key": key("acct", 1)}},
            {"Get": {"TableName": t, "Key": key("acct", 2)}},
            {"Get": {"TableName": t, "Key": key("acct", 3)}}])["Responses"]
        self.assertEqual([r.get("Item", {}).get("bal") for r in got],
                         [{"N": "70"}, {"N": "30"}, None])
        self.assertError("ValidationException", ddb.transact_write_items, TransactItems=[
            {"Delete": {"TableName": t, "Key": key("acct", 1)}},
            {"ConditionCheck": {"TableName": t, "Key": key("acct", 1),
                                "ConditionExpression": "attribute_exists(pk)"}}])


class Streams(ErrorCase):
    def test_consume_from_trim_horizon_through_lineage(self):
        t, desc = new_table(streams_view="NEW_AND_OLD_IMAGES")
        arn = desc["LatestStreamArn"]
        self.assertEqual(desc["StreamSpecification"],
                         {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        listed = streams.list_streams(TableName=t)["Streams"]
        self.assertEqual([s["StreamArn"] for s in listed], [arn])
        # 45 changes across 3 keys; the server closes shards every 10 records.
        expected = {}
        for i in range(15):
            for k in ("x", "y", "z"):
                ddb.put_item(TableName=t, Item={**key(k, 0), "v": {"N": str(i)}})
                expected.setdefault(k, []).append(str(i))
        shards, last = [], None
        while True:  # DescribeStream pages by ExclusiveStartShardId
            kw = {"ExclusiveStartShardId": last} if last else {}
            page = streams.describe_stream(StreamArn=arn, Limit=3, **kw)["StreamDescription"]
            shards += page["Shards"]
            last = page.get("LastEvaluatedShardId")
            if not last:
                break
        by_id = {s["ShardId"]: s for s in shards}
        self.assertGreater(len(by_id), 4, "shards should have rolled over")
        self.assertTrue(any("ParentShardId" in s for s in shards))
        closed = [s for s in shards if "EndingSequenceNumber" in s["SequenceNumberRange"]]
        self.assertTrue(closed)

        # KCL-style: a shard is read only after its parent is drained.
        done, events = set(), []
        pending = list(by_id)
        while pending:
            ready = [s for s in pending if by_id[s].get("ParentShardId") in (None, *done)
                     or by_id[s].get("ParentShardId") not in by_id]
            self.assertTrue(ready, "lineage has a cycle or a missing parent")
            for sid in ready:
                it = streams.get_shard_iterator(StreamArn=arn, ShardId=sid,
                                                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                while it:
                    r = streams.get_records(ShardIterator=it, Limit=4)
                    events += r["Records"]
                    if not r["Records"] and "EndingSequenceNumber" not in \
                            by_id[sid]["SequenceNumberRange"]:
                        break  # an open shard, drained for now
                    it = r.get("NextShardIterator")
                done.add(sid)
                pending.remove(sid)
        got = {}
        for e in events:
            self.assertEqual(e["eventSource"], "aws:dynamodb")
            self.assertEqual(e["awsRegion"], "us-east-1")
            self.assertGreaterEqual(len(e["dynamodb"]["SequenceNumber"]), 21)
            got.setdefault(e["dynamodb"]["Keys"]["pk"]["S"], []).append(
                (e["eventName"], e["dynamodb"]["NewImage"]["v"]["N"],
                 e["dynamodb"].get("OldImage", {}).get("v", {}).get("N")))
        for k, values in expected.items():
            self.assertEqual([v for _, v, _ in got[k]], values, k)
            self.assertEqual([n for n, _, _ in got[k]], ["INSERT"] + ["MODIFY"] * 14)
            self.assertEqual([o for _, _, o in got[k]], [None] + values[:-1])

    def test_iterator_types_and_errors(self):
        t, desc = new_table(streams_view="KEYS_ONLY")
        arn = desc["LatestStreamArn"]
        ddb.put_item(TableName=t, Item=key("a", 1))
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        open_shards = [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
        records = []
        for s in open_shards:
            it = streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"],
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            records += [(s["ShardId"], r) for r in streams.get_records(ShardIterator=it)["Records"]]
        self.assertEqual(len(records), 1)
        sid, first = records[0]
        self.assertNotIn("NewImage", first["dynamodb"])
        seq = first["dynamodb"]["SequenceNumber"]
        at = streams.get_shard_iterator(StreamArn=arn, ShardId=sid, SequenceNumber=seq,
                                        ShardIteratorType="AT_SEQUENCE_NUMBER")["ShardIterator"]
        self.assertEqual(streams.get_records(ShardIterator=at)["Records"][0]["eventID"],
                         first["eventID"])
        after = streams.get_shard_iterator(StreamArn=arn, ShardId=sid, SequenceNumber=seq,
                                           ShardIteratorType="AFTER_SEQUENCE_NUMBER")["ShardIterator"]
        self.assertEqual(streams.get_records(ShardIterator=after)["Records"], [])
        latest = streams.get_shard_iterator(StreamArn=arn, ShardId=sid,
                                            ShardIteratorType="LATEST")["ShardIterator"]
        self.assertEqual(streams.get_records(ShardIterator=latest)["Records"], [])
        self.assertError("ValidationException", streams.get_records, ShardIterator="garbage")
        self.assertError("ResourceNotFoundException", streams.describe_stream,
                         StreamArn=arn.replace(t, "no-such-table"))
        self.assertError("ResourceNotFoundException", streams.get_shard_iterator, StreamArn=arn,
                         ShardId="shardId-00000000000000000000-deadbeef",
                         ShardIteratorType="TRIM_HORIZON")
        # Disabling the stream keeps it readable, marked DISABLED.
        ddb.update_table(TableName=t, StreamSpecification={"StreamEnabled": False})
        self.assertEqual(streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"],
                         "DISABLED")


class Indexes(ErrorCase):
    def create(self):
        name = "ix-" + uuid.uuid4().hex[:12]
        ddb.create_table(
            TableName=name, BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in
                                  [("pk", "S"), ("sk", "N"), ("status", "S"), ("at", "N"),
                                   ("score", "N")]],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            LocalSecondaryIndexes=[{
                "IndexName": "byScore",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                              {"AttributeName": "score", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}}],
            GlobalSecondaryIndexes=[{
                "IndexName": "byStatus",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                              {"AttributeName": "at", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}])
        return name

    def test_gsi_and_lsi_queries_projections_and_paging(self):
        name = self.create()
        desc = ddb.describe_table(TableName=name)["Table"]
        gsi = desc["GlobalSecondaryIndexes"][0]
        self.assertEqual(gsi["IndexStatus"], "ACTIVE")
        self.assertEqual(gsi["Projection"], {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]})
        self.assertTrue(gsi["IndexArn"].endswith("/index/byStatus"))
        self.assertEqual(desc["LocalSecondaryIndexes"][0]["IndexName"], "byScore")
        for i in range(30):
            item = {"pk": {"S": "p%d" % (i % 3)}, "sk": {"N": str(i)}, "score": {"N": str(100 - i)},
                    "note": {"S": "n%d" % i}, "secret": {"S": "s"}}
            if i % 5:  # sparse: every fifth item lacks the GSI key
                item["status"] = {"S": "open" if i % 2 else "done"}
                item["at"] = {"N": str(i)}
            ddb.put_item(TableName=name, Item=item)
        pages = ddb.get_paginator("query").paginate(
            TableName=name, IndexName="byStatus", KeyConditionExpression="#s = :s AND #at > :t",
            ExpressionAttributeNames={"#s": "status", "#at": "at"},
            ExpressionAttributeValues={":s": {"S": "open"}, ":t": {"N": "3"}},
            PaginationConfig={"PageSize": 4})
        items = [i for p in pages for i in p["Items"]]
        ats = [int(i["at"]["N"]) for i in items]
        self.assertEqual(ats, [i for i in range(4, 30) if i % 2 and i % 5])
        self.assertEqual(sorted(items[0]), ["at", "note", "pk", "sk", "status"])
        # A GSI answers only with what it projects.
        self.assertError("ValidationException", ddb.query, TableName=name, IndexName="byStatus",
                         KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
                         ExpressionAttributeValues={":s": {"S": "open"}}, Select="ALL_ATTRIBUTES")
        self.assertError("ValidationException", ddb.query, TableName=name, IndexName="byStatus",
                         KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
                         ExpressionAttributeValues={":s": {"S": "open"}}, ConsistentRead=True)
        # An LSI fetches the rest from the table.
        out = ddb.query(TableName=name, IndexName="byScore", KeyConditionExpression="pk = :p",
                        ExpressionAttributeValues={":p": {"S": "p0"}}, Select="ALL_ATTRIBUTES",
                        ScanIndexForward=False, Limit=2)
        self.assertEqual([int(i["score"]["N"]) for i in out["Items"]], [100, 97])
        self.assertIn("secret", out["Items"][0])
        self.assertEqual(set(out["LastEvaluatedKey"]), {"pk", "sk", "score"})
        keys_only = ddb.query(TableName=name, IndexName="byScore", KeyConditionExpression="pk = :p",
                              ExpressionAttributeValues={":p": {"S": "p0"}})
        self.assertEqual(sorted(keys_only["Items"][0]), ["pk", "score", "sk"])
        scan = ddb.scan(TableName=name, IndexName="byStatus", Select="COUNT")
        self.assertEqual(scan["Count"], 24)
        self.assertError("ValidationException", ddb.put_item, TableName=name,
                         Item={"pk": {"S": "x"}, "sk": {"N": "1"}, "status": {"N": "1"}})
        self.assertError("ValidationException", ddb.query, TableName=name, IndexName="nope",
                         KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p0"}})
        metrics = ddb.put_item(TableName=name, ReturnItemCollectionMetrics="SIZE",
                               Item={"pk": {"S": "p0"}, "sk": {"N": "99"}})["ItemCollectionMetrics"]
        self.assertEqual(metrics["ItemCollectionKey"], {"pk": {"S": "p0"}})
        self.assertEqual(metrics["SizeEstimateRangeGB"], [0.0, 1.0])

    def test_gsi_added_backfilled_and_deleted(self):
        name = self.create()
        for i in range(200):
            ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)},
                                               "color": {"S": ["red", "blue"][i % 2]}})
        out = ddb.update_table(
            TableName=name, AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": "byColor", "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}}])
        created = [g for g in out["TableDescription"]["GlobalSecondaryIndexes"] if g["IndexName"] == "byColor"][0]
        self.assertEqual(created["IndexStatus"], "CREATING")
        for _ in range(500):
            gsis = ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
            if all(g["IndexStatus"] == "ACTIVE" for g in gsis):
                break
            time.sleep(0.02)
        else:
            self.fail("the backfill did not finish")
        red = ddb.query(TableName=name, IndexName="byColor", KeyConditionExpression="color = :c",
                        ExpressionAttributeValues={":c": {"S": "red"}}, Select="COUNT")
        self.assertEqual(red["Count"], 100)
        self.assertError("LimitExceededException", ddb.update_table, TableName=name,
                         GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "byColor"}},
                                                      {"Delete": {"IndexName": "byStatus"}}])
        ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "byColor"}}])
        names = [g["IndexName"] for g in ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]]
        self.assertEqual(names, ["byStatus"])
        self.assertError("ResourceNotFoundException", ddb.update_table, TableName=name,
                         GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "byColor"}}])

    def test_invalid_index_declarations(self):
        base = dict(BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "g", "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        lsi = [{"IndexName": "lsi1", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                 {"AttributeName": "g", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}]
        self.assertError("ValidationException", ddb.create_table, TableName="bad-lsi-" + uuid.uuid4().hex[:6],
                         LocalSecondaryIndexes=lsi, **base)
        unused = dict(base, AttributeDefinitions=base["AttributeDefinitions"] + [{"AttributeName": "x", "AttributeType": "N"}])
        gsi = [{"IndexName": "gsi1", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}}]
        self.assertError("ValidationException", ddb.create_table, TableName="bad-defs-" + uuid.uuid4().hex[:6],
                         GlobalSecondaryIndexes=gsi, **unused)
        dup = gsi + gsi
        self.assertError("ValidationException", ddb.create_table, TableName="bad-dup-" + uuid.uuid4().hex[:6],
                         GlobalSecondaryIndexes=dup, **base)


class TimeToLive(ErrorCase):
    def test_update_and_describe(self):
        name, _ = new_table()
        self.assertEqual(ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"],
                         {"TimeToLiveStatus": "DISABLED"})
        out = ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        self.assertEqual(out["TimeToLiveSpecification"], {"Enabled": True, "AttributeName": "exp"})
        self.assertEqual(ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"],
                         {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"})
        self.assertError("ValidationException", ddb.update_time_to_live, TableName=name,
                         TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        self.assertError("ValidationException", ddb.update_time_to_live, TableName=name,
                         TimeToLiveSpecification={"Enabled": False, "AttributeName": "other"})
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
        self.assertEqual(ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["TimeToLiveStatus"], "DISABLED")
        self.assertError("ResourceNotFoundException", ddb.describe_time_to_live, TableName="no-such-table")

    def test_expired_items_leave_with_a_service_record(self):
        name, desc = new_table(streams_view="NEW_AND_OLD_IMAGES")
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        past = str(int(time.time()) - 60)
        ddb.put_item(TableName=name, Item=dict(key("gone", 1), exp={"N": past}))
        ddb.put_item(TableName=name, Item=dict(key("kept", 1), exp={"S": past}))
        # The test server sweeps every 100 ms.
        for _ in range(300):
            if "Item" not in ddb.get_item(TableName=name, Key=key("gone", 1)):
                break
            time.sleep(0.02)
        else:
            self.fail("the expired item was never deleted")
        self.assertIn("Item", ddb.get_item(TableName=name, Key=key("kept", 1)))
        arn = desc["LatestStreamArn"]
        removes = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                page = streams.get_records(ShardIterator=it)
                removes += [r for r in page["Records"] if r["eventName"] == "REMOVE"]
                if not page["Records"]:
                    break
                it = page.get("NextShardIterator")
        self.assertEqual(len(removes), 1)
        self.assertEqual(removes[0]["userIdentity"], {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"})


class SigV4(ErrorCase):
    def client(self, key_id, secret, **cfg):
        return boto3.client("dynamodb", endpoint_url=os.environ["STRATA_SIGNED_ENDPOINT"],
                            region_name="us-east-1", aws_access_key_id=key_id,
                            aws_secret_access_key=secret,
                            config=botocore.config.Config(retries={"max_attempts": 1}, **cfg))

    def test_signatures_are_verified(self):
        self.assertIsInstance(self.client("AKIDGOOD", "secret-good").list_tables()["TableNames"], list)
        self.assertError("InvalidSignatureException",
                         self.client("AKIDGOOD", "wrong").list_tables)
        self.assertError("UnrecognizedClientException",
                         self.client("AKIDNONE", "secret-good").list_tables)
        unsigned = self.client("AKIDGOOD", "secret-good", signature_version=botocore.UNSIGNED)
        self.assertError("MissingAuthenticationTokenException", unsigned.list_tables)


if __name__ == "__main__":
    unittest.main(verbosity=2)
