//! Query and Scan: key conditions, direction, paging with Limit and ExclusiveStartKey,
//! filters applied after the limit, Select COUNT, projections, parallel scan segments.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use serde_json::json;
use strata_table::{Database, Item};

fn req<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn setup() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), strata_engine::Options::default()).unwrap();
    db.create_table(req(json!({
        "TableName": "events",
        "AttributeDefinitions": [{"AttributeName": "user", "AttributeType": "S"},
                                 {"AttributeName": "ts", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"},
                      {"AttributeName": "ts", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST"
    })))
    .unwrap();
    for user in ["ann", "bob", "cat"] {
        for ts in -5..15 {
            db.put_item(req(json!({"TableName": "events", "Item": {
                "user": {"S": user}, "ts": {"N": ts.to_string()},
                "kind": {"S": if ts % 2 == 0 { "even" } else { "odd" }}
            }})))
            .unwrap();
        }
    }
    (dir, db)
}

fn ts_of(items: &[Item]) -> Vec<i64> {
    items
        .iter()
        .map(|i| match &i["ts"] {
            strata_table::AttributeValue::N(n) => n.to_i64().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn key_conditions_select_ranges_in_numeric_order() {
    let (_d, db) = setup();
    let q = |cond: &str, values: serde_json::Value, forward: bool| {
        let out = db
            .query(req(
                json!({"TableName": "events", "KeyConditionExpression": cond,
                "ExpressionAttributeNames": {"#u": "user"},
                "ExpressionAttributeValues": values, "ScanIndexForward": forward}),
            ))
            .unwrap();
        ts_of(&out.items.unwrap())
    };
    assert_eq!(
        q("#u = :u", json!({":u": {"S": "bob"}}), true),
        (-5..15).collect::<Vec<_>>()
    );
    assert_eq!(
        q("#u = :u", json!({":u": {"S": "bob"}}), false),
        (-5..15).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        q(
            "#u = :u AND ts < :t",
            json!({":u": {"S": "ann"}, ":t": {"N": "-3"}}),
            true
        ),
        vec![-5, -4]
    );
    assert_eq!(
        q(
            "#u = :u AND ts BETWEEN :a AND :b",
            json!({":u": {"S": "cat"}, ":a": {"N": "9"}, ":b": {"N": "10.5"}}),
            true
        ),
        vec![9, 10]
    );
    assert_eq!(
        q(
            "ts >= :t AND #u = :u",
            json!({":u": {"S": "cat"}, ":t": {"N": "13"}}),
            false
        ),
        vec![14, 13]
    );
    assert!(q("#u = :u", json!({":u": {"S": "nobody"}}), true).is_empty());
}

#[test]
fn paging_counts_evaluated_items_and_filters_after_the_limit() {
    let (_d, db) = setup();
    let mut start: Option<Item> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let mut r = json!({"TableName": "events", "KeyConditionExpression": "#u = :u",
            "FilterExpression": "kind = :k", "Limit": 6,
            "ExpressionAttributeNames": {"#u": "user"},
            "ExpressionAttributeValues": {":u": {"S": "ann"}, ":k": {"S": "even"}}});
        if let Some(s) = &start {
            r["ExclusiveStartKey"] = serde_json::to_value(s).unwrap();
        }
        let out = db.query(req(r)).unwrap();
        assert_eq!(out.scanned_count, 6.min(20 - pages * 6) as i64);
        seen.extend(ts_of(&out.items.unwrap()));
        pages += 1;
        match out.last_evaluated_key {
            Some(k) => start = Some(k),
            None => break,
        }
    }
    assert_eq!(seen, (-4..15).step_by(2).collect::<Vec<_>>());
    assert_eq!(pages, 4);
    let count = db
        .query(req(
            json!({"TableName": "events", "KeyConditionExpression": "#u = :u",
            "Select": "COUNT", "ExpressionAttributeNames": {"#u": "user"},
            "ExpressionAttributeValues": {":u": {"S": "bob"}}}),
        ))
        .unwrap();
    assert_eq!((count.count, count.items.is_none()), (20, true));
}

#[test]
fn parallel_scan_segments_partition_the_table() {
    let (_d, db) = setup();
    let mut total = 0;
    for segment in 0..4 {
        let out = db
            .scan(req(
                json!({"TableName": "events", "Segment": segment, "TotalSegments": 4,
                "ProjectionExpression": "#u, ts", "ExpressionAttributeNames": {"#u": "user"}}),
            ))
            .unwrap();
        for item in out.items.as_ref().unwrap() {
            assert_eq!(item.len(), 2);
        }
        total += out.count;
    }
    assert_eq!(total, 60);
    let all = db.scan(req(json!({"TableName": "events"}))).unwrap();
    assert_eq!(all.count, 60);
    assert!(all.last_evaluated_key.is_none());
    let e = db
        .scan(req(
            json!({"TableName": "events", "Segment": 4, "TotalSegments": 4}),
        ))
        .unwrap_err();
    assert_eq!(e.to_string(), "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 4 is not less than TotalSegments: 4");
}

#[test]
fn invalid_queries_are_rejected_with_dynamodb_messages() {
    let (_d, db) = setup();
    for (r, want) in [
        (json!({"TableName": "events"}), "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."),
        (json!({"TableName": "events", "KeyConditionExpression": "ts = :t", "ExpressionAttributeValues": {":t": {"N": "1"}}}), "Query condition missed key schema element: user"),
        (json!({"TableName": "events", "KeyConditionExpression": "#u = :u", "ExpressionAttributeNames": {"#u": "user"}, "ExpressionAttributeValues": {":u": {"N": "1"}}}), "One or more parameter values were invalid: Condition parameter type does not match schema type"),
        (json!({"TableName": "events", "KeyConditionExpression": "#u = :u", "FilterExpression": "ts > :u", "ExpressionAttributeNames": {"#u": "user"}, "ExpressionAttributeValues": {":u": {"S": "x"}}}), "Filter Expression can only contain non-primary key attributes: Primary key attribute: ts"),
        (json!({"TableName": "events", "KeyConditionExpression": "#u = :u", "Limit": 0, "ExpressionAttributeNames": {"#u": "user"}, "ExpressionAttributeValues": {":u": {"S": "x"}}}), "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    ] {
        let e = db.query(req(r)).unwrap_err();
        assert_eq!(e.code(), "ValidationException");
        assert_eq!(e.to_string(), want);
    }
}

/// A database with table `name`: partition key `p` (S), sort key `s` (N).
fn with_table(name: &str) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), strata_engine::Options::default()).unwrap();
    db.create_table(req(json!({
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"},
                                 {"AttributeName": "s", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"},
                      {"AttributeName": "s", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST"
    })))
    .unwrap();
    (dir, db)
}

#[test]
fn a_page_stops_at_one_megabyte() {
    let (_dir, db) = with_table("big");
    let blob = "x".repeat(300 * 1024);
    for s in 0..10 {
        db.put_item(req(json!({"TableName": "big", "Item": {"p": {"S": "a"}, "s": {"N": s.to_string()}, "blob": {"S": blob}}})))
            .unwrap();
    }
    let mut start: Option<Item> = None;
    let mut pages = Vec::new();
    loop {
        let mut r = json!({"TableName": "big", "KeyConditionExpression": "p = :p",
            "ExpressionAttributeValues": {":p": {"S": "a"}}});
        if let Some(s) = &start {
            r["ExclusiveStartKey"] = serde_json::to_value(s).unwrap();
        }
        let out = db.query(req(r)).unwrap();
        pages.push(out.count);
        match out.last_evaluated_key {
            Some(k) => start = Some(k),
            None => break,
        }
    }
    // 300 KB items: the fourth brings a page past 1 MB.
    assert_eq!(pages, vec![4, 4, 2]);
}

/// `query_stored`/`scan_stored` (items served from their stored encoding, the server's path)
/// answer exactly as `query`/`scan` — same JSON, same pages — for items of every type, with
/// and without filters and projections, paged by Limit and by the 1 MB page size (which
/// the stored path computes from the encoding).
#[test]
fn stored_reads_serialize_and_page_as_decoded_reads() {
    let (_dir, db) = with_table("mixed");
    let big = "é\"\\\n".repeat(9_000);
    for i in 0..300 {
        let mut item = json!({
            "p": {"S": format!("p{}", i % 3)}, "s": {"N": format!("{}.5", i - 150)},
            "xs": {"S": format!("s{i} \u{1} ☃")}, "xb": {"B": "AAEC/w=="},
            "xy": {"BOOL": i % 2 == 0}, "xn": {"NULL": true},
            "xl": {"L": [{"N": "1e10"}, {"M": {"k": {"SS": ["b", "a"]}}}, {"L": []}]},
            "xm": {"M": {"z": {"NS": ["3", "-1.25", "100"]}, "a": {"BS": ["AQ==", "AA=="]}}}
        });
        if i % 7 == 0 {
            // Items of about 36 KB: 30 of them fill a 1 MB page.
            item["xbig"] = json!({"S": big});
        }
        db.put_item(req(json!({"TableName": "mixed", "Item": item})))
            .unwrap();
    }
    let extras = [
        json!({}),
        json!({"Limit": 7}),
        json!({"ScanIndexForward": false, "Limit": 11}),
        json!({"FilterExpression": "xy = :t", "ExpressionAttributeValues": {":t": {"BOOL": true}}}),
        json!({"ProjectionExpression": "#s, xl[1], xm.z", "ExpressionAttributeNames": {"#s": "s"}}),
        json!({"Select": "COUNT"}),
        json!({"ReturnConsumedCapacity": "TOTAL"}),
    ];
    for extra in &extras {
        for partition in ["p0", "p1", "p2", "none"] {
            let mut request = json!({"TableName": "mixed", "KeyConditionExpression": "p = :p",
                "ExpressionAttributeValues": {":p": {"S": partition}}});
            merge(&mut request, extra);
            same_pages(
                request,
                |r| db.query(req(r)).unwrap(),
                |r| serde_json::to_value(db.query_stored(req(r)).unwrap()).unwrap(),
            );
        }
        // Scan: the sizes decide where 1 MB pages end.
        if extra.get("ScanIndexForward").is_some() {
            continue;
        }
        let mut request = json!({"TableName": "mixed"});
        merge(&mut request, extra);
        if let Some(values) = extra.get("ExpressionAttributeValues") {
            request["ExpressionAttributeValues"] = values.clone();
        }
        let pages = same_pages(
            request,
            |r| db.scan(req(r)).unwrap(),
            |r| serde_json::to_value(db.scan_stored(req(r)).unwrap()).unwrap(),
        );
        if *extra == json!({}) {
            assert!(
                pages >= 2,
                "300 items with 43 of 36 KB fill more than one 1 MB page"
            );
        }
    }
}

/// Reads every page of `request` both ways and checks that each stored page serializes as
/// the decoded one; returns the number of pages.
fn same_pages(
    mut request: serde_json::Value,
    decoded: impl Fn(serde_json::Value) -> strata_table::model::QueryOutput,
    stored: impl Fn(serde_json::Value) -> serde_json::Value,
) -> usize {
    let mut pages = 0;
    loop {
        let page = decoded(request.clone());
        let want = serde_json::to_value(&page).unwrap();
        assert_eq!(stored(request.clone()), want, "{request}");
        pages += 1;
        match page.last_evaluated_key {
            Some(k) => request["ExclusiveStartKey"] = serde_json::to_value(k).unwrap(),
            None => return pages,
        }
    }
}

/// Adds `extra`'s members to `request`, merging ExpressionAttributeValues.
fn merge(request: &mut serde_json::Value, extra: &serde_json::Value) {
    for (k, v) in extra.as_object().unwrap() {
        match (request.get_mut(k), v) {
            (Some(serde_json::Value::Object(into)), serde_json::Value::Object(from)) => {
                into.extend(from.clone());
            }
            _ => request[k] = v.clone(),
        }
    }
}
