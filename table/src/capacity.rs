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

/// Adds `c` to the per-table list `all`: summed into the entry of its table, or a new entry.
/// DynamoDB reports one entry per table for batches and transactions.
pub fn add(all: &mut Vec<ConsumedCapacity>, c: Option<ConsumedCapacity>) {
    let Some(c) = c else { return };
    let sum = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    };
    match all.iter_mut().find(|x| x.table_name == c.table_name) {
        Some(x) => {
            x.capacity_units = sum(x.capacity_units, c.capacity_units);
            x.read_capacity_units = sum(x.read_capacity_units, c.read_capacity_units);
            x.write_capacity_units = sum(x.write_capacity_units, c.write_capacity_units);
            if let (Some(t), Some(ct)) = (&mut x.table, &c.table) {
                t.capacity_units = sum(t.capacity_units, ct.capacity_units);
                t.read_capacity_units = sum(t.read_capacity_units, ct.read_capacity_units);
                t.write_capacity_units = sum(t.write_capacity_units, ct.write_capacity_units);
            }
        }
        None => all.push(c),
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
