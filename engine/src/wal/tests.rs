use super::*;
use crate::fs::{FileSystem, MemFs};
use std::path::{Path, PathBuf};

fn write_log(fs: &MemFs, records: &[Vec<u8>]) -> PathBuf {
    let dir = Path::new("/w");
    fs.create_dir_all(dir).unwrap();
    let path = dir.join("000001.log");
    let file = fs.create(&path).unwrap();
    let mut w = LogWriter::new(file, path.clone());
    for r in records {
        w.add_record(r).unwrap();
    }
    path
}

fn read_log(fs: &MemFs, path: &Path, tolerate: bool) -> crate::Result<(Vec<Vec<u8>>, Option<u64>)> {
    let policy = if tolerate {
        DamagePolicy::StopAtDamage
    } else {
        DamagePolicy::TornTail
    };
    read_log_with(fs, path, policy)
}

fn read_log_with(
    fs: &MemFs,
    path: &Path,
    policy: DamagePolicy,
) -> crate::Result<(Vec<Vec<u8>>, Option<u64>)> {
    let mut r = LogReader::new(fs.open(path).unwrap(), path.to_path_buf(), policy);
    let mut out = Vec::new();
    while let Some((rec, _)) = r.next_record()? {
        out.push(rec.to_vec());
    }
    Ok((out, r.dropped_tail.map(|(o, _)| o)))
}

fn records() -> Vec<Vec<u8>> {
    // Sizes chosen to hit every fragment type and block-edge padding.
    [
        0usize,
        1,
        100,
        BLOCK_SIZE - HEADER_SIZE,
        BLOCK_SIZE - 3,
        3 * BLOCK_SIZE + 17,
        5,
        70_000,
        9,
    ]
    .iter()
    .enumerate()
    .map(|(i, &n)| (0..n).map(|j| (i * 31 + j * 7) as u8).collect())
    .collect()
}

#[test]
fn records_roundtrip_across_blocks() {
    let fs = MemFs::new();
    let recs = records();
    let path = write_log(&fs, &recs);
    let (got, dropped) = read_log(&fs, &path, false).unwrap();
    assert_eq!(got, recs);
    assert_eq!(dropped, None);
}

#[test]
fn every_truncation_keeps_exactly_the_complete_records() {
    let fs = MemFs::new();
    let recs: Vec<Vec<u8>> = (0..40).map(|i| vec![i as u8; 1500 + i * 50]).collect();
    let path = write_log(&fs, &recs);
    let full = fs.read_file(&path).unwrap();
    // Offsets at which each record ends.
    let mut ends = Vec::new();
    {
        let fs2 = MemFs::new();
        let mut acc = Vec::new();
        for r in &recs {
            acc.push(r.clone());
            let p = write_log(&fs2, &acc);
            ends.push(fs2.read_file(&p).unwrap().len());
        }
    }
    for cut in (0..full.len())
        .step_by(97)
        .chain([full.len() - 1, full.len()])
    {
        fs.write_file(&path, full[..cut].to_vec());
        let (got, _) = read_log(&fs, &path, false).unwrap();
        let expect = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(got.len(), expect, "cut at {cut}");
        assert_eq!(&got[..], &recs[..expect]);
    }
}

#[test]
fn damage_in_the_middle_is_corruption_naming_file_and_offset() {
    let fs = MemFs::new();
    let recs: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8; 1000]).collect();
    let path = write_log(&fs, &recs);
    let mut data = fs.read_file(&path).unwrap();
    data[5000] ^= 0x40;
    fs.write_file(&path, data);
    let err = read_log(&fs, &path, false).unwrap_err();
    match &err {
        crate::Error::Corruption { file, offset, .. } => {
            assert_eq!(file, &path);
            assert!(*offset <= 5000 && 5000 - *offset < 1100, "offset {offset}");
        }
        other => panic!("expected corruption, got {other}"),
    }
    assert!(err.to_string().contains("000001.log"));
    // Point-in-time recovery keeps the records before the damage.
    let (got, dropped) = read_log(&fs, &path, true).unwrap();
    assert_eq!(got.len(), 4);
    assert!(dropped.is_some());
}

#[test]
fn damage_followed_by_a_valid_record_in_the_same_block_is_corruption() {
    let fs = MemFs::new();
    let recs: Vec<Vec<u8>> = (0..3).map(|i| vec![i as u8; 100]).collect();
    let path = write_log(&fs, &recs);
    let mut data = fs.read_file(&path).unwrap();
    data[HEADER_SIZE + 50] ^= 1; // payload of the first record
    fs.write_file(&path, data);
    assert!(read_log(&fs, &path, false).unwrap_err().is_corruption());
}

#[test]
fn damaged_or_zeroed_last_record_is_a_torn_tail() {
    let fs = MemFs::new();
    let recs: Vec<Vec<u8>> = (0..10).map(|i| vec![i as u8; 1000]).collect();
    let path = write_log(&fs, &recs);
    let mut data = fs.read_file(&path).unwrap();
    let n = data.len();
    data[n - 10] ^= 0xff;
    fs.write_file(&path, data.clone());
    let (got, dropped) = read_log(&fs, &path, false).unwrap();
    assert_eq!(got, recs[..9]);
    assert!(dropped.is_some());
    // A zero-filled tail (file extended, data never written).
    let mut zeroed = data[..n - 1007].to_vec();
    zeroed.extend(std::iter::repeat_n(0u8, 3000));
    fs.write_file(&path, zeroed);
    let (got, _) = read_log(&fs, &path, false).unwrap();
    assert_eq!(got, recs[..9]);
}

#[test]
fn random_garbage_never_panics() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let fs = MemFs::new();
    let dir = Path::new("/w");
    fs.create_dir_all(dir).unwrap();
    let path = dir.join("g.log");
    for _ in 0..200 {
        let len = rng.gen_range(0..100_000);
        let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        fs.write_file(&path, data);
        let _ = read_log(&fs, &path, false);
        let _ = read_log(&fs, &path, true);
    }
}

#[test]
fn truncation_only_policy_rejects_a_bad_checksum_at_the_end_but_accepts_a_cut() {
    let fs = MemFs::new();
    let recs: Vec<Vec<u8>> = (0..10).map(|i| vec![i as u8; 300]).collect();
    let path = write_log(&fs, &recs);
    let data = fs.read_file(&path).unwrap();
    let n = data.len();
    let mut flipped = data.clone();
    flipped[n - 10] ^= 0xff;
    fs.write_file(&path, flipped);
    assert!(read_log_with(&fs, &path, DamagePolicy::TruncationOnly)
        .unwrap_err()
        .is_corruption());
    fs.write_file(&path, data[..n - 10].to_vec());
    let (got, dropped) = read_log_with(&fs, &path, DamagePolicy::TruncationOnly).unwrap();
    assert_eq!(got, recs[..9]);
    assert!(dropped.is_some());
}

#[test]
fn a_zero_filled_log_reads_back_whole_and_a_crash_in_it_keeps_the_synced_prefix() {
    // Records prepared for syncing land in a zero-filled region that runs past them; after a
    // crash at any point, the log reads back as exactly the records synced (or more), never
    // as corruption.
    let recs = records();
    for synced in 0..=recs.len() {
        let fs = MemFs::new();
        let dir = Path::new("/w");
        fs.create_dir_all(dir).unwrap();
        let path = dir.join("000001.log");
        let file = fs.create(&path).unwrap();
        fs.sync_dir(dir).unwrap();
        let mut w = LogWriter::new(file, path.clone());
        for (i, r) in recs.iter().enumerate() {
            w.add_records(std::iter::once(&r[..]), true).unwrap();
            if i < synced {
                w.sync().unwrap();
            }
        }
        let file_len = fs.read_file(&path).unwrap().len() as u64;
        assert!(file_len > w.len(), "zeros run past the appends");
        assert_eq!(file_len % super::writer::ZERO_FILL_STEP, 0);
        let (got, dropped) = read_log(&fs, &path, false).unwrap();
        assert_eq!(got, recs, "before the crash, synced={synced}");
        assert_eq!(
            dropped, None,
            "zeros to the end of the file are the log's clean end"
        );
        drop(w);
        fs.crash();
        let (got, _) = read_log(&fs, &path, false).unwrap();
        assert!(got.len() >= synced, "synced={synced}: lost synced records");
        assert_eq!(got, recs[..got.len()], "synced={synced}");
    }
}
