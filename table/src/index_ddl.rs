//! Index declarations in CreateTable and UpdateTable: checked against DynamoDB's rules and
//! turned into catalog entries ([`StoredIndex`]).

use crate::catalog::check_enum;
use crate::error::{violation, Result, TableError};
use crate::index::{IndexKind, Projected, StoredIndex};
use crate::model::{AttributeDefinition, KeySchemaElement, SecondaryIndex};
use crate::schema::{KeyAttribute, KeySchema};

/// The most LSIs a table has.
pub const MAX_LOCAL: usize = 5;
/// The most GSIs a table has.
pub const MAX_GLOBAL: usize = 20;
/// The most INCLUDE attributes over all of a table's indexes.
const MAX_PROJECTED: usize = 100;

/// Checks an index name (3..=255 characters of `[a-zA-Z0-9_.-]`).
fn check_index_name(name: Option<&str>, field: &str) -> Result<String> {
    crate::catalog::check_table_name(name, field).map(str::to_owned)
}

/// An index key schema: HASH then optional RANGE, every attribute defined.
fn index_key(
    elements: Option<&Vec<KeySchemaElement>>,
    defs: &[AttributeDefinition],
    field: &str,
    index: &str,
) -> Result<KeySchema> {
    let Some(elements) = elements else {
        return Err(TableError::constraints(vec![violation(
            None,
            &format!("{field}.keySchema"),
            "Member must not be null",
        )]));
    };
    let mut problems = Vec::new();
    if elements.is_empty() || elements.len() > 2 {
        problems.push(violation(
            Some(&format!("{elements:?}")),
            &format!("{field}.keySchema"),
            if elements.is_empty() {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 2"
            },
        ));
    }
    for (i, k) in elements.iter().enumerate() {
        if k.attribute_name.is_none() {
            problems.push(violation(
                None,
                &format!("{field}.keySchema.{}.member.attributeName", i + 1),
                "Member must not be null",
            ));
        }
        match &k.key_type {
            None => problems.push(violation(
                None,
                &format!("{field}.keySchema.{}.member.keyType", i + 1),
                "Member must not be null",
            )),
            Some(t) if t != "HASH" && t != "RANGE" => problems.push(violation(
                Some(t),
                &format!("{field}.keySchema.{}.member.keyType", i + 1),
                "Member must satisfy enum value set: [HASH, RANGE]",
            )),
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(TableError::constraints(problems));
    }
    let names: Vec<&str> = elements
        .iter()
        .filter_map(|k| k.attribute_name.as_deref())
        .collect();
    if elements[0].key_type.as_deref() != Some("HASH") {
        return Err(TableError::invalid_parameter(format!(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type for index: {index}"
        )));
    }
    if elements.len() == 2 && elements[1].key_type.as_deref() != Some("RANGE") {
        return Err(TableError::invalid_parameter(format!(
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type for index: {index}"
        )));
    }
    if names.len() == 2 && names[0] == names[1] {
        return Err(TableError::validation(
            "Both the Hash Key and the Range Key element in the KeySchema have the same name",
        ));
    }
    let attr = |name: &str| -> Result<KeyAttribute> {
        let ty = defs
            .iter()
            .find(|d| d.attribute_name.as_deref() == Some(name))
            .and_then(|d| d.attribute_type.clone())
            .ok_or_else(|| {
                TableError::invalid_parameter(format!(
                    "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
                    names.join(", "),
                    defs.iter()
                        .filter_map(|d| d.attribute_name.as_deref())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        Ok(KeyAttribute {
            name: name.to_owned(),
            ty,
        })
    };
    Ok(KeySchema {
        partition: attr(names[0])?,
        sort: names.get(1).map(|n| attr(n)).transpose()?,
    })
}

/// An index's projection.
fn projection(
    spec: &SecondaryIndex,
    field: &str,
    key: &KeySchema,
    table: &KeySchema,
) -> Result<Projected> {
    let Some(p) = &spec.projection else {
        return Err(TableError::constraints(vec![violation(
            None,
            &format!("{field}.projection"),
            "Member must not be null",
        )]));
    };
    let ty = p.projection_type.as_deref().unwrap_or("INCLUDE");
    check_enum(
        ty,
        &format!("{field}.projection.projectionType"),
        &["ALL", "KEYS_ONLY", "INCLUDE"],
    )?;
    match (ty, &p.non_key_attributes) {
        ("ALL" | "KEYS_ONLY", Some(_)) => Err(TableError::invalid_parameter(format!(
            "ProjectionType is {ty}, but NonKeyAttributes is specified"
        ))),
        ("ALL", None) => Ok(Projected::All),
        ("KEYS_ONLY", None) => Ok(Projected::KeysOnly),
        (_, None) => Err(TableError::invalid_parameter(
            "NonKeyAttributes must be specified when ProjectionType is INCLUDE",
        )),
        (_, Some(names)) => {
            if names.is_empty() || names.len() > 20 {
                return Err(TableError::constraints(vec![violation(
                    Some(&format!("{names:?}")),
                    &format!("{field}.projection.nonKeyAttributes"),
                    if names.is_empty() {
                        "Member must have length greater than or equal to 1"
                    } else {
                        "Member must have length less than or equal to 20"
                    },
                )]));
            }
            let mut seen = std::collections::HashSet::new();
            for n in names {
                if n.is_empty() {
                    return Err(TableError::invalid_parameter(
                        "An attribute name may not be empty",
                    ));
                }
                if !seen.insert(n.as_str()) {
                    return Err(TableError::invalid_parameter(format!(
                        "Duplicate attribute in NonKeyAttributes: {n}"
                    )));
                }
                if key.is_key(n) || table.is_key(n) {
                    // DynamoDB accepts key attributes here; they are projected anyway.
                    continue;
                }
            }
            Ok(Projected::Include(names.clone()))
        }
    }
}

/// Provisioned units of a GSI: required on provisioned tables, refused on on-demand ones.
fn index_throughput(spec: &SecondaryIndex, billing: &str, index: &str) -> Result<(i64, i64)> {
    match (&spec.provisioned_throughput, billing) {
        (Some(_), "PAY_PER_REQUEST") => Err(TableError::invalid_parameter(format!(
            "ProvisionedThroughput should not be specified for index: {index} when BillingMode is PAY_PER_REQUEST"
        ))),
        (None, "PAY_PER_REQUEST") => Ok((0, 0)),
        (None, _) => Err(TableError::invalid_parameter(format!(
            "ProvisionedThroughput must be specified for index: {index}"
        ))),
        (Some(t), _) => crate::catalog::check_throughput(t),
    }
}

/// Parses one index declaration of kind `kind` on a table with key `table` and billing
/// mode `billing`; `field` names it in constraint messages (e.g.
/// `globalSecondaryIndexes.1.member`).
pub fn parse_index(
    spec: &SecondaryIndex,
    kind: IndexKind,
    defs: &[AttributeDefinition],
    table: &KeySchema,
    billing: &str,
    field: &str,
    id: u64,
) -> Result<StoredIndex> {
    let name = check_index_name(spec.index_name.as_deref(), &format!("{field}.indexName"))?;
    let key = index_key(spec.key_schema.as_ref(), defs, field, &name)?;
    let projection = projection(spec, field, &key, table)?;
    let (read_units, write_units) = match kind {
        IndexKind::Global => index_throughput(spec, billing, &name)?,
        // LocalSecondaryIndex has no ProvisionedThroughput member: ignored like any other
        // unknown member.
        _ => (0, 0),
    };
    if kind == IndexKind::Local {
        let Some(table_sort) = &table.sort else {
            return Err(TableError::invalid_parameter(
                "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
            ));
        };
        let _ = table_sort;
        if key.partition.name != table.partition.name {
            return Err(TableError::invalid_parameter(format!(
                "Index KeySchema does not have the same leading hash key as table KeySchema for index: {name}. index hash key: {}, table hash key: {}",
                key.partition.name, table.partition.name
            )));
        }
        if key.sort.is_none() {
            return Err(TableError::invalid_parameter(format!(
                "Index KeySchema for a LocalSecondaryIndex must have a range key for index: {name}"
            )));
        }
    }
    Ok(StoredIndex {
        name,
        id,
        kind,
        key,
        projection,
        read_units,
        write_units,
        backfilling: false,
    })
}

/// Checks a table's whole set of indexes together: unique names, per-table limits, the
/// INCLUDE budget, and that every attribute definition is used by some key schema.
pub fn check_index_set(
    table: &KeySchema,
    indexes: &[StoredIndex],
    defs: &[AttributeDefinition],
) -> Result<()> {
    let mut names = std::collections::HashSet::new();
    for i in indexes.iter().filter(|i| i.kind != IndexKind::Expiry) {
        if !names.insert(i.name.as_str()) {
            return Err(TableError::invalid_parameter(format!(
                "Duplicate index name: {}",
                i.name
            )));
        }
    }
    let count = |k: IndexKind| indexes.iter().filter(|i| i.kind == k).count();
    if count(IndexKind::Local) > MAX_LOCAL {
        return Err(TableError::invalid_parameter(format!(
            "Number of LocalSecondaryIndexes exceeds per-table limit of {MAX_LOCAL}"
        )));
    }
    if count(IndexKind::Global) > MAX_GLOBAL {
        return Err(TableError::LimitExceeded(format!(
            "Subscriber limit exceeded: The number of global secondary indexes exceeds the per-table limit of {MAX_GLOBAL}"
        )));
    }
    let projected: usize = indexes
        .iter()
        .map(|i| match &i.projection {
            Projected::Include(n) => n.len(),
            _ => 0,
        })
        .sum();
    if projected > MAX_PROJECTED {
        return Err(TableError::invalid_parameter(format!(
            "The number of attributes in key schema and projection must not exceed {MAX_PROJECTED}"
        )));
    }
    let mut used: Vec<&str> = table.names().collect();
    for i in indexes.iter().filter(|i| i.kind != IndexKind::Expiry) {
        for n in i.key.names() {
            if !used.contains(&n) {
                used.push(n);
            }
        }
    }
    let defined: Vec<&str> = defs
        .iter()
        .filter_map(|d| d.attribute_name.as_deref())
        .collect();
    if defined.iter().any(|d| !used.contains(d)) {
        return Err(TableError::invalid_parameter(format!(
            "Some AttributeDefinitions are not used. AttributeDefinitions: [{}], keys used: [{}]",
            defined.join(", "),
            used.join(", ")
        )));
    }
    Ok(())
}

/// What UpdateTable's `GlobalSecondaryIndexUpdates` did to a table's catalog entry.
#[derive(Default)]
pub struct IndexChange {
    /// Whether anything changed.
    pub changed: bool,
    /// The id of the index created.
    pub created: Option<u64>,
    /// The index deleted.
    pub deleted: Option<StoredIndex>,
}

/// Applies `GlobalSecondaryIndexUpdates` to `meta` (one Create or Delete per request, as in
/// DynamoDB, and any number of capacity Updates), merging the request's
/// `AttributeDefinitions` for a new index's keys and dropping the definitions no key uses
/// any more.
pub fn apply_gsi_updates(
    meta: &mut crate::schema::StoredTable,
    input: &crate::model::UpdateTableInput,
    updates: &[crate::model::GlobalSecondaryIndexUpdate],
) -> Result<IndexChange> {
    let mut change = IndexChange::default();
    // Index capacity is checked against the billing mode the request switches to, if any.
    let billing = input
        .billing_mode
        .clone()
        .unwrap_or_else(|| meta.billing_mode.clone());
    if updates.is_empty() {
        return Err(TableError::invalid_parameter(
            "At least one of GlobalSecondaryIndexUpdates must be provided",
        ));
    }
    let online = updates
        .iter()
        .filter(|u| u.create.is_some() || u.delete.is_some())
        .count();
    let building = meta
        .indexes
        .iter()
        .any(|i| i.kind == IndexKind::Global && i.backfilling);
    if online > 1 || (online == 1 && building) {
        return Err(TableError::LimitExceeded(
            "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table".into(),
        ));
    }
    for (i, u) in updates.iter().enumerate() {
        let field = format!("globalSecondaryIndexUpdates.{}.member", i + 1);
        let actions = usize::from(u.create.is_some())
            + usize::from(u.delete.is_some())
            + usize::from(u.update.is_some());
        if actions != 1 {
            return Err(TableError::invalid_parameter(
                "One and only one of Create, Update or Delete must be specified in a GlobalSecondaryIndexUpdate",
            ));
        }
        if let Some(spec) = &u.create {
            let mut defs = meta.attribute_definitions.clone();
            for d in input.attribute_definitions.iter().flatten() {
                match defs.iter().find(|e| e.attribute_name == d.attribute_name) {
                    Some(e) if e.attribute_type != d.attribute_type => {
                        return Err(TableError::invalid_parameter(format!(
                            "Cannot change the type of attribute {} from {} to {}",
                            d.attribute_name.as_deref().unwrap_or_default(),
                            e.attribute_type.as_deref().unwrap_or_default(),
                            d.attribute_type.as_deref().unwrap_or_default()
                        )))
                    }
                    Some(_) => {}
                    None => defs.push(d.clone()),
                }
            }
            for d in &defs {
                if let Some(t) = &d.attribute_type {
                    check_enum(
                        t,
                        "attributeDefinitions.member.attributeType",
                        &["B", "N", "S"],
                    )?;
                }
            }
            // The request itself must define the new index's key attributes.
            let requested: Vec<&str> = input
                .attribute_definitions
                .iter()
                .flatten()
                .filter_map(|d| d.attribute_name.as_deref())
                .collect();
            let keys_defined = spec.key_schema.iter().flatten().all(|k| {
                k.attribute_name
                    .as_deref()
                    .is_none_or(|n| requested.contains(&n))
            });
            if !keys_defined {
                return Err(TableError::validation("No Attribute Schema Defined"));
            }
            let name = spec.index_name.as_deref().unwrap_or_default();
            if meta
                .indexes
                .iter()
                .any(|i| i.name == name && i.kind != IndexKind::Expiry)
            {
                return Err(TableError::validation(format!(
                    "One or more parameter values were invalid: Attempting to create an index which already exists: {name}"
                )));
            }
            let id = meta
                .next_index_id
                .max(meta.indexes.iter().map(|i| i.id).max().unwrap_or(0) + 1);
            let index = parse_index(
                spec,
                IndexKind::Global,
                &defs,
                &meta.key,
                &billing,
                &format!("{field}.create"),
                id,
            )?;
            meta.next_index_id = id + 1;
            // Secondary indexes before the expiry index (kept last).
            let at = meta
                .indexes
                .iter()
                .position(|i| i.kind == IndexKind::Expiry)
                .unwrap_or(meta.indexes.len());
            meta.indexes.insert(at, index);
            meta.attribute_definitions = defs;
            // Definitions the request adds but no key uses are dropped, not refused (as
            // DynamoDB Local and Dynoxide do).
            prune_definitions(meta);
            check_index_set(&meta.key, &meta.indexes, &meta.attribute_definitions)?;
            change.created = Some(id);
        } else if let Some(del) = &u.delete {
            let name = check_index_name(
                del.index_name.as_deref(),
                &format!("{field}.delete.indexName"),
            )?;
            let at = meta
                .indexes
                .iter()
                .position(|i| i.name == name && i.kind == IndexKind::Global)
                .ok_or_else(|| {
                    TableError::ResourceNotFound(format!(
                        "Requested resource not found: Index: {name} not found"
                    ))
                })?;
            change.deleted = Some(meta.indexes.remove(at));
            prune_definitions(meta);
        } else if let Some(spec) = &u.update {
            let name = check_index_name(
                spec.index_name.as_deref(),
                &format!("{field}.update.indexName"),
            )?;
            let index = meta
                .indexes
                .iter_mut()
                .find(|i| i.name == name && i.kind == IndexKind::Global)
                .ok_or_else(|| {
                    TableError::ResourceNotFound(format!(
                        "Requested resource not found: Index: {name} not found"
                    ))
                })?;
            let (r, w) = index_throughput(spec, &billing, &name)?;
            if (r, w) == (index.read_units, index.write_units) {
                return Err(TableError::validation(format!(
                    "The provisioned throughput for the index {name} will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the index: {}. Requested ReadCapacityUnits: {r}. Current WriteCapacityUnits provisioned for the index: {}. Requested WriteCapacityUnits: {w}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.",
                    index.read_units, index.write_units
                )));
            }
            index.read_units = r;
            index.write_units = w;
        }
        change.changed = true;
    }
    Ok(change)
}

/// Drops the attribute definitions no key schema (table or index) uses any more.
fn prune_definitions(meta: &mut crate::schema::StoredTable) {
    let used: Vec<String> = meta
        .key
        .names()
        .map(str::to_owned)
        .chain(
            meta.indexes
                .iter()
                .filter(|i| i.kind != IndexKind::Expiry)
                .flat_map(|i| i.key.names().map(str::to_owned).collect::<Vec<_>>()),
        )
        .collect();
    meta.attribute_definitions
        .retain(|d| d.attribute_name.as_ref().is_some_and(|n| used.contains(n)));
}
