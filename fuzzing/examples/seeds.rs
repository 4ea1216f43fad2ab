//! Writes the seed inputs of every fuzz target into `fuzz/corpus/<target>/seed-*`: real
//! files of a small database (WAL, manifest, table file), encoded items, keys and stream
//! records, expressions, request bodies, numbers. `cargo run -p strata-fuzz --example seeds`.

#![allow(
    clippy::unwrap_used,
    reason = "a seed generator: a panic is a failed run"
)]

use std::path::{Path, PathBuf};
use strata_table::{codec, AttributeValue, Item};

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
}

fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix) || p.to_string_lossy().contains(suffix))
        .collect();
    v.sort();
    v
}

fn item() -> Item {
    serde_json::from_value(serde_json::json!({
        "pk": {"S": "p"}, "sk": {"N": "-12.5E3"}, "b": {"B": "AAEC"}, "t": {"BOOL": true},
        "n": {"NULL": true}, "l": {"L": [{"S": "x"}, {"N": "1"}]},
        "m": {"M": {"a": {"SS": ["x", "y"]}, "b": {"NS": ["1", "2"]}, "c": {"BS": ["AA=="]}}}
    }))
    .unwrap()
}

fn main() {
    // A small database: WAL records, a flushed table file, manifest edits.
    let dir = tempfile_dir();
    {
        let db = strata_engine::Db::open(&dir, strata_engine::Options::default()).unwrap();
        for i in 0..200u32 {
            db.put(format!("key{i:04}"), vec![b'v'; (i % 50) as usize])
                .unwrap();
        }
        db.delete("key0007").unwrap();
        db.flush().unwrap();
        for i in 0..20u32 {
            db.put(format!("late{i}"), "x").unwrap();
        }
    }
    for (n, f) in files_with(&dir, ".log").iter().enumerate() {
        write("wal", &format!("log{n}"), &std::fs::read(f).unwrap());
    }
    for (n, f) in files_with(&dir, "MANIFEST").iter().enumerate() {
        write(
            "manifest",
            &format!("manifest{n}"),
            &std::fs::read(f).unwrap(),
        );
    }
    for (n, f) in files_with(&dir, ".sst").iter().enumerate() {
        write("sstable", &format!("table{n}"), &std::fs::read(f).unwrap());
    }
    let _ = std::fs::remove_dir_all(&dir);
    // The same keys in a zstd table (the default codec is LZ4), so both decoders are fuzzed.
    let dir = tempfile_dir();
    {
        let opts = strata_engine::Options::default()
            .compression(strata_engine::Compression::Zstd { level: 1 });
        let db = strata_engine::Db::open(&dir, opts).unwrap();
        for i in 0..200u32 {
            db.put(format!("key{i:04}"), vec![b'v'; (i % 50) as usize])
                .unwrap();
        }
        db.flush().unwrap();
    }
    for (n, f) in files_with(&dir, ".sst").iter().enumerate() {
        write(
            "sstable",
            &format!("table-zstd{n}"),
            &std::fs::read(f).unwrap(),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..40)
        .map(|i| (format!("k{i:03}").into_bytes(), vec![b'x'; i]))
        .collect();
    write(
        "block",
        "block",
        &strata_engine::bench_support::encode_block(&entries),
    );
    write("item", "rich", &codec::encode_item(&item()));
    write("item", "empty", &codec::encode_item(&Item::new()));
    let keys = [
        codec::item_key(
            &AttributeValue::s("p\0q"),
            Some(&AttributeValue::N(7.into())),
        ),
        codec::item_key(&AttributeValue::B(vec![0, 255, 0]), None),
        codec::item_key(
            &AttributeValue::N((-3).into()),
            Some(&AttributeValue::s("x")),
        ),
    ];
    for (i, k) in keys.iter().enumerate() {
        write("key", &format!("key{i}"), k);
        write("key", &format!("part{i}"), &k[4..]);
    }
    let schema = strata_table::schema::KeySchema {
        partition: strata_table::schema::KeyAttribute {
            name: "pk".into(),
            ty: "S".into(),
        },
        sort: Some(strata_table::schema::KeyAttribute {
            name: "sk".into(),
            ty: "N".into(),
        }),
    };
    let mut new = item();
    new.insert("extra".into(), AttributeValue::s("y"));
    for (i, (old, new)) in [
        (None, Some(item())),
        (Some(item()), Some(new)),
        (Some(item()), None),
    ]
    .iter()
    .enumerate()
    {
        let record = strata_table::streams::change_record(
            "NEW_AND_OLD_IMAGES",
            &schema,
            old.as_ref(),
            new.as_ref(),
        )
        .unwrap();
        write("stream_record", &format!("record{i}"), &record.encode());
    }
    let expressions: [(u8, &str); 10] = [
        (0, "attribute_exists(#a) AND (a < :n OR NOT begins_with(s, :s))"),
        (0, "size(l) > :n AND contains(#ss, :s) AND a BETWEEN :n AND :n"),
        (1, "m.x IN (:n, :s) OR attribute_type(#m, :s)"),
        (2, "SET a = a + :n, l = list_append(l, :l), m.z.w = :s REMOVE s, l[0] ADD ns :ns DELETE ss :ss\0a > :n"),
        (2, "SET #a = if_not_exists(#a, :n) - :n, l[5] = :m"),
        (3, "a, l[1], m.x, #s, l[0].deep[0]"),
        (4, "#k = :s AND sk BETWEEN :n AND :n"),
        (4, "pk = :s AND begins_with(sk, :s)"),
        (0, "(((a = :n)))\0\0:x=\x01123\0#q=quoted"),
        (2, "SET a = :x\0\0:x=\x06nested"),
    ];
    for (i, (kind, text)) in expressions.iter().enumerate() {
        let mut data = vec![*kind];
        data.extend_from_slice(text.as_bytes());
        write("expressions", &format!("expr{i}"), &data);
    }
    let requests: [(u8, &str); 8] = [
        (
            5,
            r##"{"TableName":"fuzz","Item":{"pk":{"S":"b"},"sk":{"N":"2"},"g":{"S":"y"},"l":{"N":"3"}},"ConditionExpression":"attribute_not_exists(pk)","ReturnValues":"ALL_OLD"}"##,
        ),
        (
            7,
            r##"{"TableName":"fuzz","Key":{"pk":{"S":"a"},"sk":{"N":"1"}},"UpdateExpression":"SET #c = :v ADD n :one","ExpressionAttributeNames":{"#c":"c"},"ExpressionAttributeValues":{":v":{"L":[{"S":"x"}]},":one":{"N":"1"}},"ReturnValues":"UPDATED_NEW"}"##,
        ),
        (
            9,
            r##"{"TableName":"fuzz","IndexName":"lsi","KeyConditionExpression":"pk = :p AND l > :l","ExpressionAttributeValues":{":p":{"S":"a"},":l":{"N":"0"}},"Select":"ALL_ATTRIBUTES","Limit":1}"##,
        ),
        (
            10,
            r##"{"TableName":"fuzz","IndexName":"gsi","Segment":0,"TotalSegments":2}"##,
        ),
        (
            14,
            r##"{"TransactItems":[{"Put":{"TableName":"fuzz","Item":{"pk":{"S":"t"},"sk":{"N":"1"}}}},{"ConditionCheck":{"TableName":"fuzz","Key":{"pk":{"S":"a"},"sk":{"N":"1"}},"ConditionExpression":"attribute_exists(pk)"}}]}"##,
        ),
        (
            0,
            r##"{"TableName":"other","AttributeDefinitions":[{"AttributeName":"h","AttributeType":"B"}],"KeySchema":[{"AttributeName":"h","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"##,
        ),
        (
            3,
            r##"{"TableName":"fuzz","AttributeDefinitions":[{"AttributeName":"z","AttributeType":"N"}],"GlobalSecondaryIndexUpdates":[{"Create":{"IndexName":"byZ","KeySchema":[{"AttributeName":"z","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}}]}"##,
        ),
        (0xF0, r##"{"TableName":"fuzz"}"##),
    ];
    for (i, (op, body)) in requests.iter().enumerate() {
        let mut data = vec![*op];
        data.extend_from_slice(body.as_bytes());
        write("requests", &format!("request{i}"), &data);
    }
    let numbers = [
        "1\x002",
        "-1.5E10\x003e-2",
        "0.000001\0-0",
        "99999999999999999999999999999999999999\x001",
        "1E125\0-1E-130",
        "9.9999999999999999999999999999999999999E+125\x000.1",
    ];
    for (i, n) in numbers.iter().enumerate() {
        write("numbers", &format!("number{i}"), n.as_bytes());
    }
    // The model targets take `arbitrary` operation sequences: any bytes are a program.
    for (i, len) in [64usize, 256, 1024].iter().enumerate() {
        let bytes: Vec<u8> = (0..*len).map(|j| (j * 131 + i * 17) as u8).collect();
        write("engine_model", &format!("ops{i}"), &bytes);
        write("table_model", &format!("ops{i}"), &bytes);
    }
}

/// A fresh temporary directory.
fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-seeds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
