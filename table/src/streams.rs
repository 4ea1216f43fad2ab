//! Table streams: DynamoDB Streams on `strata-streams` change logs.
//!
//! A table with a stream appends one change record per mutation that changes an item, in the
//! same engine commit as the mutation (single writes, batches, transactions): `INSERT`,
//! `MODIFY` or `REMOVE`, with the keys and the images the view type asks for. A write that
//! changes nothing (an identical put, a delete of a missing item, an update to the same
//! values) appends nothing; "identical" is value equality, which the normalized attribute
//! values make independent of map order, set order and number formatting.
//!
//! Records are stored without their sequence number (unknown until commit); it is taken
//! from the record's key when read. Each enabling of the stream starts a new log (labelled by
//! its creation time); a disabled stream stays readable until its retention passes.

use crate::codec;
use crate::error::{Result, TableError};
use crate::schema::{KeySchema, StoredTable};
use crate::value::{item_size, Item};
use serde::{Deserialize, Serialize};
use strata_streams::{Appender, ChangeLog, LogOptions};

/// One stream of a table (the current one, or an older, disabled one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamInfo {
    /// The label: the creation time, `YYYY-MM-DDThh:mm:ss.mmm`.
    pub label: String,
    /// `KEYS_ONLY`, `NEW_IMAGE`, `OLD_IMAGE` or `NEW_AND_OLD_IMAGES`.
    pub view_type: String,
    /// Whether records are still being appended.
    pub enabled: bool,
    /// Epoch seconds.
    pub created: f64,
    /// Whether the change log is named by the table's id (`table/<id>/stream/<label>`), as
    /// every stream created since table names may be 255 characters long is; older streams
    /// (without the field) keep their name-based logs.
    #[serde(default)]
    pub named_by_id: bool,
}

/// The view types.
pub const VIEW_TYPES: [&str; 4] = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"];

/// A table's live stream: its log and view type.
pub struct TableStream {
    /// The change log.
    pub log: ChangeLog,
    /// What records hold.
    pub view_type: String,
}

impl StreamInfo {
    /// The change log's name.
    pub fn log_name(&self, table: &StoredTable) -> String {
        if self.named_by_id {
            format!("table/{}/stream/{}", table.id, self.label)
        } else {
            format!("table/{}/{}/stream/{}", table.name, table.id, self.label)
        }
    }

    /// The stream ARN.
    pub fn arn(&self, table: &StoredTable) -> String {
        format!("{}/stream/{}", table.arn(), self.label)
    }
}

/// A label from epoch milliseconds: `2024-01-02T03:04:05.678`.
pub fn label(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Opens the change log of `info`; `options` apply if it is created now (a log keeps the
/// options it was created with).
pub fn open_log(
    db: &strata_engine::Db,
    table: &StoredTable,
    info: &StreamInfo,
    options: &LogOptions,
) -> Result<ChangeLog> {
    ChangeLog::open(db, &info.log_name(table), options.clone()).map_err(stream_error)
}

/// A streams-layer error as a table error.
pub fn stream_error(e: strata_streams::StreamError) -> TableError {
    match e {
        strata_streams::StreamError::Engine(e) => TableError::Engine(e),
        strata_streams::StreamError::ResourceNotFound(m) => TableError::ResourceNotFound(m),
        strata_streams::StreamError::Validation(m) => TableError::Validation(m),
        strata_streams::StreamError::TrimmedDataAccess(m) => TableError::TrimmedDataAccess(m),
        strata_streams::StreamError::ExpiredIterator(m) => TableError::ExpiredIterator(m),
        other => TableError::Internal(other.to_string()),
    }
}

/// The stored form of a change record (all but the sequence number and event id, which are
/// known only once committed); see [`StoredRecord::encode`].
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub event_name: String,
    /// Whether DynamoDB itself made the change (a time-to-live expiry), which the record's
    /// `userIdentity` says; stored as the event byte's high bit.
    pub by_service: bool,
    /// The `dynamodb` part.
    pub dynamodb: StoredChange,
}

/// The `dynamodb` part of a stored record.
#[derive(Debug, Clone)]
pub struct StoredChange {
    /// Epoch seconds.
    pub approximate_creation_date_time: f64,
    /// The item's key attributes.
    pub keys: Item,
    /// The item after the change (per view type).
    pub new_image: Option<Item>,
    /// The item before the change (per view type).
    pub old_image: Option<Item>,
    /// Bytes of keys and images.
    pub size_bytes: u64,
    /// The view type.
    pub stream_view_type: String,
}

const EVENTS: [&str; 3] = ["INSERT", "MODIFY", "REMOVE"];
/// The event byte's bit marking a change made by the service (a TTL expiry).
const SERVICE_BIT: u8 = 0x80;

impl StoredRecord {
    /// The stored form: a version byte, the event, the view type, the creation time (ms) and
    /// size, then the keys and the images in the binary item encoding (compact, and far
    /// cheaper on the write path than JSON).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(1);
        out.push(
            EVENTS
                .iter()
                .position(|e| *e == self.event_name)
                .unwrap_or(0) as u8
                | if self.by_service { SERVICE_BIT } else { 0 },
        );
        out.push(
            VIEW_TYPES
                .iter()
                .position(|v| *v == self.dynamodb.stream_view_type)
                .unwrap_or(0) as u8,
        );
        out.extend_from_slice(
            &((self.dynamodb.approximate_creation_date_time * 1000.0) as u64).to_be_bytes(),
        );
        out.extend_from_slice(&self.dynamodb.size_bytes.to_be_bytes());
        for item in [
            Some(&self.dynamodb.keys),
            self.dynamodb.new_image.as_ref(),
            self.dynamodb.old_image.as_ref(),
        ] {
            match item {
                Some(i) => {
                    let bytes = codec::encode_item(i);
                    out.push(1);
                    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                    out.extend_from_slice(&bytes);
                }
                None => out.push(0),
            }
        }
        out
    }

    /// Decodes [`StoredRecord::encode`]'s form; the error says what is wrong.
    pub fn decode(mut src: &[u8]) -> std::result::Result<StoredRecord, String> {
        fn take<'a>(src: &mut &'a [u8], n: usize) -> std::result::Result<&'a [u8], String> {
            if src.len() < n {
                return Err("truncated stream record".into());
            }
            let (a, b) = src.split_at(n);
            *src = b;
            Ok(a)
        }
        let head = take(&mut src, 19)?;
        if head[0] != 1 {
            return Err(format!("unknown stream record version {}", head[0]));
        }
        let event = EVENTS
            .get((head[1] & !SERVICE_BIT) as usize)
            .ok_or("bad event")?;
        let view = VIEW_TYPES.get(head[2] as usize).ok_or("bad view type")?;
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&head[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let (ms, size) = (u64_at(3), u64_at(11));
        let mut items = Vec::with_capacity(3);
        for _ in 0..3 {
            let present = take(&mut src, 1)?[0];
            if present == 0 {
                items.push(None);
                continue;
            }
            let mut len = [0u8; 4];
            len.copy_from_slice(take(&mut src, 4)?);
            let bytes = take(&mut src, u32::from_be_bytes(len) as usize)?;
            items.push(Some(codec::decode_item(bytes)?));
        }
        let old = items.pop().flatten();
        let new = items.pop().flatten();
        let keys = items
            .pop()
            .flatten()
            .ok_or("a stream record without keys")?;
        Ok(StoredRecord {
            event_name: (*event).to_owned(),
            by_service: head[1] & SERVICE_BIT != 0,
            dynamodb: StoredChange {
                approximate_creation_date_time: ms as f64 / 1000.0,
                keys,
                new_image: new,
                old_image: old,
                size_bytes: size,
                stream_view_type: (*view).to_owned(),
            },
        })
    }
}

/// The record for a change from `old` to `new`, or `None` if nothing changed.
pub fn change_record(
    view: &str,
    key: &KeySchema,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Option<StoredRecord> {
    let event = match (old, new) {
        (None, None) => return None,
        (Some(o), Some(n)) if o == n => return None,
        (None, Some(_)) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        (Some(_), None) => "REMOVE",
    };
    let keys = key.key_attributes(new.or(old)?);
    let new_image = matches!(view, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES")
        .then(|| new.cloned())
        .flatten();
    let old_image = matches!(view, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")
        .then(|| old.cloned())
        .flatten();
    let size = item_size(&keys)
        + new_image.as_ref().map_or(0, item_size)
        + old_image.as_ref().map_or(0, item_size);
    Some(StoredRecord {
        event_name: event.into(),
        by_service: false,
        dynamodb: StoredChange {
            approximate_creation_date_time: (crate::catalog::now_ms() / 1000) as f64,
            keys,
            new_image,
            old_image,
            size_bytes: size as u64,
            stream_view_type: view.to_owned(),
        },
    })
}

/// The appender of a live stream for one commit; `None` if the stream was disabled (sealed)
/// meanwhile, in which case the write goes on without a record, as after the disable.
pub fn appender(stream: &TableStream) -> Result<Option<Appender<'_>>> {
    match stream.log.appender() {
        Ok(a) => Ok(Some(a)),
        Err(e) => {
            if stream.log.is_sealed().map_err(stream_error)? {
                Ok(None)
            } else {
                Err(stream_error(e))
            }
        }
    }
}

/// Appends the change record (if any) of one item to a table's stream within `target`.
pub fn append_change(
    stream: &TableStream,
    appender: &Appender<'_>,
    target: &mut impl strata_streams::Append,
    key: &KeySchema,
    old: Option<&Item>,
    new: Option<&Item>,
    by_service: bool,
) -> Result<()> {
    let Some(mut record) = change_record(&stream.view_type, key, old, new) else {
        return Ok(());
    };
    record.by_service = by_service;
    let pk = new
        .or(old)
        .and_then(|i| i.get(&key.partition.name))
        .map(codec::partition_prefix)
        .unwrap_or_default();
    let payload = record.encode();
    appender.append(target, &pk, &payload);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn labels_are_iso_timestamps() {
        assert_eq!(label(0), "1970-01-01T00:00:00.000");
        assert_eq!(label(1_700_000_000_123), "2023-11-14T22:13:20.123");
        assert_eq!(label(951_782_400_000), "2000-02-29T00:00:00.000");
    }

    #[test]
    fn logs_are_named_by_table_id_except_those_stored_before() {
        let table: StoredTable = serde_json::from_value(serde_json::json!({
            "name": "t".repeat(255), "id": 7,
            "key": {"partition": {"name": "pk", "ty": "S"}, "sort": null},
            "attribute_definitions": [], "created": 0.0, "billing_mode": "PAY_PER_REQUEST",
            "read_units": 0, "write_units": 0, "deletion_protection": false
        }))
        .unwrap();
        let old: StreamInfo = serde_json::from_value(serde_json::json!({
            "label": "2000-02-29T00:00:00.000", "view_type": "KEYS_ONLY",
            "enabled": true, "created": 0.0
        }))
        .unwrap();
        assert_eq!(
            old.log_name(&table),
            format!("table/{}/7/stream/2000-02-29T00:00:00.000", table.name)
        );
        let new = StreamInfo {
            named_by_id: true,
            ..old
        };
        assert_eq!(
            new.log_name(&table),
            "table/7/stream/2000-02-29T00:00:00.000"
        );
        assert_eq!(table.keyspace_name(), format!("table/{}/7", table.name));
    }

    #[test]
    fn no_record_for_a_change_that_changes_nothing() {
        let key = KeySchema {
            partition: crate::schema::KeyAttribute {
                name: "pk".into(),
                ty: "S".into(),
            },
            sort: None,
        };
        let a: Item =
            serde_json::from_str(r#"{"pk":{"S":"x"},"n":{"N":"1.0"},"s":{"SS":["b","a"]}}"#)
                .unwrap();
        let b: Item =
            serde_json::from_str(r#"{"s":{"SS":["a","b"]},"n":{"N":"1"},"pk":{"S":"x"}}"#).unwrap();
        assert!(change_record("NEW_AND_OLD_IMAGES", &key, Some(&a), Some(&b)).is_none());
        assert!(change_record("KEYS_ONLY", &key, None, None).is_none());
        let r = change_record("NEW_IMAGE", &key, None, Some(&a)).unwrap();
        assert_eq!(r.event_name, "INSERT");
        assert!(r.dynamodb.old_image.is_none() && r.dynamodb.new_image.is_some());
        let r = change_record("OLD_IMAGE", &key, Some(&a), None).unwrap();
        assert_eq!(r.event_name, "REMOVE");
        assert_eq!(r.dynamodb.keys.len(), 1);
        let back = StoredRecord::decode(&r.encode()).unwrap();
        assert_eq!(back.event_name, "REMOVE");
        assert_eq!(back.dynamodb.old_image, r.dynamodb.old_image);
        assert!(back.dynamodb.new_image.is_none());
        let bytes = r.encode();
        for cut in 0..bytes.len() {
            assert!(StoredRecord::decode(&bytes[..cut]).is_err());
        }
    }
}
