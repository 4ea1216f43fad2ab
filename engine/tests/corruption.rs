//! Damaged files: the engine reports corruption with the file and offset, never panics and
//! never returns wrong data; a torn WAL tail is recovered, not reported.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::fs;
use std::path::{Path, PathBuf};
use strata_engine::{Compression, Db, Error, Options, WalRecovery, WriteBatch, WriteOptions};

fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn fill(db: &Db, n: u32) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut b = WriteBatch::new();
        for i in chunk {
            b.put(format!("key{i:06}"), format!("value{i}").repeat(4));
        }
        db.write(b, WriteOptions::default()).unwrap();
    }
}

fn opts() -> Options {
    Options::default().compression(Compression::None)
}

#[test]
fn flipped_byte_in_a_table_is_corruption_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    fill(&db, 5000);
    db.flush().unwrap();
    drop(db);
    let sst = files_with(dir.path(), ".sst").pop().unwrap();
    let mut data = fs::read(&sst).unwrap();
    data[1000] ^= 0x20; // inside the first data blocks
    fs::write(&sst, data).unwrap();

    let db = Db::open(dir.path(), opts()).unwrap();
    let name = sst.file_name().unwrap().to_string_lossy().into_owned();
    // Some key in the damaged block: a point read fails loudly rather than returning bad data.
    let mut failures = 0;
    for i in 0..200 {
        match db.get(format!("key{i:06}")) {
            Ok(v) => assert_eq!(v.as_deref(), Some(format!("value{i}").repeat(4).as_bytes())),
            Err(e) => {
                assert!(matches!(e, Error::Corruption { .. }), "{e}");
                assert!(e.to_string().contains(&name), "error names the file: {e}");
                failures += 1;
            }
        }
    }
    assert!(failures > 0, "the damaged block was never read");
    // A scan over the damage ends with the same error.
    let err = db
        .iter()
        .find_map(Result::err)
        .expect("scan reports corruption");
    assert!(
        err.is_corruption() && err.to_string().contains(&name),
        "{err}"
    );
}

#[test]
fn truncated_wal_tail_recovers_the_valid_prefix() {
    for cut_back in [1u64, 7, 100, 5000, 20_000] {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        for i in 0..1000u32 {
            db.put(format!("key{i:06}"), format!("value{i}")).unwrap();
        }
        drop(db);
        let wal = files_with(dir.path(), ".log").pop().unwrap();
        let len = fs::metadata(&wal).unwrap().len();
        let f = fs::OpenOptions::new().write(true).open(&wal).unwrap();
        f.set_len(len - cut_back).unwrap();
        drop(f);
        let db = Db::open(dir.path(), opts()).unwrap();
        let keys: Vec<_> = db.iter().map(|r| r.unwrap().0).collect();
        assert!(
            !keys.is_empty() && keys.len() < 1000,
            "cut {cut_back}: {} keys",
            keys.len()
        );
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(
                k,
                format!("key{i:06}").as_bytes(),
                "cut {cut_back}: a prefix survives"
            );
        }
    }
}

#[test]
fn damage_in_the_middle_of_the_wal_is_an_error_unless_point_in_time_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    for i in 0..2000u32 {
        db.put(format!("key{i:06}"), format!("value{i}")).unwrap();
    }
    drop(db);
    let wal = files_with(dir.path(), ".log")
        .into_iter()
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap();
    let mut data = fs::read(&wal).unwrap();
    data[10_000] ^= 0xff;
    fs::write(&wal, data).unwrap();
    let err = Db::open(dir.path(), opts()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(".log") && msg.contains("offset"), "{msg}");

    let db = Db::open(dir.path(), opts().wal_recovery(WalRecovery::PointInTime)).unwrap();
    let keys: Vec<_> = db.iter().map(|r| r.unwrap().0).collect();
    assert!(!keys.is_empty() && keys.len() < 2000);
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(k, format!("key{i:06}").as_bytes());
    }
    // New writes after a point-in-time recovery survive the next reopen.
    db.put("zzz", "after").unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.get("zzz").unwrap().as_deref(), Some(&b"after"[..]));
}

fn expect_open_corruption(dir: &Path, what: &str) -> String {
    match Db::open(dir, opts()) {
        Err(e @ Error::Corruption { .. }) => e.to_string(),
        Err(e) => panic!("{what}: expected corruption, got {e}"),
        Ok(_) => panic!("{what}: opened a damaged database"),
    }
}

#[test]
fn damaged_manifest_or_current_is_a_clear_error_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    fill(&db, 3000);
    db.flush().unwrap();
    drop(db);
    let manifest = files_with(dir.path(), "")
        .into_iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("MANIFEST-")
        })
        .unwrap();
    let good = fs::read(&manifest).unwrap();

    fs::write(
        &manifest,
        b"this is not a manifest at all, just some garbage bytes",
    )
    .unwrap();
    let msg = expect_open_corruption(dir.path(), "garbage manifest");
    assert!(msg.contains("MANIFEST-"), "{msg}");

    let mut flipped = good.clone();
    flipped[20] ^= 0x01;
    fs::write(&manifest, &flipped).unwrap();
    expect_open_corruption(dir.path(), "flipped manifest byte");

    fs::write(&manifest, b"").unwrap();
    expect_open_corruption(dir.path(), "empty manifest");

    fs::write(&manifest, &good).unwrap();
    let current = dir.path().join("CURRENT");
    let good_current = fs::read(&current).unwrap();
    fs::write(&current, b"\x00\xffgarbage").unwrap();
    let msg = expect_open_corruption(dir.path(), "garbage CURRENT");
    assert!(msg.contains("CURRENT"), "{msg}");
    fs::write(&current, b"MANIFEST-999999\n").unwrap();
    let msg = expect_open_corruption(dir.path(), "CURRENT names a missing manifest");
    assert!(msg.contains("missing"), "{msg}");
    fs::write(&current, &good_current).unwrap();

    let sst = files_with(dir.path(), ".sst").pop().unwrap();
    let table = fs::read(&sst).unwrap();
    fs::remove_file(&sst).unwrap();
    let msg = expect_open_corruption(dir.path(), "missing table");
    assert!(msg.contains(".sst"), "{msg}");
    fs::write(&sst, &table[..table.len() - 5]).unwrap();
    expect_open_corruption(dir.path(), "truncated table");
    fs::write(&sst, &table).unwrap();

    // Repaired: it opens with every key.
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.iter().count(), 3000);
}

#[test]
fn second_open_of_the_same_directory_is_a_lock_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let err = Db::open(dir.path(), opts()).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains("already open"), "{err}");
    drop(db);
    Db::open(dir.path(), opts()).unwrap();
}

#[test]
fn missing_database_without_create_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let err = Db::open(dir.path().join("nope"), opts().create_if_missing(false)).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    let db = Db::open(dir.path(), opts()).unwrap();
    drop(db);
    let err = Db::open(dir.path(), opts().error_if_exists(true)).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
}
