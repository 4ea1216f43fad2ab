//! Capacity units as DynamoDB computes them, for `ReturnConsumedCapacity`: a read costs one
//! unit per 4 KB of item (half for an eventually consistent read, double in a transaction),
//! a write one unit per 1 KB of the larger of the old and new item (double in a transaction).

use crate::error::Result;
use crate::model::{Capacity, ConsumedCapacity};

/// Units for reading `bytes` (at least one 4 KB unit, even for a missing item).
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

/// Units for writing an item of `bytes` (at least one).
pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// The `ReturnConsumedCapacity` setting of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Nothing.
    None,
    /// The total.
    Total,
    /// The total and the table's (and indexes') shares.
    Indexes,
}

impl Report {
    /// Parses the request field (absent = `NONE`).
    pub fn parse(v: Option<&str>) -> Result<Report> {
        match v {
            None | Some("NONE") => Ok(Report::None),
            Some("TOTAL") => Ok(Report::Total),
            Some("INDEXES") => Ok(Report::Indexes),
            Some(other) => Err(crate::error::TableError::constraints(vec![
                crate::error::violation(
                    Some(other),
                    "returnConsumedCapacity",
                    "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]",
                ),
            ])),
        }
    }

    /// The response field for `units` consumed on `table` (`read` says which kind).
    pub fn consumed(self, table: &str, units: f64, read: bool) -> Option<ConsumedCapacity> {
        if self == Report::None {
            return None;
        }
        let (r, w) = if read {
            (Some(units), None)
        } else {
            (None, Some(units))
        };
        Some(ConsumedCapacity {
            table_name: Some(table.to_owned()),
            capacity_units: Some(units),
            read_capacity_units: r,
            write_capacity_units: w,
            table: (self == Report::Indexes).then_some(Capacity {
                capacity_units: Some(units),
                read_capacity_units: r,
                write_capacity_units: w,
            }),
            ..ConsumedCapacity::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_up_per_block() {
        assert_eq!(read_units(0, true), 1.0);
        assert_eq!(read_units(4096, true), 1.0);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(read_units(4097, false), 1.0);
        assert_eq!(write_units(1), 1.0);
        assert_eq!(write_units(1025), 2.0);
        assert_eq!(write_units(400 * 1024), 400.0);
    }
}
