//! DynamoDB's rule that the paths of one update (or projection) expression must be
//! independent: no path may equal or be a prefix of another ("overlap"), and two
//! paths may not use the same prefix once as a map and once as a list ("conflict").

use super::ast::{Path, PathElement};
use super::parser::{Category, Findings};

/// How two paths relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// Independent.
    Disjoint,
    /// One is a prefix of (or equal to) the other.
    Overlap,
    /// Equal up to an element that is a name in one and an index in the other.
    Conflict,
}

fn relation(a: &Path, b: &Path) -> Relation {
    for (x, y) in a.elements.iter().zip(&b.elements) {
        match (x, y) {
            (PathElement::Attribute(p), PathElement::Attribute(q)) if p == q => {}
            (PathElement::Index(p), PathElement::Index(q)) if p == q => {}
            (PathElement::Attribute(_), PathElement::Attribute(_))
            | (PathElement::Index(_), PathElement::Index(_)) => return Relation::Disjoint,
            _ => return Relation::Conflict,
        }
    }
    Relation::Overlap
}

/// The first pair (earlier, later) in source order with the given relation.
fn first_pair(paths: &[Path], wanted: Relation) -> Option<(&Path, &Path)> {
    (1..paths.len()).find_map(|j| {
        paths[..j]
            .iter()
            .find(|earlier| relation(earlier, &paths[j]) == wanted)
            .map(|earlier| (earlier, &paths[j]))
    })
}

/// Records the first overlap, then the first conflict, of `paths` (in the order they
/// were written). Any overlap outranks every conflict.
pub(crate) fn check_paths(paths: &[Path], findings: &mut Findings) {
    if let Some((one, two)) = first_pair(paths, Relation::Overlap) {
        findings.record(
            Category::PathOverlap,
            format!(
                "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                one.to_dynamo_string(),
                two.to_dynamo_string()
            ),
        );
    }
    if let Some((one, two)) = first_pair(paths, Relation::Conflict) {
        findings.record(
            Category::PathConflict,
            format!(
                "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                one.to_dynamo_string(),
                two.to_dynamo_string()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(spec: &str) -> Path {
        Path {
            elements: spec
                .split('/')
                .map(|s| match s.parse::<u32>() {
                    Ok(i) => PathElement::Index(i),
                    Err(_) => PathElement::Attribute(s.to_owned()),
                })
                .collect(),
        }
    }

    #[test]
    fn relations() {
        assert_eq!(relation(&path("a"), &path("a")), Relation::Overlap);
        assert_eq!(relation(&path("a/b"), &path("a")), Relation::Overlap);
        assert_eq!(relation(&path("a/1"), &path("a/1/c")), Relation::Overlap);
        assert_eq!(relation(&path("a/b"), &path("a/c")), Relation::Disjoint);
        assert_eq!(relation(&path("a/1"), &path("a/2")), Relation::Disjoint);
        assert_eq!(relation(&path("a/b"), &path("a/0")), Relation::Conflict);
        assert_eq!(relation(&path("a/b/c"), &path("a/0")), Relation::Conflict);
        assert_eq!(relation(&path("x/b"), &path("a/0")), Relation::Disjoint);
    }
}
