"""boto3 against strata: tables, items, conditions, queries with pagination, batches,
transactions, and a stream read from TRIM_HORIZON through every shard."""
import os
import sys

import boto3
from botocore.exceptions import ClientError

endpoint = os.environ["STRATA_ENDPOINT"]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="x", aws_secret_access_key="y")
ddb = boto3.client("dynamodb", **kw)
streams = boto3.client("dynamodbstreams", **kw)

t = ddb.create_table(
    TableName="orders",
    AttributeDefinitions=[{"AttributeName": "c", "AttributeType": "S"},
                          {"AttributeName": "n", "AttributeType": "N"}],
    KeySchema=[{"AttributeName": "c", "KeyType": "HASH"},
               {"AttributeName": "n", "KeyType": "RANGE"}],
    BillingMode="PAY_PER_REQUEST",
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
)["TableDescription"]
assert t["TableStatus"] == "ACTIVE", t
stream_arn = t["LatestStreamArn"]
assert ddb.list_tables()["TableNames"] == ["orders"]

for i in range(25):
    ddb.put_item(TableName="orders", Item={"c": {"S": "ada"}, "n": {"N": str(i)}, "v": {"S": "x" * 100}})
try:
    ddb.put_item(TableName="orders", Item={"c": {"S": "ada"}, "n": {"N": "1"}},
                 ConditionExpression="attribute_not_exists(c)")
    sys.exit("the condition should have failed")
except ClientError as e:
    assert e.response["Error"]["Code"] == "ConditionalCheckFailedException", e.response

# Query with pagination through the paginator (ExclusiveStartKey round trips).
pages = ddb.get_paginator("query").paginate(
    TableName="orders", KeyConditionExpression="c = :c",
    ExpressionAttributeValues={":c": {"S": "ada"}}, PaginationConfig={"PageSize": 7})
got = [int(item["n"]["N"]) for page in pages for item in page["Items"]]
assert got == list(range(25)), got

out = ddb.update_item(TableName="orders", Key={"c": {"S": "ada"}, "n": {"N": "3"}},
                      UpdateExpression="ADD hits :one", ExpressionAttributeValues={":one": {"N": "1"}},
                      ReturnValues="UPDATED_NEW")
assert out["Attributes"] == {"hits": {"N": "1"}}, out

ddb.batch_write_item(RequestItems={"orders": [
    {"DeleteRequest": {"Key": {"c": {"S": "ada"}, "n": {"N": str(i)}}}} for i in range(20, 25)]})
got = ddb.batch_get_item(RequestItems={"orders": {"Keys": [
    {"c": {"S": "ada"}, "n": {"N": "1"}}, {"c": {"S": "ada"}, "n": {"N": "24"}}]}})
assert len(got["Responses"]["orders"]) == 1, got

try:
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": "orders", "Key": {"c": {"S": "ada"}, "n": {"N": "1"}},
                    "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"S": "y"}}}},
        {"ConditionCheck": {"TableName": "orders", "Key": {"c": {"S": "ada"}, "n": {"N": "99"}},
                            "ConditionExpression": "attribute_exists(c)"}}])
    sys.exit("the transaction should have been cancelled")
except ClientError as e:
    assert e.response["Error"]["Code"] == "TransactionCanceledException", e.response
    codes = [r["Code"] for r in e.response["CancellationReasons"]]
    assert codes == ["None", "ConditionalCheckFailed"], codes

# The stream, from TRIM_HORIZON through every shard.
desc = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
events = []
for shard in desc["Shards"]:
    it = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    while it:
        r = streams.get_records(ShardIterator=it, Limit=10)
        events.extend(r["Records"])
        it = r.get("NextShardIterator") if r["Records"] else None
names = sorted(e["eventName"] for e in events)
assert names.count("INSERT") == 25 and names.count("MODIFY") == 1 and names.count("REMOVE") == 5, names
assert all(len(e["dynamodb"]["SequenceNumber"]) >= 21 for e in events)

arn = ddb.describe_table(TableName="orders")["Table"]["TableArn"]
ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "billing"}, {"Key": "env", "Value": "test"}])
ddb.untag_resource(ResourceArn=arn, TagKeys=["env"])
assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "billing"}]

try:
    ddb.describe_table(TableName="missing")
    sys.exit("expected ResourceNotFoundException")
except ClientError as e:
    assert e.response["Error"]["Code"] == "ResourceNotFoundException", e.response
print("boto3: ok")
