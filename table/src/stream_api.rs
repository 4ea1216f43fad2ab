//! The four DynamoDB Streams operations — ListStreams, DescribeStream, GetShardIterator,
//! GetRecords — as request/response types the server exposes, over the tables' change logs.

use crate::catalog::{Database, Table};
use crate::error::{missing, violation, Result, TableError};
use crate::model::wire;
use crate::schema::StoredTable;
use crate::streams::{self, StoredRecord, StreamInfo};
use crate::value::Item;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use strata_streams::{
    format_sequence, parse_sequence, parse_shard_id, ChangeLog, IteratorType, ShardIterator,
};

wire!(
    /// ListStreams.
    ListStreamsInput {
        /// Only this table's streams.
        table_name: Option<String>,
        /// 1..=100 per page.
        limit: Option<i64>,
        /// Start after this stream.
        exclusive_start_stream_arn: Option<String>,
    }
);

wire!(
    /// One stream in ListStreams.
    StreamSummary {
        /// Its ARN.
        stream_arn: Option<String>,
        /// Its table.
        table_name: Option<String>,
        /// Its label.
        stream_label: Option<String>,
    }
);

wire!(
    /// ListStreams' answer.
    ListStreamsOutput {
        /// The streams.
        streams: Option<Vec<StreamSummary>>,
        /// Where the next page starts.
        last_evaluated_stream_arn: Option<String>,
    }
);

wire!(
    /// DescribeStream.
    DescribeStreamInput {
        /// The stream.
        stream_arn: Option<String>,
        /// Shards per page (1..=100).
        limit: Option<i64>,
        /// Start after this shard.
        exclusive_start_shard_id: Option<String>,
    }
);

wire!(
    /// A shard's sequence number range.
    SequenceNumberRange {
        /// The first sequence number it can hold.
        starting_sequence_number: Option<String>,
        /// Its last, once closed.
        ending_sequence_number: Option<String>,
    }
);

wire!(
    /// A shard in DescribeStream.
    Shard {
        /// Its id.
        shard_id: Option<String>,
        /// Its range.
        sequence_number_range: Option<SequenceNumberRange>,
        /// The shard it succeeds.
        parent_shard_id: Option<String>,
    }
);

wire!(
    /// A stream's description.
    StreamDescription {
        /// Its ARN.
        stream_arn: Option<String>,
        /// Its label.
        stream_label: Option<String>,
        /// `ENABLED` or `DISABLED`.
        stream_status: Option<String>,
        /// What records hold.
        stream_view_type: Option<String>,
        /// Epoch seconds.
        creation_request_date_time: Option<f64>,
        /// Its table.
        table_name: Option<String>,
        /// The table's key schema.
        key_schema: Option<Vec<crate::model::KeySchemaElement>>,
        /// The shards.
        shards: Option<Vec<Shard>>,
        /// Where the next page of shards starts.
        last_evaluated_shard_id: Option<String>,
    }
);

wire!(
    /// DescribeStream's answer.
    DescribeStreamOutput {
        /// The stream.
        stream_description: Option<StreamDescription>,
    }
);

wire!(
    /// GetShardIterator.
    GetShardIteratorInput {
        /// The stream.
        stream_arn: Option<String>,
        /// The shard.
        shard_id: Option<String>,
        /// `TRIM_HORIZON`, `LATEST`, `AT_SEQUENCE_NUMBER` or `AFTER_SEQUENCE_NUMBER`.
        shard_iterator_type: Option<String>,
        /// For the two sequence-number types.
        sequence_number: Option<String>,
    }
);

wire!(
    /// GetShardIterator's answer.
    GetShardIteratorOutput {
        /// The iterator (valid 15 minutes).
        shard_iterator: Option<String>,
    }
);

wire!(
    /// GetRecords.
    GetRecordsInput {
        /// Where to read.
        shard_iterator: Option<String>,
        /// 1..=1000 records.
        limit: Option<i64>,
    }
);

wire!(
    /// The `dynamodb` part of a stream record.
    StreamRecord {
        /// Epoch seconds.
        approximate_creation_date_time: Option<f64>,
        /// Key attributes.
        keys: Option<Item>,
        /// The item after.
        new_image: Option<Item>,
        /// The item before.
        old_image: Option<Item>,
        /// The sequence number.
        sequence_number: Option<String>,
        /// Bytes of keys and images.
        size_bytes: Option<u64>,
        /// The view type.
        stream_view_type: Option<String>,
    }
);

/// One change record as GetRecords returns it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Record {
    /// Unique per record.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub event_name: String,
    /// `1.1`.
    pub event_version: String,
    /// `aws:dynamodb`.
    pub event_source: String,
    /// The region.
    pub aws_region: String,
    /// The change.
    pub dynamodb: StreamRecord,
    /// Who made the change, when DynamoDB itself did (a time-to-live expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity: Option<Identity>,
}

/// The maker of a change in a stream record: `{"Type": "Service", "PrincipalId":
/// "dynamodb.amazonaws.com"}` for time-to-live expiries.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Identity {
    /// `dynamodb.amazonaws.com`.
    pub principal_id: String,
    /// `Service`.
    #[serde(rename = "Type")]
    pub kind: String,
}

wire!(
    /// GetRecords' answer.
    GetRecordsOutput {
        /// The records.
        records: Option<Vec<Record>>,
        /// Where to go on; absent once a closed shard is drained.
        next_shard_iterator: Option<String>,
    }
);

/// A stream found by ARN: its table, info and log.
struct Found {
    table: Arc<Table>,
    info: StreamInfo,
    log: ChangeLog,
}

fn stream_not_found(arn: &str) -> TableError {
    TableError::ResourceNotFound(format!(
        "Requested resource not found: Stream: {arn} not found"
    ))
}

impl Database {
    fn find_stream(&self, arn: &str) -> Result<Found> {
        let rest = arn
            .strip_prefix(&format!(
                "arn:aws:dynamodb:{}:000000000000:table/",
                crate::REGION
            ))
            .ok_or_else(|| stream_not_found(arn))?;
        let (table_name, label) = rest
            .split_once("/stream/")
            .ok_or_else(|| stream_not_found(arn))?;
        let table = self
            .live_table(table_name)
            .map_err(|_| stream_not_found(arn))?;
        let info = table
            .meta
            .streams
            .iter()
            .find(|s| s.label == label)
            .cloned()
            .ok_or_else(|| stream_not_found(arn))?;
        let log = streams::open_log(self.engine(), &table.meta, &info, self.stream_log_options())?;
        Ok(Found { table, info, log })
    }

    /// ListStreams.
    pub fn list_streams(&self, input: ListStreamsInput) -> Result<ListStreamsOutput> {
        let limit = input.limit.unwrap_or(100).clamp(1, 100) as usize;
        let mut all: Vec<(String, String, String)> = Vec::new();
        let names = self.list_tables(crate::model::ListTablesInput::default())?;
        let mut start = names.last_evaluated_table_name.clone();
        let mut tables = names.table_names.unwrap_or_default();
        while let Some(s) = start {
            let page = self.list_tables(crate::model::ListTablesInput {
                exclusive_start_table_name: Some(s),
                limit: None,
            })?;
            tables.extend(page.table_names.unwrap_or_default());
            start = page.last_evaluated_table_name;
        }
        for name in tables {
            if input.table_name.as_ref().is_some_and(|t| *t != name) {
                continue;
            }
            if let Ok(t) = self.live_table(&name) {
                for s in &t.meta.streams {
                    all.push((s.arn(&t.meta), name.clone(), s.label.clone()));
                }
            }
        }
        if let Some(t) = &input.table_name {
            self.live_table(t)?;
        }
        let skip = match &input.exclusive_start_stream_arn {
            Some(a) => all
                .iter()
                .position(|(arn, _, _)| arn == a)
                .map_or(0, |i| i + 1),
            None => 0,
        };
        let page: Vec<_> = all.iter().skip(skip).take(limit).cloned().collect();
        let more = skip + page.len() < all.len();
        Ok(ListStreamsOutput {
            last_evaluated_stream_arn: if more {
                page.last().map(|p| p.0.clone())
            } else {
                None
            },
            streams: Some(
                page.into_iter()
                    .map(|(arn, table, label)| StreamSummary {
                        stream_arn: Some(arn),
                        table_name: Some(table),
                        stream_label: Some(label),
                    })
                    .collect(),
            ),
        })
    }

    /// DescribeStream.
    pub fn describe_stream(&self, input: DescribeStreamInput) -> Result<DescribeStreamOutput> {
        let arn = input
            .stream_arn
            .as_deref()
            .ok_or_else(|| missing("streamArn"))?;
        let found = self.find_stream(arn)?;
        let mut shards = found.log.all_shards().map_err(streams::stream_error)?;
        shards.sort_by_key(|s| s.number);
        let created: std::collections::HashMap<u32, u64> =
            shards.iter().map(|s| (s.number, s.created_ms)).collect();
        let start = input
            .exclusive_start_shard_id
            .as_deref()
            .and_then(parse_shard_id);
        let limit = input.limit.unwrap_or(100).clamp(1, 100) as usize;
        let listed: Vec<_> = shards
            .iter()
            .filter(|s| start.is_none_or(|n| s.number > n))
            .collect();
        let page: Vec<_> = listed.iter().take(limit).collect();
        let more = listed.len() > page.len();
        let desc = StreamDescription {
            stream_arn: Some(arn.to_owned()),
            stream_label: Some(found.info.label.clone()),
            stream_status: Some(
                if found.info.enabled {
                    "ENABLED"
                } else {
                    "DISABLED"
                }
                .into(),
            ),
            stream_view_type: Some(found.info.view_type.clone()),
            creation_request_date_time: Some(found.info.created),
            table_name: Some(found.table.meta.name.clone()),
            key_schema: Some(found.table.meta.key.to_wire()),
            last_evaluated_shard_id: if more {
                page.last().map(|s| s.id())
            } else {
                None
            },
            shards: Some(
                page.iter()
                    .map(|s| Shard {
                        shard_id: Some(s.id()),
                        parent_shard_id: s
                            .parent
                            .and_then(|p| created.get(&p).map(|c| strata_streams::shard_id(*c, p))),
                        sequence_number_range: Some(SequenceNumberRange {
                            starting_sequence_number: Some(format_sequence(s.after_seq + 1)),
                            ending_sequence_number: s.end_seq.map(format_sequence),
                        }),
                    })
                    .collect(),
            ),
        };
        Ok(DescribeStreamOutput {
            stream_description: Some(desc),
        })
    }

    /// GetShardIterator.
    pub fn get_shard_iterator(
        &self,
        input: GetShardIteratorInput,
    ) -> Result<GetShardIteratorOutput> {
        let arn = input
            .stream_arn
            .as_deref()
            .ok_or_else(|| missing("streamArn"))?;
        let shard_id = input
            .shard_id
            .as_deref()
            .ok_or_else(|| missing("shardId"))?;
        let kind = input
            .shard_iterator_type
            .as_deref()
            .ok_or_else(|| missing("shardIteratorType"))?;
        crate::catalog::check_enum(
            kind,
            "shardIteratorType",
            &[
                "TRIM_HORIZON",
                "LATEST",
                "AT_SEQUENCE_NUMBER",
                "AFTER_SEQUENCE_NUMBER",
            ],
        )?;
        let found = self.find_stream(arn)?;
        let no_shard = || {
            TableError::ResourceNotFound(format!(
                "Requested resource not found: Shard does not exist: {shard_id}"
            ))
        };
        // The number alone names a shard only with the creation time the id also carries: a
        // well-formed id the stream never had does not exist.
        let number = parse_shard_id(shard_id).ok_or_else(no_shard)?;
        let shard = found
            .log
            .shard(number)
            .map_err(streams::stream_error)?
            .ok_or_else(no_shard)?;
        if shard.id() != shard_id {
            return Err(no_shard());
        }
        let seq = || -> Result<u64> {
            let s = input.sequence_number.as_deref().ok_or_else(|| {
                TableError::validation(format!(
                    "SequenceNumber is required for ShardIteratorType {kind}"
                ))
            })?;
            parse_sequence(s)
                .ok_or_else(|| TableError::validation(format!("Invalid SequenceNumber: {s}")))
        };
        let it = match kind {
            "TRIM_HORIZON" => IteratorType::TrimHorizon,
            "LATEST" => IteratorType::Latest,
            "AT_SEQUENCE_NUMBER" => IteratorType::AtSequenceNumber(seq()?),
            _ => IteratorType::AfterSequenceNumber(seq()?),
        };
        let iter = found
            .log
            .iterator(number, it)
            .map_err(streams::stream_error)?;
        Ok(GetShardIteratorOutput {
            shard_iterator: Some(iter.to_token(found.log.name())),
        })
    }

    /// GetRecords.
    pub fn get_records(&self, input: GetRecordsInput) -> Result<GetRecordsOutput> {
        let token = input
            .shard_iterator
            .as_deref()
            .ok_or_else(|| missing("shardIterator"))?;
        let limit = input.limit.unwrap_or(1000);
        if !(1..=1000).contains(&limit) {
            return Err(TableError::constraints(vec![violation(
                Some(&limit.to_string()),
                "limit",
                if limit < 1 {
                    "Member must have value greater than or equal to 1"
                } else {
                    "Member must have value less than or equal to 1000"
                },
            )]));
        }
        let (log_name, iter) = ShardIterator::from_token(token).map_err(streams::stream_error)?;
        let (table, info) = self.stream_of_log(&log_name)?;
        let log = streams::open_log(self.engine(), &table, &info, self.stream_log_options())?;
        let page = log
            .get_records(&iter, limit as usize)
            .map_err(streams::stream_error)?;
        let mut records = Vec::with_capacity(page.records.len());
        for r in page.records {
            let stored = StoredRecord::decode(&r.payload)
                .map_err(|e| TableError::Internal(format!("a stream record is damaged: {e}")))?;
            records.push(Record {
                event_id: format!("{:032x}", u128::from(r.seq) * 0x9E37_79B9_7F4A_7C15),
                event_name: stored.event_name,
                event_version: "1.1".into(),
                event_source: "aws:dynamodb".into(),
                aws_region: crate::REGION.into(),
                dynamodb: StreamRecord {
                    approximate_creation_date_time: Some(
                        stored.dynamodb.approximate_creation_date_time,
                    ),
                    keys: Some(stored.dynamodb.keys),
                    new_image: stored.dynamodb.new_image,
                    old_image: stored.dynamodb.old_image,
                    sequence_number: Some(format_sequence(r.seq)),
                    size_bytes: Some(stored.dynamodb.size_bytes),
                    stream_view_type: Some(stored.dynamodb.stream_view_type),
                },
                user_identity: stored.by_service.then(|| Identity {
                    principal_id: "dynamodb.amazonaws.com".into(),
                    kind: "Service".into(),
                }),
            });
        }
        Ok(GetRecordsOutput {
            records: Some(records),
            next_shard_iterator: page.next.map(|n| n.to_token(log.name())),
        })
    }

    /// The table and stream a change log belongs to.
    fn stream_of_log(&self, log: &str) -> Result<(StoredTable, StreamInfo)> {
        let gone = || {
            TableError::ResourceNotFound(
                "Requested resource not found: the stream of this iterator no longer exists".into(),
            )
        };
        // `table/<id>/stream/<label>`, or before logs were named by id
        // `table/<name>/<id>/stream/<label>` (see `StreamInfo::log_name`).
        let rest = log.strip_prefix("table/").ok_or_else(gone)?;
        let (first, rest) = rest.split_once('/').ok_or_else(gone)?;
        let (table, label) = match rest.strip_prefix("stream/") {
            Some(label) => {
                let id = first.parse().map_err(|_| gone())?;
                (self.live_table_by_id(id).ok_or_else(gone)?, label)
            }
            None => {
                let (_, label) = rest.split_once("/stream/").ok_or_else(gone)?;
                (self.live_table(first).map_err(|_| gone())?, label)
            }
        };
        let info = table
            .meta
            .streams
            .iter()
            .find(|s| s.label == label && s.log_name(&table.meta) == log)
            .cloned()
            .ok_or_else(gone)?;
        Ok((table.meta.clone(), info))
    }
}
