//! The tokenizer shared by the five expression languages.
//!
//! It follows DynamoDB's token rules: keywords (`AND`, `OR`, `NOT`, `BETWEEN`, `IN`,
//! `SET`, `REMOVE`, `ADD`, `DELETE`) are case-insensitive and reserved in every
//! expression; identifiers are `[A-Za-z][A-Za-z0-9_]*`; placeholders are `#` or `:`
//! followed by `[A-Za-z0-9_]+`; list indexes are `0` or `[1-9][0-9]*`; quoted string
//! literals form one (always invalid) token; any other character is a token of its
//! own that no rule accepts. Tokenizing never fails: invalid input becomes a syntax
//! error at the offending token.

/// A keyword of the expression languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    Between,
    In,
    Set,
    Remove,
    Add,
    Delete,
}

/// The kind of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Keyword(Keyword),
    /// A list index: `0` or `[1-9][0-9]*`.
    Index,
    /// An identifier: attribute or function name.
    Ident,
    /// `#name` placeholder.
    NameRef,
    /// `:value` placeholder.
    ValueRef,
    /// A quoted string, which no rule accepts.
    StringLit,
    /// Any other character.
    Unknown,
    /// End of input.
    Eof,
}

/// A token: its kind and byte span in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// Whether the token is the keyword `kw`.
    pub fn is_keyword(&self, kw: Keyword) -> bool {
        self.kind == TokenKind::Keyword(kw)
    }
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn keyword(word: &str) -> Option<Keyword> {
    const KEYWORDS: [(&str, Keyword); 9] = [
        ("AND", Keyword::And),
        ("OR", Keyword::Or),
        ("NOT", Keyword::Not),
        ("BETWEEN", Keyword::Between),
        ("IN", Keyword::In),
        ("SET", Keyword::Set),
        ("REMOVE", Keyword::Remove),
        ("ADD", Keyword::Add),
        ("DELETE", Keyword::Delete),
    ];
    KEYWORDS
        .iter()
        .find(|(text, _)| text.eq_ignore_ascii_case(word))
        .map(|&(_, kw)| kw)
}

/// The end of a quoted string starting at `start` (the quote), if it is closed.
/// A backslash followed by the quote character does not close it.
fn string_literal_end(bytes: &[u8], start: usize) -> Option<usize> {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&quote) {
            i += 2;
        } else if bytes[i] == quote {
            return Some(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

/// Splits `src` into tokens; the last one is always [`TokenKind::Eof`].
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        let start = i;
        let next = bytes.get(i + 1).copied();
        let (kind, len) = match b {
            b'=' => (TokenKind::Eq, 1),
            b'<' if next == Some(b'>') => (TokenKind::Ne, 2),
            b'<' if next == Some(b'=') => (TokenKind::Le, 2),
            b'<' => (TokenKind::Lt, 1),
            b'>' if next == Some(b'=') => (TokenKind::Ge, 2),
            b'>' => (TokenKind::Gt, 1),
            b'+' => (TokenKind::Plus, 1),
            b'-' => (TokenKind::Minus, 1),
            b'(' => (TokenKind::LParen, 1),
            b')' => (TokenKind::RParen, 1),
            b'[' => (TokenKind::LBracket, 1),
            b']' => (TokenKind::RBracket, 1),
            b',' => (TokenKind::Comma, 1),
            b'.' => (TokenKind::Dot, 1),
            b'0' => (TokenKind::Index, 1),
            b'1'..=b'9' => {
                let len = bytes[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                (TokenKind::Index, len)
            }
            b'a'..=b'z' | b'A'..=b'Z' => {
                let len = bytes[i..].iter().take_while(|&&c| is_ident_char(c)).count();
                let kind = match keyword(&src[i..i + len]) {
                    Some(kw) => TokenKind::Keyword(kw),
                    None => TokenKind::Ident,
                };
                (kind, len)
            }
            b'#' | b':' => {
                let len = bytes[i + 1..]
                    .iter()
                    .take_while(|&&c| is_ident_char(c))
                    .count();
                match (len, b) {
                    (0, _) => (TokenKind::Unknown, 1),
                    (_, b'#') => (TokenKind::NameRef, len + 1),
                    _ => (TokenKind::ValueRef, len + 1),
                }
            }
            b'"' | b'\'' => match string_literal_end(bytes, i) {
                Some(end) => (TokenKind::StringLit, end - i),
                None => (TokenKind::Unknown, 1),
            },
            _ => {
                // One character, whatever its UTF-8 length.
                let len = src[i..].chars().next().map_or(1, char::len_utf8);
                (TokenKind::Unknown, len)
            }
        };
        i += len;
        tokens.push(Token {
            kind,
            start,
            end: i,
        });
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        start: src.len(),
        end: src.len(),
    });
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).into_iter().map(|t| t.kind).collect()
    }

    fn texts(src: &str) -> Vec<&str> {
        tokenize(src)
            .into_iter()
            .map(|t| &src[t.start..t.end])
            .collect()
    }

    #[test]
    fn operators_and_punctuation() {
        use TokenKind::*;
        assert_eq!(
            kinds("= <> < <= > >= + - ( ) [ ] , ."),
            vec![
                Eq, Ne, Lt, Le, Gt, Ge, Plus, Minus, LParen, RParen, LBracket, RBracket, Comma,
                Dot, Eof
            ]
        );
        assert_eq!(kinds("a<>b"), vec![Ident, Ne, Ident, Eof]);
        assert_eq!(kinds("a<=>b"), vec![Ident, Le, Gt, Ident, Eof]);
    }

    #[test]
    fn keywords_are_case_insensitive_and_whole_words() {
        use TokenKind::*;
        assert_eq!(
            kinds("and Or NOT between iN set REMOVE add Delete"),
            vec![
                Keyword(super::Keyword::And),
                Keyword(super::Keyword::Or),
                Keyword(super::Keyword::Not),
                Keyword(super::Keyword::Between),
                Keyword(super::Keyword::In),
                Keyword(super::Keyword::Set),
                Keyword(super::Keyword::Remove),
                Keyword(super::Keyword::Add),
                Keyword(super::Keyword::Delete),
                Eof
            ]
        );
        assert_eq!(kinds("index android in_x"), vec![Ident, Ident, Ident, Eof]);
    }

    #[test]
    fn identifiers_placeholders_and_indexes() {
        use TokenKind::*;
        assert_eq!(
            kinds("a_1 #n_2 :v3 #4g :_ 0 12 007"),
            vec![
                Ident, NameRef, ValueRef, NameRef, ValueRef, Index, Index, Index, Index, Index, Eof
            ]
        );
        assert_eq!(texts("007"), vec!["0", "0", "7", ""]);
        assert_eq!(kinds("12ab"), vec![Index, Ident, Eof]);
        assert_eq!(kinds("_a"), vec![Unknown, Ident, Eof]);
        assert_eq!(kinds("# : #-"), vec![Unknown, Unknown, Unknown, Minus, Eof]);
    }

    #[test]
    fn strings_and_unknown_characters() {
        use TokenKind::*;
        assert_eq!(kinds(r#""a b" 'c\'d'"#), vec![StringLit, StringLit, Eof]);
        assert_eq!(kinds("\"open"), vec![Unknown, Ident, Eof]);
        assert_eq!(texts("ü!"), vec!["ü", "!", ""]);
        assert_eq!(kinds("\u{a0}"), vec![Unknown, Eof]);
    }

    #[test]
    fn whitespace_and_spans() {
        let toks = tokenize(" \t\na \r\n");
        assert_eq!(toks.len(), 2);
        assert_eq!((toks[0].start, toks[0].end), (3, 4));
        assert_eq!((toks[1].start, toks[1].end), (7, 7));
    }
}
