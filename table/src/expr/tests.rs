//! Table-driven tests of the expression parsers: every operator, function and clause,
//! precedence, each error with its exact DynamoDB message, limits, deep nesting, and a
//! property test that no input panics.
#![allow(clippy::unwrap_used, reason = "tests")]

use super::*;

use ValueType::{Bool, Bs, Ns, Null, Ss, B, L, M, N, S};

/// The context used by most tests: names and (typed) values for everything the
/// expressions below reference. Unused entries only matter when `finish` is called.
fn ctx() -> ExprContext {
    ExprContext::new()
        .with_names([
            ("#a", "a"),
            ("#a2", "a"),
            ("#b", "b"),
            ("#c", "c"),
            ("#d", "[3]"),
            ("#n", "name"),
            ("#dot", "x.y"),
        ])
        .with_values([
            (":a", S),
            (":b", S),
            (":n", N),
            (":m", N),
            (":l", L),
            (":mp", M),
            (":ss", Ss),
            (":ns", Ns),
            (":bs", Bs),
            (":bool", Bool),
            (":null", Null),
            (":bin", B),
        ])
        .with_string_value(":t", "SS")
        .with_string_value(":bad", "XX")
        .with_value_keys([":u"])
}

fn cond(e: &str) -> Condition {
    parse_condition_expression(e, &mut ctx()).unwrap_or_else(|err| panic!("{e}: {err}"))
}

fn cond_err(e: &str) -> String {
    match parse_condition_expression(e, &mut ctx()) {
        Ok(c) => panic!("{e}: expected an error, got {c:?}"),
        Err(err) => err.into_message(),
    }
}

fn filter_err(e: &str) -> String {
    parse_filter_expression(e, &mut ctx())
        .unwrap_err()
        .into_message()
}

fn upd(e: &str) -> UpdateExpr {
    parse_update_expression(e, &mut ctx()).unwrap_or_else(|err| panic!("{e}: {err}"))
}

fn upd_err(e: &str) -> String {
    match parse_update_expression(e, &mut ctx()) {
        Ok(u) => panic!("{e}: expected an error, got {u:?}"),
        Err(err) => err.into_message(),
    }
}

fn proj(e: &str) -> ProjectionExpr {
    parse_projection_expression(e, &mut ctx()).unwrap_or_else(|err| panic!("{e}: {err}"))
}

fn proj_err(e: &str) -> String {
    match parse_projection_expression(e, &mut ctx()) {
        Ok(p) => panic!("{e}: expected an error, got {p:?}"),
        Err(err) => err.into_message(),
    }
}

fn kce(e: &str) -> KeyConditionExpr {
    parse_key_condition_expression(e, &mut ctx()).unwrap_or_else(|err| panic!("{e}: {err}"))
}

fn kce_err(e: &str) -> String {
    match parse_key_condition_expression(e, &mut ctx()) {
        Ok(k) => panic!("{e}: expected an error, got {k:?}"),
        Err(err) => err.into_message(),
    }
}

fn p(spec: &str) -> Path {
    Path {
        elements: spec
            .split('/')
            .map(|s| match s.strip_prefix('@') {
                Some(i) => PathElement::Index(i.parse().unwrap()),
                None => PathElement::Attribute(s.to_owned()),
            })
            .collect(),
    }
}

fn path_op(spec: &str) -> Operand {
    Operand::Path(p(spec))
}

fn val(v: &str) -> Operand {
    Operand::Value(ValueRef(v.to_owned()))
}

fn vref(v: &str) -> ValueRef {
    ValueRef(v.to_owned())
}

fn cmp(op: Comparator, left: Operand, right: Operand) -> Condition {
    Condition::Compare { op, left, right }
}

fn eq_a() -> Condition {
    cmp(Comparator::Eq, path_op("a"), val(":a"))
}

fn eq_b() -> Condition {
    cmp(Comparator::Eq, path_op("b"), val(":b"))
}

fn and(l: Condition, r: Condition) -> Condition {
    Condition::And(Box::new(l), Box::new(r))
}

fn or(l: Condition, r: Condition) -> Condition {
    Condition::Or(Box::new(l), Box::new(r))
}

fn not(c: Condition) -> Condition {
    Condition::Not(Box::new(c))
}

fn ce(detail: &str) -> String {
    format!("Invalid ConditionExpression: {detail}")
}

fn ue(detail: &str) -> String {
    format!("Invalid UpdateExpression: {detail}")
}

fn pe(detail: &str) -> String {
    format!("Invalid ProjectionExpression: {detail}")
}

fn ke(detail: &str) -> String {
    format!("Invalid KeyConditionExpression: {detail}")
}

fn syntax(token: &str, near: &str) -> String {
    format!("Syntax error; token: \"{token}\", near: \"{near}\"")
}

// ---- conditions: what parses ---------------------------------------------------

#[test]
fn condition_comparators() {
    let cases = [
        ("a = :a", Comparator::Eq),
        ("a <> :a", Comparator::Ne),
        ("a < :a", Comparator::Lt),
        ("a <= :a", Comparator::Le),
        ("a > :a", Comparator::Gt),
        ("a >= :a", Comparator::Ge),
        ("a>=:a", Comparator::Ge),
    ];
    for (e, op) in cases {
        assert_eq!(cond(e), cmp(op, path_op("a"), val(":a")), "{e}");
    }
    assert_eq!(cond(":a = a"), cmp(Comparator::Eq, val(":a"), path_op("a")));
    assert_eq!(
        cond("a = b"),
        cmp(Comparator::Eq, path_op("a"), path_op("b"))
    );
}

#[test]
fn condition_between_and_in() {
    assert_eq!(
        cond("a BETWEEN :n AND :m"),
        Condition::Between {
            operand: path_op("a"),
            lower: val(":n"),
            upper: val(":m"),
        }
    );
    assert_eq!(
        cond("a IN (:a, :b, b.c)"),
        Condition::In {
            operand: path_op("a"),
            list: vec![val(":a"), val(":b"), path_op("b/c")],
        }
    );
    assert_eq!(
        cond("a in (:a)"),
        Condition::In {
            operand: path_op("a"),
            list: vec![val(":a")],
        }
    );
    // BETWEEN's AND does not end the AND chain.
    assert_eq!(
        cond("a between :n and :m and b = :b"),
        and(
            Condition::Between {
                operand: path_op("a"),
                lower: val(":n"),
                upper: val(":m"),
            },
            eq_b()
        )
    );
}

#[test]
fn condition_functions() {
    assert_eq!(
        cond("attribute_exists(a.b[2])"),
        Condition::AttributeExists(p("a/b/@2"))
    );
    assert_eq!(
        cond("attribute_not_exists (#a)"),
        Condition::AttributeNotExists(p("a"))
    );
    assert_eq!(
        cond("attribute_type(a, :t)"),
        Condition::AttributeType {
            path: p("a"),
            type_name: vref(":t"),
        }
    );
    assert_eq!(
        cond("begins_with(a, :a)"),
        Condition::BeginsWith {
            operand: path_op("a"),
            prefix: val(":a"),
        }
    );
    assert_eq!(
        cond("contains(a, b)"),
        Condition::Contains {
            operand: path_op("a"),
            value: path_op("b"),
        }
    );
    assert_eq!(
        cond("size(a) > :n"),
        cmp(
            Comparator::Gt,
            Operand::Size(Box::new(path_op("a"))),
            val(":n")
        )
    );
    assert_eq!(
        cond("size(a) = size(b)"),
        cmp(
            Comparator::Eq,
            Operand::Size(Box::new(path_op("a"))),
            Operand::Size(Box::new(path_op("b")))
        )
    );
    assert_eq!(
        cond("size(:a) BETWEEN :n AND :m"),
        Condition::Between {
            operand: Operand::Size(Box::new(val(":a"))),
            lower: val(":n"),
            upper: val(":m"),
        }
    );
}

#[test]
fn condition_precedence() {
    // AND binds tighter than OR, NOT tighter than AND.
    assert_eq!(
        cond("a = :a OR b = :b AND c = :a"),
        or(
            eq_a(),
            and(eq_b(), cmp(Comparator::Eq, path_op("c"), val(":a")))
        )
    );
    assert_eq!(
        cond("a = :a AND b = :b OR c = :a"),
        or(
            and(eq_a(), eq_b()),
            cmp(Comparator::Eq, path_op("c"), val(":a"))
        )
    );
    assert_eq!(cond("NOT a = :a AND b = :b"), and(not(eq_a()), eq_b()));
    assert_eq!(cond("NOT (a = :a AND b = :b)"), not(and(eq_a(), eq_b())));
    assert_eq!(cond("NOT NOT a = :a"), not(not(eq_a())));
    assert_eq!(
        cond("(a = :a OR b = :b) AND c = :a"),
        and(
            or(eq_a(), eq_b()),
            cmp(Comparator::Eq, path_op("c"), val(":a"))
        )
    );
    assert_eq!(cond("(a = :a)"), eq_a());
    assert_eq!(cond("(a = :a) and (b = :b)"), and(eq_a(), eq_b()));
    assert_eq!(
        cond("a = :a or b = :b or a = :b"),
        or(
            or(eq_a(), eq_b()),
            cmp(Comparator::Eq, path_op("a"), val(":b"))
        )
    );
    assert_eq!(
        cond("not attribute_exists(a)"),
        not(Condition::AttributeExists(p("a")))
    );
}

#[test]
fn condition_keywords_are_case_insensitive() {
    assert_eq!(
        cond("a BeTwEeN :n aNd :m Or NoT b iN (:b)"),
        or(
            Condition::Between {
                operand: path_op("a"),
                lower: val(":n"),
                upper: val(":m"),
            },
            not(Condition::In {
                operand: path_op("b"),
                list: vec![val(":b")],
            })
        )
    );
}

#[test]
fn condition_parenthesized_operands() {
    assert_eq!(cond("(a) = :a"), eq_a());
    assert_eq!(cond("( (a) = (:a) )"), eq_a());
    assert_eq!(
        cond("(a)between(b.c[45].#a)and(:a)"),
        Condition::Between {
            operand: path_op("a"),
            lower: path_op("b/c/@45/a"),
            upper: val(":a"),
        }
    );
    assert_eq!(
        cond("(size(a)) > :n"),
        cmp(
            Comparator::Gt,
            Operand::Size(Box::new(path_op("a"))),
            val(":n")
        )
    );
    assert_eq!(
        cond("begins_with((a), (:a))"),
        Condition::BeginsWith {
            operand: path_op("a"),
            prefix: val(":a"),
        }
    );
}

#[test]
fn condition_paths() {
    assert_eq!(
        cond("#a.#b[0][1].c = :a"),
        cmp(Comparator::Eq, path_op("a/b/@0/@1/c"), val(":a"))
    );
    assert_eq!(
        cond("a [ 2 ] . b = :a"),
        cmp(Comparator::Eq, path_op("a/@2/b"), val(":a"))
    );
    // A placeholder's name is one element, whatever it contains.
    assert_eq!(
        cond("#dot.z = :a"),
        cmp(Comparator::Eq, path_op("x.y/z"), val(":a"))
    );
    assert_eq!(
        cond("a_1.B2 = :u"),
        cmp(Comparator::Eq, path_op("a_1/B2"), val(":u"))
    );
}

#[test]
fn condition_whitespace() {
    assert_eq!(cond("\ta\n=\r\n:a  "), eq_a());
}

// ---- conditions: syntax errors --------------------------------------------------

#[test]
fn condition_syntax_errors() {
    let cases = [
        ("a = ", syntax("<EOF>", "= ")),
        ("a =", syntax("<EOF>", "=")),
        ("attribute_not_exists(", syntax("<EOF>", "(")),
        ("a = 5", syntax("5", "= 5")),
        ("a == :a", syntax("=", "== :a")),
        ("a = !!", syntax("!", "= !!")),
        (
            "things are not gonna be ok",
            syntax("are", "things are not"),
        ),
        ("a in b", syntax("b", "in b")),
        ("a in (b,c,)", syntax(")", ",)")),
        ("a in ()", syntax(")", "()")),
        ("a > between", syntax("between", "> between")),
        ("ü > a", syntax("ü", "ü >")),
        ("a.:a < b", syntax(":a", ".:a <")),
        ("a - b = :a", syntax("-", "a - b")),
        ("\"a\" = :a", syntax("\"a\"", "\"a\" =")),
        ("a = 'x'", syntax("'x'", "= 'x'")),
        ("size(a)[0] > a", syntax("[", ")[0")),
        ("(size(a))[0] > a", syntax("[", ")[0")),
        ("size(a).b > a", syntax(".", ").b")),
        ("a = :a AND", syntax("<EOF>", "AND")),
        ("a = :a AND ", syntax("<EOF>", "AND ")),
        ("(a = :a", syntax("<EOF>", ":a")),
        ("a = :a)", syntax(")", ":a)")),
        ("a", syntax("<EOF>", "a")),
        ("a AND b", syntax("AND", "a AND b")),
        ("attribute_exists()", syntax(")", "()")),
        (
            "attribute_exists(Pictures-RearView)",
            syntax("-", "Pictures-RearView"),
        ),
        (
            "attribute_exists(Pictures..RearView)",
            syntax(".", "..RearView"),
        ),
        (
            "attribute_exists(Pi#ctures.RearView)",
            syntax("#ctures", "Pi#ctures."),
        ),
        ("attribute_exists(asdf[a])", syntax("a", "[a]")),
        ("b[:a] > a", syntax(":a", "[:a]")),
        ("b[#a] > a", syntax("#a", "[#a]")),
        ("b[-1] > a", syntax("-", "[-1")),
        ("b[01] > a", syntax("1", "01]")),
        ("(a)between(b.(c.d))and(c)", syntax("(", ".(c")),
        ("_a = :a", syntax("_", "_a")),
        ("# = :a", syntax("#", "# =")),
        ("a = : a", syntax(":", "= : a")),
        ("a + :n = :n", syntax("+", "a + :n")),
        ("a = :a,", syntax(",", ":a,")),
        ("set = :a", syntax("set", "set =")),
        ("a = :a NOT", syntax("NOT", ":a NOT")),
        ("NOT", syntax("<EOF>", "NOT")),
        ("a BETWEEN :n", syntax("<EOF>", ":n")),
        ("a BETWEEN :n OR :m", syntax("OR", ":n OR :m")),
    ];
    for (e, detail) in cases {
        assert_eq!(cond_err(e), ce(&detail), "{e}");
    }
}

#[test]
fn empty_and_oversized_expressions() {
    assert_eq!(cond_err(""), ce("The expression can not be empty;"));
    assert_eq!(cond_err(" \n\t"), ce("The expression can not be empty;"));
    assert_eq!(
        filter_err(""),
        "Invalid FilterExpression: The expression can not be empty;"
    );
    assert_eq!(upd_err(""), ue("The expression can not be empty;"));
    assert_eq!(proj_err(""), pe("The expression can not be empty;"));
    assert_eq!(kce_err(""), ke("The expression can not be empty;"));

    let big = format!("{} = :a", "a".repeat(4092));
    assert_eq!(big.len(), 4097);
    assert_eq!(
        cond_err(&big),
        ce("Expression size has exceeded the maximum allowed size; expression size: 4097")
    );
    let big_update = format!("SET {} = :a", "a".repeat(4088));
    assert_eq!(
        upd_err(&big_update),
        ue("Expression size has exceeded the maximum allowed size; expression size: 4097")
    );
    assert_eq!(
        proj_err(&"a".repeat(4097)),
        pe("Expression size has exceeded the maximum allowed size; expression size: 4097")
    );
    // Exactly 4096 bytes is allowed. The size is in bytes, not characters.
    assert_eq!(proj(&"a".repeat(4096)).paths.len(), 1);
    let multibyte = format!("#a = :a OR #a = :b{}", " ".repeat(4079));
    assert_eq!(
        cond(&multibyte[..4096]),
        or(eq_a(), cmp(Comparator::Eq, path_op("a"), val(":b")))
    );
}

// ---- conditions: semantic errors ------------------------------------------------

#[test]
fn condition_redundant_parentheses() {
    let cases = [
        "((a = :a))",
        "((attribute_not_exists(a)))",
        "a = ((b))",
        "a=a and a > ((views))",
        "(a)between(((b.c)).d)and(c)",
        "a > whatever((:a), ((a)))",
        "a=a AND ((a=a AND a=a)) AND a=a",
        "a=a OR ((a=a OR a=a)) OR a=a",
        "a=a AND ((a=a AND (a=a AND a=a)))",
        "(a = :a) AND ((b IN (:a, :b)))",
        "NOT ((a = :a))",
        "(((a))) = :a",
    ];
    for e in cases {
        assert_eq!(
            cond_err(e),
            ce("The expression has redundant parentheses;"),
            "{e}"
        );
    }
    // Not redundant: each group holds an operator.
    for e in [
        "(a = :a AND (b = :b))",
        "((a = :a) AND b = :b)",
        "(NOT (a = :a))",
        "((a) = :a)",
    ] {
        cond(e);
    }
}

#[test]
fn condition_function_errors() {
    let cases = [
        ("whatever(a)", "Invalid function name; function: whatever"),
        (
            "a=:a and whatever((:a)) > a",
            "Invalid function name; function: whatever",
        ),
        (
            "attRIbute_exIsts((views), #a)",
            "Invalid function name; function: attRIbute_exIsts",
        ),
        ("Size(a) > :n", "Invalid function name; function: Size"),
        (
            "if_not_exists(a, :a) = :a",
            "The function is not allowed in a condition expression; function: if_not_exists",
        ),
        (
            "list_append(a, :l)",
            "The function is not allowed in a condition expression; function: list_append",
        ),
        // Unknown functions outrank misused ones and reserved words.
        (
            "attribute_exists(a) = :a AND foo(name)",
            "Invalid function name; function: foo",
        ),
    ];
    for (e, detail) in cases {
        assert_eq!(cond_err(e), ce(detail), "{e}");
    }
}

#[test]
fn condition_misused_functions() {
    let cases = [
        (
            "a=:a and attribute_exists((b), (#a)) > b",
            "attribute_exists",
        ),
        ("attribute_not_exists(things) > b", "attribute_not_exists"),
        ("attribute_type(things, :t) > b", "attribute_type"),
        ("begins_with(things, a) > b", "begins_with"),
        ("contains(:zz, c) > b", "contains"),
        ("size(contains(a, b)) > a", "contains"),
        ("size(things)", "size"),
        ("NOT size(a)", "size"),
        ("a = :a AND size(a)", "size"),
        (
            "a between b and attribute_exists(things)",
            "attribute_exists",
        ),
        ("a in (b, attribute_exists(things))", "attribute_exists"),
        ("begins_with(attribute_exists(a), :a)", "attribute_exists"),
    ];
    for (e, function) in cases {
        assert_eq!(
            cond_err(e),
            ce(&format!(
                "The function is not allowed to be used this way in an expression; function: {function}"
            )),
            "{e}"
        );
    }
}

#[test]
fn condition_reserved_words() {
    let cases = [
        ("name = :a", "name"),
        ("attribute_exists(views, #a)", "views"),
        (":a < abOrT", "abOrT"),
        ("a.Status = :a", "Status"),
        ("a = :a OR b.c[1].ttl > :n", "ttl"),
        // The first one in source order.
        ("size(a) > :n AND Year = :n AND Month = :n", "Year"),
        // Reserved words outrank undefined placeholders and function errors.
        ("#zz = :zz AND attribute_exists(:a) AND zone = :a", "zone"),
    ];
    for (e, word) in cases {
        assert_eq!(
            cond_err(e),
            ce(&format!(
                "Attribute name is a reserved keyword; reserved keyword: {word}"
            )),
            "{e}"
        );
    }
    // Placeholders and function names are not checked.
    cond("#n = :a AND size(a) > :n");
}

#[test]
fn condition_undefined_placeholders() {
    let name = |n: &str| {
        ce(&format!(
            "An expression attribute name used in the document path is not defined; attribute name: {n}"
        ))
    };
    let value = |v: &str| {
        ce(&format!(
            "An expression attribute value used in expression is not defined; attribute value: {v}"
        ))
    };
    assert_eq!(cond_err("#zz = :a"), name("#zz"));
    assert_eq!(cond_err("a = :zz"), value(":zz"));
    assert_eq!(cond_err("#4g > a"), name("#4g"));
    assert_eq!(cond_err("#_ > a"), name("#_"));
    assert_eq!(cond_err(":_ > a"), value(":_"));
    assert_eq!(cond_err(":zz < :yy"), value(":zz"));
    assert_eq!(cond_err("begins_with(:hello, #a, #b)"), value(":hello"));
    assert_eq!(
        cond_err("attribute_exists(#Pictures.RearView, :a) and a=a"),
        name("#Pictures")
    );
    assert_eq!(
        cond_err("begins_with(Pictures.#RearView)"),
        name("#RearView")
    );
    assert_eq!(
        cond_err("(#P between :lo and :hi) and (#PC in (:cat1, :cat2))"),
        name("#P")
    );
    assert_eq!(cond_err("(a)between(b.c[45].#zz)and(:a)"), name("#zz"));
    // Without any map at all.
    let err = parse_condition_expression("#a = :a", &mut ExprContext::new()).unwrap_err();
    assert_eq!(err.message(), name("#a"));
}

#[test]
fn condition_operand_counts() {
    let cases = [
        ("attribute_exists(things, a) and a=a", "attribute_exists", 2),
        ("attribute_not_exists(things, b)", "attribute_not_exists", 2),
        ("attribute_type(things)", "attribute_type", 1),
        ("begins_with(things)", "begins_with", 1),
        ("begins_with(things, size(a), b)", "begins_with", 3),
        ("contains(things)", "contains", 1),
        ("size(things, a) > b", "size", 2),
    ];
    for (e, function, n) in cases {
        assert_eq!(
            cond_err(e),
            ce(&format!(
                "Incorrect number of operands for operator or function; operator or function: {function}, number of operands: {n}"
            )),
            "{e}"
        );
    }
}

#[test]
fn condition_operand_types() {
    let cases = [
        (
            "attribute_type(a, size(a)) and a=a and a=:a",
            "attribute_type",
            "N",
        ),
        ("attribute_type(a, :n)", "attribute_type", "N"),
        ("attribute_type(a, :bin)", "attribute_type", "B"),
        ("attribute_type(a, :bool)", "attribute_type", "BOOL"),
        ("attribute_type(a, :null)", "attribute_type", "NULL"),
        ("attribute_type(a, :l)", "attribute_type", "L"),
        ("attribute_type(a, :mp)", "attribute_type", "M"),
        ("attribute_type(a, :ss)", "attribute_type", "SS"),
        (
            "attribute_type(a, b)",
            "attribute_type",
            "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}",
        ),
        ("begins_with(a, size(a)) and a=:a", "begins_with", "N"),
        ("begins_with(a, :n)", "begins_with", "N"),
        ("begins_with(a, :bool)", "begins_with", "BOOL"),
        ("begins_with(a, :ns)", "begins_with", "NS"),
        ("begins_with(:mp, a)", "begins_with", "M"),
        ("size(size(a)) > :n", "size", "N"),
        ("attribute_not_exists(size(:n))", "size", "N"),
        ("size(:bool) > a", "size", "BOOL"),
        ("size(:null) > a", "size", "NULL"),
        ("a < :bool", "<", "BOOL"),
        ("a >= :l", ">=", "L"),
        ("a BETWEEN :n AND :ss", "BETWEEN", "SS"),
    ];
    for (e, function, ty) in cases {
        assert_eq!(
            cond_err(e),
            ce(&format!(
                "Incorrect operand type for operator or function; operator or function: {function}, operand type: {ty}"
            )),
            "{e}"
        );
    }
    // Well-typed, or of unknown type: accepted.
    for e in [
        "begins_with(a, :bin)",
        "begins_with(a, :u)",
        "size(:a) > :n",
        "size(:ss) > :n",
        "a < :n AND b > :bin AND c <= :a",
        "a = :bool AND b <> :null",
        "attribute_type(a, :u)",
    ] {
        cond(e);
    }
}

#[test]
fn condition_requires_paths_and_type_names() {
    assert_eq!(
        cond_err("attribute_exists(:a) and a=a"),
        ce("Operator or function requires a document path; operator or function: attribute_exists")
    );
    assert_eq!(
        cond_err("attribute_not_exists(size(:a))"),
        ce("Operator or function requires a document path; operator or function: attribute_not_exists")
    );
    assert_eq!(
        cond_err("attribute_type(:a, :t)"),
        ce("Operator or function requires a document path; operator or function: attribute_type")
    );
    assert_eq!(
        cond_err("attribute_type(a, :bad)"),
        ce("Invalid attribute type name found; type: XX, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
    );
}

#[test]
fn condition_distinct_operands() {
    let cases = [
        ("a = a AND #a = b", "=", "[a]"),
        ("#a <> a", "<>", "[a]"),
        ("a > #a", ">", "[a]"),
        ("((a=a) OR (a=a))", "=", "[a]"),
        (
            "contains(ab.bc[1].a, ab.bc[1].#a)",
            "contains",
            "[ab, bc, [1], a]",
        ),
        (
            "attribute_type(ab.bc[1].#a, ab.bc[1].a)",
            "attribute_type",
            "[ab, bc, [1], a]",
        ),
        (
            "begins_with(ab.bc[1].a, ab.bc[1].#a)",
            "begins_with",
            "[ab, bc, [1], a]",
        ),
        ("a BETWEEN :n AND a", "BETWEEN", "[a]"),
        ("a IN (:a, #a2)", "IN", "[a]"),
    ];
    for (e, op, first) in cases {
        assert_eq!(
            cond_err(e),
            ce(&format!(
                "The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {first}"
            )),
            "{e}"
        );
    }
    // Values may repeat.
    cond(":a = :a");
}

#[test]
fn condition_errors_are_reported_per_leaf_in_order() {
    // The first leaf with an error wins, whatever later leaves hold.
    assert_eq!(
        cond_err("a = a AND b = :zz"),
        ce("The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]")
    );
    assert_eq!(
        cond_err("b = :zz AND a = a"),
        ce("An expression attribute value used in expression is not defined; attribute value: :zz")
    );
    // Within a leaf: undefined placeholder, then operand count, distinct, types.
    assert_eq!(
        cond_err("begins_with(a, :zz, :n)"),
        ce("An expression attribute value used in expression is not defined; attribute value: :zz")
    );
    assert_eq!(
        cond_err("begins_with(size(:n), a, a)"),
        ce("Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 3")
    );
}

#[test]
fn in_operand_limit() {
    let list = |n: usize| (0..n).map(|_| ":a").collect::<Vec<_>>().join(",");
    cond(&format!("a IN ({})", list(100)));
    assert_eq!(
        cond_err(&format!("a IN ({})", list(101))),
        ce("The IN operator is provided with too many operands; number of operands: 101")
    );
}

#[test]
fn operator_limit() {
    // 150 comparisons and 149 ORs: 299 operators; NOTs add one each.
    let base = vec!["a = :a"; 150].join(" OR ");
    cond(&base);
    cond(&format!("NOT {base}"));
    assert_eq!(
        cond_err(&format!("NOT NOT {base}")),
        ce("The expression contains too many operators; operator count: 301")
    );
    // Functions count too.
    let sizes = vec!["size(a) > :n"; 100].join(" AND ");
    assert_eq!(
        cond_err(&format!("{sizes} AND a = :a AND b = :b")),
        ce("The expression contains too many operators; operator count: 303")
    );
    // In updates, `+`, `-` and functions count; the `=` of SET does not.
    let sets = |n: usize| {
        (0..n)
            .map(|i| format!("a{i}=b+:n"))
            .collect::<Vec<_>>()
            .join(",")
    };
    upd(&format!("SET {}", sets(300)));
    assert_eq!(
        upd_err(&format!("SET {}", sets(301))),
        ue("The expression contains too many operators; operator count: 301")
    );
    assert_eq!(
        upd_err(&format!(
            "SET {},z=list_append(if_not_exists(l,:l),:l)",
            sets(299)
        )),
        ue("The expression contains too many operators; operator count: 301")
    );
}

// ---- deep nesting and hostile input ------------------------------------------------

#[test]
fn deep_parentheses_give_a_clean_error() {
    for depth in [700, 2000] {
        let e = format!("{}a = :a{}", "(".repeat(depth), ")".repeat(depth));
        assert_eq!(
            cond_err(&e),
            ce("The expression has redundant parentheses;"),
            "{depth}"
        );
    }
    // Unbalanced: still clean.
    assert_eq!(
        cond_err(&"(".repeat(4096)),
        ce("The expression has redundant parentheses;")
    );
    assert_eq!(
        cond_err(&"(".repeat(4097)),
        ce("Expression size has exceeded the maximum allowed size; expression size: 4097")
    );
    // Deep parenthesized operands and SET values.
    let e = format!("{}a{} = :a", "(".repeat(2000), ")".repeat(2000));
    assert_eq!(
        cond_err(&e),
        ce("The expression has redundant parentheses;")
    );
    let e = format!("SET x = {}a{}", "(".repeat(2000), ")".repeat(2000));
    assert_eq!(upd_err(&e), ue("The expression has redundant parentheses;"));
    // Non-redundant nesting within the limits parses.
    let e = format!("{}a = :a{}", "(NOT ".repeat(250), ")".repeat(250));
    cond(&e);
}

#[test]
fn long_not_chains_and_nested_functions() {
    let e = format!("{}a = :a", "NOT ".repeat(1000));
    assert_eq!(
        cond_err(&e),
        ce("The expression contains too many operators; operator count: 1001")
    );
    let e = format!("{}a = :a", "NOT ".repeat(10_000));
    assert_eq!(
        cond_err(&e),
        ce("Expression size has exceeded the maximum allowed size; expression size: 40006")
    );
    let e = format!("{}a{} > :n", "size(".repeat(600), ")".repeat(600));
    assert_eq!(
        cond_err(&e),
        ce("The expression contains too many operators; operator count: 601")
    );
    // 650 levels: past the nesting bound, reported as the operator count.
    let e = format!("{}a{} > :n", "size(".repeat(650), ")".repeat(650));
    assert!(e.len() <= MAX_EXPRESSION_BYTES);
    assert_eq!(
        cond_err(&e),
        ce("The expression contains too many operators; operator count: 651")
    );
    // 200 nested list_append calls with parenthesized arguments: deep but valid.
    let e = format!(
        "SET x = {}l{}",
        "list_append((".repeat(200),
        "), :l)".repeat(200)
    );
    assert!(e.len() <= MAX_EXPRESSION_BYTES);
    assert_eq!(upd(&e).set.len(), 1);
    // 580 levels (1160 deep) of an unknown function: past the nesting bound.
    let e = format!("SET x = {}l{}", "f((".repeat(580), "),l)".repeat(580));
    assert!(e.len() <= MAX_EXPRESSION_BYTES);
    assert_eq!(
        upd_err(&e),
        ue("The expression contains too many operators; operator count: 580")
    );
}

#[test]
fn long_paths() {
    let e = format!("a{}", ".b".repeat(2000));
    assert_eq!(proj(&e).paths[0].elements.len(), 2001);
    let e = format!("a{} = :a", "[0]".repeat(1300));
    assert!(matches!(cond(&e), Condition::Compare { .. }));
}

// ---- updates: what parses ------------------------------------------------------

#[test]
fn update_set_values() {
    let u = upd("SET a = :a, b = c, #c = :n");
    assert_eq!(
        u.set,
        vec![
            SetAction {
                path: p("a"),
                value: SetValue::Operand(UpdateOperand::Value(vref(":a"))),
            },
            SetAction {
                path: p("b"),
                value: SetValue::Operand(UpdateOperand::Path(p("c"))),
            },
            SetAction {
                path: p("c"),
                value: SetValue::Operand(UpdateOperand::Value(vref(":n"))),
            },
        ]
    );
    assert_eq!(
        upd("SET a = b + :n").set[0].value,
        SetValue::Plus(
            UpdateOperand::Path(p("b")),
            UpdateOperand::Value(vref(":n"))
        )
    );
    assert_eq!(
        upd("SET a = :n - b").set[0].value,
        SetValue::Minus(
            UpdateOperand::Value(vref(":n")),
            UpdateOperand::Path(p("b"))
        )
    );
    assert_eq!(
        upd("SET a = if_not_exists(a, :n) + :n").set[0].value,
        SetValue::Plus(
            UpdateOperand::IfNotExists {
                path: p("a"),
                default: Box::new(UpdateOperand::Value(vref(":n"))),
            },
            UpdateOperand::Value(vref(":n"))
        )
    );
    assert_eq!(
        upd("SET l = list_append(:l, list_append(if_not_exists(l, :l), :l))").set[0].value,
        SetValue::Operand(UpdateOperand::ListAppend(
            Box::new(UpdateOperand::Value(vref(":l"))),
            Box::new(UpdateOperand::ListAppend(
                Box::new(UpdateOperand::IfNotExists {
                    path: p("l"),
                    default: Box::new(UpdateOperand::Value(vref(":l"))),
                }),
                Box::new(UpdateOperand::Value(vref(":l")))
            ))
        ))
    );
    // Parentheses around a value, an operand, or an arithmetic operation.
    assert_eq!(
        upd("SET a = (b + :n)").set[0].value,
        SetValue::Plus(
            UpdateOperand::Path(p("b")),
            UpdateOperand::Value(vref(":n"))
        )
    );
    assert_eq!(
        upd("SET a = (b) + (:n)").set[0].value,
        SetValue::Plus(
            UpdateOperand::Path(p("b")),
            UpdateOperand::Value(vref(":n"))
        )
    );
    assert_eq!(
        upd("SET a = (b)").set[0].value,
        SetValue::Operand(UpdateOperand::Path(p("b")))
    );
    assert_eq!(
        upd("SET a = ((b) + :n)").set[0].value,
        SetValue::Plus(
            UpdateOperand::Path(p("b")),
            UpdateOperand::Value(vref(":n"))
        )
    );
    assert_eq!(upd("SET a[0].b = :a").set[0].path, p("a/@0/b"));
    assert_eq!(
        upd("set created_at=if_not_exists(created_at,:a)").set.len(),
        1
    );
    assert_eq!(upd("SET a = if_not_exists (a, :a)").set.len(), 1);
}

#[test]
fn update_remove_add_delete() {
    let u = upd("REMOVE a, b[3], c.d");
    assert_eq!(u.remove, vec![p("a"), p("b/@3"), p("c/d")]);
    let u = upd("ADD n :n, s :ss DELETE t :ss, #a.b :ns");
    assert_eq!(
        u.add,
        vec![
            AddAction {
                path: p("n"),
                value: vref(":n"),
            },
            AddAction {
                path: p("s"),
                value: vref(":ss"),
            },
        ]
    );
    assert_eq!(
        u.delete,
        vec![
            DeleteAction {
                path: p("t"),
                value: vref(":ss"),
            },
            DeleteAction {
                path: p("a/b"),
                value: vref(":ns"),
            },
        ]
    );
    // Sections in any order, keywords in any case, any whitespace.
    let u = upd("remove x\nset a = :a\tadd n :n Delete s :bs");
    assert_eq!(
        (u.set.len(), u.remove.len(), u.add.len(), u.delete.len()),
        (1, 1, 1, 1)
    );
    let u = upd("SET a = :a REMOVE b, c[1]");
    assert_eq!((u.set.len(), u.remove.len()), (1, 2));
    // Distinct list indexes do not overlap.
    upd("REMOVE a[1], a[2] SET a[3] = :a");
    upd("SET a.b = :a, a.c = :b");
}

// ---- updates: errors -------------------------------------------------------------

#[test]
fn update_syntax_errors() {
    let cases = [
        ("SET", syntax("<EOF>", "SET")),
        ("SET a", syntax("<EOF>", "a")),
        ("SET a =", syntax("<EOF>", "=")),
        ("SET a = ", syntax("<EOF>", "= ")),
        ("INVALID SYNTAX HERE", syntax("INVALID", "INVALID SYNTAX")),
        ("whatever", syntax("whatever", "whatever")),
        ("SET a = b + + :c ", syntax("+", "+ + :c")),
        ("SET a = b + - :c ", syntax("-", "+ - :c")),
        ("REMOVE NoExist + ", syntax("+", "NoExist + ")),
        ("ADD attr val foobar", syntax("val", "attr val foobar")),
        ("ADD attr :val foobar", syntax("foobar", ":val foobar")),
        ("DELETE attr val", syntax("val", "attr val")),
        ("SET path = VALUE 1", syntax("1", "VALUE 1")),
        ("REMOVE if_not_exists(a,b)", syntax("(", "if_not_exists(a")),
        ("SET a[0].b = 5", syntax("5", "= 5")),
        ("SET a [  2 ]. b = 5", syntax("5", "= 5")),
        ("SET a [  [2] ]. b = 5", syntax("[", "[  [2")),
        ("SET a [2 1]. b = 5", syntax("1", "2 1]")),
        ("SET #a a = 5", syntax("a", "#a a =")),
        ("set a = b / c", syntax("/", "b / c")),
        ("set a = b * c", syntax("*", "b * c")),
        ("set a = b + c + d", syntax("+", "c + d")),
        ("set a = b + c - d", syntax("-", "c - d")),
        ("set a=set", syntax("set", "=set")),
        ("remove a = b", syntax("=", "a = b")),
        ("add a = b", syntax("=", "a = b")),
        (
            "delete a if_not_exist(b)",
            syntax("if_not_exist", "a if_not_exist("),
        ),
        ("set :a = b", syntax(":a", "set :a =")),
        ("remove :a", syntax(":a", "remove :a")),
        ("set a[1] = \"eight\"", syntax("\"eight\"", "= \"eight\"")),
        ("SET a = if_not_exist(a, 100)", syntax("100", ", 100)")),
        ("SET if_not_exist(a, b) = a", syntax("(", "if_not_exist(a")),
        ("set (a = (b + c))", syntax("(", "set (a")),
        ("set a = (b.c).d + e", syntax(".", ").d")),
        ("set a = (b + c) + d", syntax("+", "b + c")),
        ("SET a = :a,", syntax("<EOF>", ",")),
        ("SET a = :a, REMOVE b", syntax("REMOVE", ", REMOVE b")),
        ("SET a = :a AND b = :b", syntax("AND", ":a AND b")),
        ("SET a = size(b)()", syntax("(", ")()")),
        ("SET a = list_append()", syntax(")", "()")),
    ];
    for (e, detail) in cases {
        assert_eq!(upd_err(e), ue(&detail), "{e}");
    }
}

#[test]
fn update_sections_once() {
    let cases = [
        ("set a = #c set c = :a", "SET"),
        ("remove #d set a = b remove e", "REMOVE"),
        ("add #d :n set a = b add e :n", "ADD"),
        ("delete #d :ss set a = b delete #c :ss", "DELETE"),
    ];
    for (e, section) in cases {
        assert_eq!(
            upd_err(e),
            ue(&format!(
                "The \"{section}\" section can only be used once in an update expression;"
            )),
            "{e}"
        );
    }
}

#[test]
fn update_reserved_words_and_functions() {
    let reserved = |w: &str| {
        ue(&format!(
            "Attribute name is a reserved keyword; reserved keyword: {w}"
        ))
    };
    assert_eq!(
        upd_err(" set #zz = :a set abOrt = true "),
        reserved("abOrt")
    );
    assert_eq!(upd_err(" remove Absolute "), reserved("Absolute"));
    assert_eq!(upd_err("SET a = if_not_exists(name, :a)"), reserved("name"));
    assert_eq!(
        upd_err("set #zz = if_not_exist(:zz) set c = d"),
        ue("Invalid function name; function: if_not_exist")
    );
    for f in ["size(b)", "attribute_exists(b)", "contains(b, :a)"] {
        let name = &f[..f.find('(').unwrap()];
        assert_eq!(
            upd_err(&format!("SET a = {f}")),
            ue(&format!(
                "The function is not allowed in an update expression; function: {name}"
            )),
            "{f}"
        );
    }
}

#[test]
fn update_undefined_placeholders() {
    assert_eq!(
        upd_err("SET #zz = if_not_exists(:zz)"),
        ue("An expression attribute name used in the document path is not defined; attribute name: #zz")
    );
    assert_eq!(
        upd_err("SET #a = if_not_exists(:zz)"),
        ue("An expression attribute value used in expression is not defined; attribute value: :zz")
    );
    // Names before values, whatever the order.
    assert_eq!(
        upd_err("SET a = :zz, b = #zz"),
        ue("An expression attribute name used in the document path is not defined; attribute name: #zz")
    );
    assert_eq!(
        upd_err("ADD a :zz"),
        ue("An expression attribute value used in expression is not defined; attribute value: :zz")
    );
    let err = parse_update_expression("SET attr1 = :v", &mut ExprContext::new()).unwrap_err();
    assert_eq!(
        err.message(),
        ue("An expression attribute value used in expression is not defined; attribute value: :v")
    );
}

#[test]
fn update_overlapping_and_conflicting_paths() {
    let overlap = |one: &str, two: &str| {
        ue(&format!(
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {one}, path two: {two}"
        ))
    };
    let conflict = |one: &str, two: &str| {
        ue(&format!(
            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {one}, path two: {two}"
        ))
    };
    let cases = [
        (
            "set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a)",
            overlap("[c, [1], a]", "[c]"),
        ),
        ("set c.b.#c = a, c = a, #d = a", overlap("[c, b, c]", "[c]")),
        ("set a = b remove a, #c, #d", overlap("[a]", "[a]")),
        (
            "set #c[3].#d = a, #c[3] = a",
            overlap("[c, [3], [3]]", "[c, [3]]"),
        ),
        ("remove c, #c.a, #d", overlap("[c]", "[c, a]")),
        ("remove a, #c, a, #d", overlap("[a]", "[a]")),
        ("SET a.b = :a ADD a :n", overlap("[a, b]", "[a]")),
        ("SET #a = :a, #a2 = :b", overlap("[a]", "[a]")),
        (
            "set #c[3].#d = a, #c.#d[3] = if_not_exists(a)",
            conflict("[c, [3], [3]]", "[c, [3], [3]]"),
        ),
        ("remove a.#c set a[1] = #d", conflict("[a, c]", "[a, [1]]")),
        (
            "SET a.b.c = :a DELETE a[0] :ss",
            conflict("[a, b, c]", "[a, [0]]"),
        ),
    ];
    for (e, message) in cases {
        assert_eq!(upd_err(e), message, "{e}");
    }
}

#[test]
fn update_operand_types() {
    let cases = [
        (
            "set b = list_append(:l, a), c = if_not_exists(a) add a.b :a",
            "ADD",
            "STRING",
        ),
        ("delete a.b :a", "DELETE", "STRING"),
        ("add a.b :null", "ADD", "NULL"),
        ("delete a.b :null", "DELETE", "NULL"),
        ("add a.b :bool", "ADD", "BOOLEAN"),
        ("delete a.b :bool", "DELETE", "BOOLEAN"),
        ("add a.b :bin", "ADD", "BINARY"),
        ("delete a.b :bin", "DELETE", "BINARY"),
        ("add a.b :mp", "ADD", "MAP"),
        ("delete a.b :mp", "DELETE", "MAP"),
        ("add a.b :l", "ADD", "LIST"),
        ("delete a.b :l", "DELETE", "LIST"),
        ("delete a.b :n", "DELETE", "NUMBER"),
    ];
    for (e, op, ty) in cases {
        assert_eq!(
            upd_err(e),
            ue(&format!(
                "Incorrect operand type for operator or function; operator: {op}, operand type: {ty}, typeSet: ALLOWED_FOR_{op}_OPERAND"
            )),
            "{e}"
        );
    }
    // Untyped values are not checked.
    upd("ADD a :u DELETE b :u");
}

#[test]
fn update_function_errors() {
    let count = |f: &str, n: usize| {
        ue(&format!(
            "Incorrect number of operands for operator or function; operator or function: {f}, number of operands: {n}"
        ))
    };
    assert_eq!(
        upd_err("set a = if_not_exists(c)"),
        count("if_not_exists", 1)
    );
    assert_eq!(upd_err("set a = list_append(c)"), count("list_append", 1));
    assert_eq!(
        upd_err("set a = list_append(c, :l, :l)"),
        count("list_append", 3)
    );
    let path =
        ue("Operator or function requires a document path; operator or function: if_not_exists");
    assert_eq!(upd_err("set a = if_not_exists(:a, c)"), path);
    assert_eq!(
        upd_err("set a = if_not_exists(if_not_exists(a, b), c)"),
        path
    );
    assert_eq!(
        upd_err("set a = if_not_exists(b, b)"),
        ue("The first operand must be distinct from the remaining operands for this operator or function; operator: if_not_exists, first operand: [b]")
    );
    let ty = |f: &str, t: &str| {
        ue(&format!(
            "Incorrect operand type for operator or function; operator or function: {f}, operand type: {t}"
        ))
    };
    let cases = [
        ("set a = list_append(:a, a)", "list_append", "S"),
        ("set a = list_append(a, :n)", "list_append", "N"),
        ("set a = list_append(:bin, a)", "list_append", "B"),
        ("set a = list_append(:mp, a)", "list_append", "M"),
        ("set a = list_append(:ss, a)", "list_append", "SS"),
        ("set a = a + :a", "+", "S"),
        ("set a = :a + :bin", "+", "S"),
        ("set a = :bin + a", "+", "B"),
        ("set a = a + :bool", "+", "BOOL"),
        ("set a = a + :null", "+", "NULL"),
        ("set a = a + :ns", "+", "NS"),
        ("set a = a - :mp", "-", "M"),
        ("set a = a - :l", "-", "L"),
    ];
    for (e, f, t) in cases {
        assert_eq!(upd_err(e), ty(f, t), "{e}");
    }
    assert_eq!(
        upd_err("set a = list_append(a, :l) + :n"),
        ue("The function is not allowed to be used this way in an expression; function: list_append")
    );
    // Fine: numbers, lists, and operands of unknown type.
    upd("set a = a + :n, b = :n - :m, c = list_append(:l, c), d = d + :u, e = list_append(e, :u)");
}

#[test]
fn update_redundant_parentheses() {
    for e in [
        "SET a = ((b + :n))",
        "SET a = ((b))",
        "SET a = ((b)) + :n",
        "SET a = list_append(((a)), :l)",
        "SET a = (((b + :n)))",
    ] {
        assert_eq!(
            upd_err(e),
            ue("The expression has redundant parentheses;"),
            "{e}"
        );
    }
}

// ---- projections ------------------------------------------------------------------

#[test]
fn projection_paths() {
    assert_eq!(
        proj("a, b.c, d[1]").paths,
        vec![p("a"), p("b/c"), p("d/@1")]
    );
    assert_eq!(proj("#a.#b, #n, l[ 0 ], a . x").paths.len(), 4);
    assert_eq!(proj("l[0], l[1], m.a, m.b").paths.len(), 4);
}

#[test]
fn projection_errors() {
    let overlap = |one: &str, two: &str| {
        pe(&format!(
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {one}, path two: {two}"
        ))
    };
    let cases = [
        ("!!!", pe(&syntax("!", "!!"))),
        ("a b", pe(&syntax("b", "a b"))),
        ("a,", pe(&syntax("<EOF>", ","))),
        ("a(b)", pe(&syntax("(", "a(b"))),
        ("a[-1]", pe(&syntax("-", "[-1"))),
        ("a[01]", pe(&syntax("1", "01]"))),
        ("a, :a", pe(&syntax(":a", ", :a"))),
        ("a = b", pe(&syntax("=", "a = b"))),
        ("a.and", pe(&syntax("and", ".and"))),
        ("a, a", overlap("[a]", "[a]")),
        ("#a, #a2", overlap("[a]", "[a]")),
        ("a, a.b", overlap("[a]", "[a, b]")),
        ("a.b, a", overlap("[a, b]", "[a]")),
        ("l[1].b, l[1]", overlap("[l, [1], b]", "[l, [1]]")),
        (
            "a.b, a[0]",
            pe("Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]"),
        ),
        (
            "x, Name, a, a",
            pe("Attribute name is a reserved keyword; reserved keyword: Name"),
        ),
        (
            "#undef, a, a",
            pe("An expression attribute name used in the document path is not defined; attribute name: #undef"),
        ),
        (
            "a[99999999999]",
            pe("List index is not within the allowable range; index: [99999999999]"),
        ),
    ];
    for (e, message) in cases {
        assert_eq!(proj_err(e), message, "{e}");
    }
    proj("a[2147483647]");
    assert_eq!(
        proj_err("a[2147483648]"),
        pe("List index is not within the allowable range; index: [2147483648]")
    );
}

// ---- key conditions ----------------------------------------------------------------

fn resolve(e: &str, pk: &str, sk: Option<&str>) -> Result<KeyQuery, String> {
    kce(e).resolve(pk, sk).map_err(ExprError::into_message)
}

#[test]
fn key_conditions_resolve() {
    let q = resolve("pk = :a", "pk", Some("sk")).unwrap();
    assert_eq!(q.partition_value, vref(":a"));
    assert_eq!(q.sort, None);
    let cases = [
        ("pk = :a AND sk = :b", KeyComparison::Eq(vref(":b"))),
        ("pk = :a AND sk < :b", KeyComparison::Lt(vref(":b"))),
        ("pk = :a AND sk <= :b", KeyComparison::Le(vref(":b"))),
        ("pk = :a AND sk > :b", KeyComparison::Gt(vref(":b"))),
        ("pk = :a AND sk >= :b", KeyComparison::Ge(vref(":b"))),
        (":b < sk AND :a = pk", KeyComparison::Gt(vref(":b"))),
        (":b >= sk AND pk = :a", KeyComparison::Le(vref(":b"))),
        (
            "pk = :a AND sk BETWEEN :a AND :b",
            KeyComparison::Between(vref(":a"), vref(":b")),
        ),
        (
            "pk = :a AND begins_with(sk, :b)",
            KeyComparison::BeginsWith(vref(":b")),
        ),
        ("(pk = :a) AND (sk = :b)", KeyComparison::Eq(vref(":b"))),
        ("(pk = :a AND sk = :b)", KeyComparison::Eq(vref(":b"))),
        ("sk = :b and pk = :a", KeyComparison::Eq(vref(":b"))),
    ];
    for (e, comparison) in cases {
        let q = resolve(e, "pk", Some("sk")).unwrap();
        assert_eq!(q.partition_key, "pk", "{e}");
        assert_eq!(q.partition_value, vref(":a"), "{e}");
        assert_eq!(
            q.sort,
            Some(KeyCondition {
                attribute: "sk".to_owned(),
                comparison,
            }),
            "{e}"
        );
    }
    // Through placeholders, on a reserved attribute name.
    let q = resolve("#n = :a", "name", None).unwrap();
    assert_eq!(q.partition_key, "name");
}

#[test]
fn key_condition_shape_errors() {
    let op = |o: &str| format!("Invalid operator used in KeyConditionExpression: {o}");
    let cond = |d: &str| format!("Invalid condition in KeyConditionExpression: {d}");
    let nested_ops = "KeyConditionExpressions cannot contain nested operations".to_owned();
    let nested_attrs =
        "KeyConditionExpressions cannot have conditions on nested attributes".to_owned();
    let per_key = "KeyConditionExpressions must only contain one condition per key".to_owned();
    let cases = [
        ("a > b and size(b) > c or a > c", op("OR")),
        ("a in (b, size(c), d)", op("IN")),
        ("attribute_exists(a)", op("attribute_exists")),
        ("attribute_not_exists(a)", op("attribute_not_exists")),
        ("contains(a.d, b)", op("contains")),
        ("not a > b", op("NOT")),
        ("a <> b", op("<>")),
        ("attribute_type(a, :t)", op("attribute_type")),
        (
            ":a between size(b) and size(a) and b > :b",
            cond("BETWEEN operator must have the key attribute as its first operand"),
        ),
        (
            "begins_with(:a, b) and a > :b",
            cond("begins_with operator must have the key attribute as its first operand"),
        ),
        ("size(b) > a AND a.b > b AND b > c", nested_ops.clone()),
        ("a > size(b.d)", nested_ops.clone()),
        ("a between size(b) and size(a)", nested_ops),
        (
            "b > a.b",
            cond("Multiple attribute names used in one condition"),
        ),
        (
            "b between c[1] and d",
            cond("Multiple attribute names used in one condition"),
        ),
        (
            "a between b and size(a)",
            cond("Multiple attribute names used in one condition"),
        ),
        (
            "begins_with(a, b)",
            cond("Multiple attribute names used in one condition"),
        ),
        ("b.d > a AND c.d > e.f", nested_attrs.clone()),
        ("a.d > c", nested_attrs.clone()),
        ("b[0] > a", nested_attrs),
        (":b > :a AND a < :b", cond("No key attribute specified")),
        (":a > b AND :a < :b", cond("No key attribute specified")),
        ("b > :a AND b < :a and c = :a and d = :a", per_key.clone()),
        (
            "(a > :a and b > :a) and (b > :a and c > :a)",
            per_key.clone(),
        ),
        ("#a = :a AND #a2 = :b", per_key),
    ];
    for (e, message) in cases {
        let parsed = kce(e);
        assert_eq!(
            parsed.conditions().unwrap_err().into_message(),
            message,
            "{e}"
        );
        assert_eq!(resolve(e, "a", Some("b")).unwrap_err(), message, "{e}");
    }
}

#[test]
fn key_condition_schema_errors() {
    let missed = |k: &str| format!("Query condition missed key schema element: {k}");
    let unsupported = "Query key condition not supported".to_owned();
    let length = "Conditions can be of length 1 or 2 only".to_owned();
    let cases = [
        ("sk = :a", "pk", Some("sk"), missed("pk")),
        ("attr1 = :a", "pk", Some("sk"), missed("pk")),
        ("attr1 = :a", "pk", None, missed("pk")),
        ("pk > :a", "pk", Some("sk"), unsupported.clone()),
        ("begins_with(pk, :a)", "pk", None, unsupported.clone()),
        (
            "pk BETWEEN :a AND :b AND sk = :a",
            "pk",
            Some("sk"),
            unsupported.clone(),
        ),
        ("pk = :a AND x = :b", "pk", Some("sk"), missed("sk")),
        ("pk = :a AND sk = :b", "pk", None, unsupported.clone()),
        ("x = :a AND y = :b", "pk", None, unsupported),
        (
            ":a = a and b = :a and :a = c",
            "a",
            Some("b"),
            length.clone(),
        ),
        (
            "(a > :a and b > :a) and (c > :a and d > :a) and (e > :a and f > :a)",
            "a",
            Some("b"),
            length,
        ),
    ];
    for (e, pk, sk, message) in cases {
        assert_eq!(resolve(e, pk, sk).unwrap_err(), message, "{e}");
    }
}

#[test]
fn key_condition_generic_errors_come_first() {
    assert_eq!(kce_err("a > 4"), ke(&syntax("4", "> 4")));
    assert_eq!(
        kce_err("attribute_type(a, b)"),
        ke("Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}")
    );
    assert_eq!(
        kce_err("attribute_type(a, :n)"),
        ke("Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N")
    );
    assert_eq!(
        kce_err("((pk = :a))"),
        ke("The expression has redundant parentheses;")
    );
    assert_eq!(
        kce_err("pk = :zz"),
        ke("An expression attribute value used in expression is not defined; attribute value: :zz")
    );
    assert_eq!(
        kce_err("#zz = :a"),
        ke("An expression attribute name used in the document path is not defined; attribute name: #zz")
    );
    assert_eq!(
        kce_err("name = :a"),
        ke("Attribute name is a reserved keyword; reserved keyword: name")
    );
}

// ---- request context ------------------------------------------------------------

#[test]
fn context_map_validation() {
    let err = |c: ExprContext| c.validate().unwrap_err().into_message();
    assert_eq!(
        err(ExprContext::new().with_names(Vec::<(String, String)>::new())),
        "ExpressionAttributeNames must not be empty"
    );
    assert_eq!(
        err(ExprContext::new().with_values(Vec::<(String, ValueType)>::new())),
        "ExpressionAttributeValues must not be empty"
    );
    assert_eq!(
        err(ExprContext::new().with_value_keys(Vec::<String>::new())),
        "ExpressionAttributeValues must not be empty"
    );
    for key in ["a", "#", "#a-b", "##a", "#a b", ":a"] {
        assert_eq!(
            err(ExprContext::new().with_names([(key, "x")])),
            format!("ExpressionAttributeNames contains invalid key: Syntax error; key: \"{key}\""),
            "{key}"
        );
    }
    for key in ["a", ":", ":a-b", "#a"] {
        assert_eq!(
            err(ExprContext::new().with_value_keys([key])),
            format!("ExpressionAttributeValues contains invalid key: Syntax error; key: \"{key}\""),
            "{key}"
        );
    }
    let long = format!("#{}", "a".repeat(255));
    assert_eq!(
        err(ExprContext::new().with_names([(long.as_str(), "x")])),
        "ExpressionAttributeNames contains invalid key: The expression attribute map contains a key that is too long; size of key: 256"
    );
    let long = format!(":{}", "a".repeat(255));
    assert_eq!(
        err(ExprContext::new().with_value_keys([long])),
        "ExpressionAttributeValues contains invalid key: The expression attribute map contains a key that is too long;"
    );
    assert_eq!(
        err(ExprContext::new().with_names([("#a", "")])),
        "ExpressionAttributeNames contains invalid value: Empty attribute name for key #a"
    );
    // Names are checked before values.
    assert_eq!(
        err(ExprContext::new()
            .with_names(Vec::<(String, String)>::new())
            .with_value_keys(Vec::<String>::new())),
        "ExpressionAttributeNames must not be empty"
    );
    let ok = ExprContext::new()
        .with_names([(format!("#{}", "a".repeat(254)), "x".to_owned())])
        .with_values([(":a_1", S)]);
    ok.validate().unwrap();
    ExprContext::new().validate().unwrap();
}

#[test]
fn context_unused_placeholders() {
    let mut c = ExprContext::new()
        .with_names([("#a", "a"), ("#c", "c"), ("#b", "b")])
        .with_values([(":v", N), (":w", N)]);
    c.validate().unwrap();
    parse_condition_expression("#a = :v", &mut c).unwrap();
    assert_eq!(
        c.finish().unwrap_err().message(),
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b, #c}"
    );
    parse_projection_expression("#b, #c", &mut c).unwrap();
    assert_eq!(
        c.finish().unwrap_err().message(),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"
    );
    parse_update_expression("ADD x :w", &mut c).unwrap();
    c.finish().unwrap();
    assert_eq!(c.used_names().collect::<Vec<_>>(), ["#a", "#b", "#c"]);
    assert_eq!(c.used_values().collect::<Vec<_>>(), [":v", ":w"]);
}

#[test]
fn context_shared_across_a_request() {
    // Query: KeyConditionExpression + FilterExpression + ProjectionExpression.
    let mut c = ExprContext::new()
        .with_names([("#pk", "pk"), ("#s", "status"), ("#n", "name")])
        .with_values([(":p", S), (":s", S)]);
    c.validate().unwrap();
    let key = parse_key_condition_expression("#pk = :p", &mut c).unwrap();
    parse_filter_expression("#s = :s", &mut c).unwrap();
    parse_projection_expression("#n, #s", &mut c).unwrap();
    c.finish().unwrap();
    assert_eq!(key.resolve("pk", None).unwrap().partition_value, vref(":p"));
    // An unused value in the same setting.
    let mut c = ExprContext::new().with_values([(":p", S), (":unused", S)]);
    parse_key_condition_expression("pk = :p", &mut c).unwrap();
    assert_eq!(
        c.finish().unwrap_err().message(),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}"
    );
    // A failing parse still reports its own error first.
    let mut c = ExprContext::new().with_names([("#unused", "x")]);
    assert!(parse_condition_expression("a = ", &mut c).is_err());
}

#[test]
fn expression_kinds_name_their_parameter() {
    assert_eq!(
        filter_err("a = "),
        format!("Invalid FilterExpression: {}", syntax("<EOF>", "= "))
    );
    assert_eq!(kce_err("a = "), ke(&syntax("<EOF>", "= ")));
    let err = parse_condition_as(ExpressionKind::Filter, "name = :a", &mut ctx()).unwrap_err();
    assert_eq!(
        err.message(),
        "Invalid FilterExpression: Attribute name is a reserved keyword; reserved keyword: name"
    );
    assert_eq!(
        ExpressionKind::KeyCondition.to_string(),
        "KeyConditionExpression"
    );
    assert_eq!(
        ExprError::invalid(ExpressionKind::Update, "x").message(),
        "Invalid UpdateExpression: x"
    );
}

#[test]
fn paths_display() {
    let path = p("a/b/@2/c");
    assert_eq!(path.to_string(), "a.b[2].c");
    assert_eq!(path.to_dynamo_string(), "[a, b, [2], c]");
    assert_eq!(path.top_level(), "a");
    assert!(!path.is_top_level());
    assert!(Path::attribute("x").is_top_level());
}

// ---- no input panics ------------------------------------------------------------

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const SOUP: &[&str] = &[
        "a",
        "b.c",
        "#a",
        "#zz",
        ":a",
        ":n",
        ":zz",
        "name",
        "size",
        "attribute_exists",
        "attribute_type",
        "begins_with",
        "contains",
        "if_not_exists",
        "list_append",
        "(",
        ")",
        "((",
        "))",
        "[",
        "]",
        "[0]",
        "[99999999999]",
        ",",
        ".",
        "=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "+",
        "-",
        "AND",
        "OR",
        "NOT",
        "BETWEEN",
        "IN",
        "SET",
        "REMOVE",
        "ADD",
        "DELETE",
        "\"s\"",
        "'",
        "!",
        "ü",
        " ",
        "\n",
        "0",
        "12",
    ];

    fn all_parsers(input: &str) {
        let mut c = ctx();
        let _ = parse_condition_expression(input, &mut c);
        let _ = parse_filter_expression(input, &mut c);
        if let Ok(k) = parse_key_condition_expression(input, &mut c) {
            let _ = k.conditions();
            let _ = k.resolve("a", Some("b"));
            let _ = k.resolve("a", None);
        }
        let _ = parse_update_expression(input, &mut c);
        let _ = parse_projection_expression(input, &mut c);
        let _ = c.finish();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            all_parsers(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn token_soup_never_panics(tokens in proptest::collection::vec(0..SOUP.len(), 0..60)) {
            let input: Vec<&str> = tokens.iter().map(|&i| SOUP[i]).collect();
            all_parsers(&input.join(" "));
            all_parsers(&input.concat());
        }

        #[test]
        fn valid_conditions_parse(n in 1usize..40) {
            let e = vec!["(a = :a OR NOT b BETWEEN :n AND :m)"; n].join(" AND ");
            prop_assert!(parse_condition_expression(&e, &mut ctx()).is_ok());
        }
    }
}

/// The parsers use explicit stacks for nesting: the deepest inputs within the size
/// limit parse in a small thread stack (an unoptimized build needs under 128 KiB).
#[test]
fn deep_inputs_need_little_stack() {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let conditions = [
                format!("{}a = :a{}", "(".repeat(2000), ")".repeat(2000)),
                format!("{}a{} = :a", "(".repeat(2000), ")".repeat(2000)),
                format!("{}a > :n", "size(".repeat(800)),
                format!("{}a{} > :n", "size(".repeat(800), ")".repeat(800)),
                format!("{}a = :a{}", "(NOT ".repeat(800), ")".repeat(800)),
                format!("{}a = :a", "NOT ".repeat(1020)),
                "(".repeat(4096),
                format!("a IN ({})", "(".repeat(4000)),
            ];
            for e in &conditions {
                assert!(parse_condition_expression(e, &mut ctx()).is_err());
                assert!(parse_key_condition_expression(e, &mut ctx()).is_err());
            }
            let updates = [
                format!("SET x = {}a{}", "(".repeat(2000), ")".repeat(2000)),
                format!("SET x = {}l{}", "f((".repeat(580), "),l)".repeat(580)),
            ];
            for e in &updates {
                assert!(parse_update_expression(e, &mut ctx()).is_err());
            }
            // Valid, and checked recursively: 250 nested calls.
            let e = format!(
                "SET x = {}l{}",
                "list_append(".repeat(250),
                ",:l)".repeat(250)
            );
            assert!(e.len() <= MAX_EXPRESSION_BYTES);
            assert!(parse_update_expression(&e, &mut ctx()).is_ok());
            let e = format!("{}a{} > :n", "size((".repeat(140), "))".repeat(140));
            assert!(e.len() <= MAX_EXPRESSION_BYTES);
            assert!(parse_condition_expression(&e, &mut ctx()).is_err());
        })
        .unwrap()
        .join()
        .unwrap();
}
