//! RFC 8785 JSON Canonicalization Scheme (JCS) and the entry hash.
//!
//! An entry's `hash` is the lowercase hex SHA-256 of the JCS form of the
//! entry without its `hash` member. JCS fixes everything a hash depends on:
//! object members sorted by their UTF-16 code units, no whitespace, strings
//! with the minimal escapes, and numbers written the way ECMAScript's
//! `Number.prototype.toString` writes an IEEE-754 double.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Integers up to this magnitude are exact in a double, so JCS prints them
/// as integers; beyond it they are doubles like any other number.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The deepest nesting of objects and arrays an entry may have (the entry
/// object itself is level 1). `audit log` refuses deeper details and
/// verify reports deeper lines, so no input can exhaust the stack and
/// nesting can never make two verifiers disagree.
pub const MAX_DEPTH: usize = 64;

/// How deeply `value` nests objects and arrays (a scalar is 0).
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The JCS serialization of `value`.
pub fn to_string(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value);
    out
}

/// Appends the JCS serialization of `value` to `out`.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map, None),
    }
}

/// Appends the JCS form of `map`, leaving out the member named `skip`.
pub fn write_object(out: &mut String, map: &Map<String, Value>, skip: Option<&str>) {
    let mut members: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(k, _)| Some(k.as_str()) != skip)
        .collect();
    members.sort_by(|(a, _), (b, _)| utf16_cmp(a, b));
    out.push('{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

/// Orders member names by their UTF-16 code units, as JCS requires. For
/// ASCII names that is byte order.
fn utf16_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// Lowercase hex SHA-256 of the JCS form of `entry` without `hash`.
pub fn entry_hash(entry: &Map<String, Value>) -> String {
    let mut text = String::with_capacity(512);
    write_object(&mut text, entry, Some("hash"));
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x09 => "\\t",
            0x0a => "\\n",
            0x0c => "\\f",
            0x0d => "\\r",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(u) = n.as_u64().filter(|u| *u <= MAX_SAFE_INTEGER) {
        out.push_str(&u.to_string());
    } else if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER) {
        out.push_str(&i.to_string());
    } else if let Some(f) = n.as_f64() {
        out.push_str(&es_number(f));
    } else {
        // serde_json numbers are always representable as f64.
        out.push_str(&n.to_string());
    }
}

/// ECMAScript `Number.prototype.toString` for a finite double (JCS §3.2.2.3):
/// the shortest digits that round-trip, ties broken to the even digit the
/// way ECMAScript requires (`ryu-js` implements exactly that; Rust's own
/// formatting breaks some ties the other way). Negative zero is `0`.
pub fn es_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        // JSON has no NaN or infinity; serde_json never produces them.
        return "0".to_string();
    }
    ryu_js::Buffer::new().format_finite(x).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_follow_ecmascript() {
        // The examples of RFC 8785 appendix B and the ES spec.
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9007199254740992.0, "9007199254740992"),
            (295147905179352830000.0, "295147905179352830000"),
            (4.5, "4.5"),
            (0.002, "0.002"),
            (333333333.3333333, "333333333.3333333"),
            // 1882383255828106.25, a tie: ECMAScript (and Python) write
            // ...06.2, not ...06.3.
            (f64::from_bits(0x431a_c012_052d_da29), "1882383255828106.2"),
        ];
        for (x, want) in cases {
            assert_eq!(es_number(x), want, "{x:e}");
        }
    }

    #[test]
    fn objects_sort_by_utf16_and_strings_escape_minimally() {
        // RFC 8785 §3.2.3: sorting by UTF-16 code units puts U+1F600
        // (a surrogate pair, 0xD83D) before U+FB33 (0xFB33).
        let v =
            json!({"\u{fb33}": 1, "\u{1f600}": 2, "b": [true, null], "a": "x\"\\\n\u{1}\u{7f}é"});
        assert_eq!(
            to_string(&v),
            "{\"a\":\"x\\\"\\\\\\n\\u0001\u{7f}é\",\"b\":[true,null],\"\u{1f600}\":2,\"\u{fb33}\":1}"
        );
    }

    #[test]
    fn large_integers_are_doubles() {
        let v: Value =
            serde_json::from_str("[9007199254740991, 18446744073709551615, -3]").unwrap();
        assert_eq!(to_string(&v), "[9007199254740991,18446744073709552000,-3]");
    }

    #[test]
    fn hash_ignores_the_hash_member_and_member_order() {
        let a = json!({"seq": 1, "hash": "x", "audit_id": "AUD-1"});
        let b = json!({"audit_id": "AUD-1", "seq": 1});
        assert_eq!(
            entry_hash(a.as_object().unwrap()),
            entry_hash(b.as_object().unwrap())
        );
        assert_eq!(
            entry_hash(b.as_object().unwrap()),
            hex::encode(Sha256::digest(br#"{"audit_id":"AUD-1","seq":1}"#))
        );
    }
}

/// A line already in canonical form, checked without building a tree:
/// the hash of its canonical form without `hash`, and its top-level
/// members as raw JSON slices.
pub struct CanonicalLine<'a> {
    pub hash: [u8; 32],
    pub members: Vec<(&'a str, &'a [u8])>,
}

/// The fast path of verification. lifeline writes every line in JCS form,
/// so for such a line the canonical form of the entry without `hash` is the
/// line with the `hash` member cut out, and hashing needs no parse tree.
/// Returns `None` unless the line is canonical by a strict subset of
/// RFC 8785 (ASCII member names, integer numbers only, no escapes other
/// than the canonical ones) and has a top-level `hash` string; the caller
/// then takes the general path, which gives the same answer for every line
/// this one accepts.
pub fn canonical_line(line: &[u8]) -> Option<CanonicalLine<'_>> {
    std::str::from_utf8(line).ok()?;
    let mut scan = Scanner {
        s: line,
        i: 0,
        depth: 0,
    };
    let members = scan.top_object()?;
    if scan.i != line.len() {
        return None;
    }
    let at = members.iter().position(|(k, _)| *k == "hash")?;
    // The member's bytes: `"hash":` then the value slice.
    let value = members[at].1;
    let value_start = value.as_ptr() as usize - line.as_ptr() as usize;
    let member_start = value_start - "\"hash\":".len();
    let member_end = value_start + value.len();
    let (cut_start, cut_end) = if at == 0 {
        // `{"hash":"..",` → drop the trailing comma (if any member follows).
        (
            member_start,
            if members.len() > 1 {
                member_end + 1
            } else {
                member_end
            },
        )
    } else {
        (member_start - 1, member_end)
    };
    let mut hasher = Sha256::new();
    hasher.update(&line[..cut_start]);
    hasher.update(&line[cut_end..]);
    Some(CanonicalLine {
        hash: hasher.finalize().into(),
        members,
    })
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
    /// Objects and arrays open at `i`; past [`MAX_DEPTH`] the line goes
    /// to the general path, which reports it.
    depth: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.i += 1)
    }

    fn top_object(&mut self) -> Option<Vec<(&'a str, &'a [u8])>> {
        let mut members = Vec::with_capacity(16);
        self.object(Some(&mut members))?;
        Some(members)
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn object(&mut self, mut out: Option<&mut Vec<(&'a str, &'a [u8])>>) -> Option<()> {
        self.eat(b'{')?;
        self.enter()?;
        if self.eat(b'}').is_some() {
            self.depth -= 1;
            return Some(());
        }
        let mut last: Option<&[u8]> = None;
        loop {
            let key = self.string()?;
            let name = &key[1..key.len() - 1];
            // ASCII names without escapes: byte order is UTF-16 order.
            if name.iter().any(|b| *b >= 0x80 || *b == b'\\') || last.is_some_and(|l| l >= name) {
                return None;
            }
            last = Some(name);
            self.eat(b':')?;
            let start = self.i;
            self.value()?;
            if let Some(out) = out.as_deref_mut() {
                let name = std::str::from_utf8(name).ok()?;
                out.push((name, &self.s[start..self.i]));
            }
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(None),
            b'[' => {
                self.i += 1;
                self.enter()?;
                if self.eat(b']').is_some() {
                    self.depth -= 1;
                    return Some(());
                }
                loop {
                    self.value()?;
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            self.depth -= 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.integer(),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.s[self.i..]
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// An integer in canonical form within ±(2^53-1); anything else
    /// (fractions, exponents) goes to the general path.
    fn integer(&mut self) -> Option<()> {
        let start = self.i;
        let negative = self.eat(b'-').is_some();
        let digits_start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = &self.s[digits_start..self.i];
        if digits.is_empty()
            || digits.len() > 16
            || (digits[0] == b'0' && (digits.len() > 1 || negative))
        {
            return None;
        }
        let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
        if n > MAX_SAFE_INTEGER || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        (self.i > start).then_some(())
    }

    /// A string with only the escapes JCS produces; returns it with quotes.
    fn string(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        self.eat(b'"')?;
        loop {
            let rest = &self.s[self.i..];
            let stop = rest
                .iter()
                .position(|b| *b == b'"' || *b == b'\\' || *b < 0x20)?;
            self.i += stop;
            match self.s[self.i] {
                b'"' => {
                    self.i += 1;
                    return Some(&self.s[start..self.i]);
                }
                b'\\' => {
                    let esc = *self.s.get(self.i + 1)?;
                    match esc {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                        b'u' => {
                            let hex = self.s.get(self.i + 2..self.i + 6)?;
                            let ok = hex.starts_with(b"00")
                                && matches!(hex[2], b'0' | b'1')
                                && (hex[3].is_ascii_digit() || (b'a'..=b'f').contains(&hex[3]))
                                && !matches!(&hex[2..], b"08" | b"09" | b"0a" | b"0c" | b"0d");
                            if !ok {
                                return None;
                            }
                            self.i += 6;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;
    use proptest::prelude::*;

    fn slow(line: &str) -> [u8; 32] {
        let v: Value = serde_json::from_str(line).unwrap();
        let mut text = String::new();
        write_object(&mut text, v.as_object().unwrap(), Some("hash"));
        Sha256::digest(text.as_bytes()).into()
    }

    #[test]
    fn non_canonical_lines_take_the_general_path() {
        for line in [
            r#"{"b":1,"a":2,"hash":"x"}"#,
            r#"{"a":1.5,"hash":"x"}"#,
            r#"{"a":"\u0041","hash":"x"}"#,
            r#"{"a":"\/","hash":"x"}"#,
            r#"{"a": 1,"hash":"x"}"#,
            r#"{"a":-0,"hash":"x"}"#,
            r#"{"a":01,"hash":"x"}"#,
            r#"{"a":"\u0008","hash":"x"}"#,
            r#"{"é":1,"hash":"x"}"#,
            r#"{"a":1}"#,
            r#"{"a":1,"hash":"x"} "#,
        ] {
            assert!(canonical_line(line.as_bytes()).is_none(), "{line}");
        }
        for line in [
            r#"{"hash":"x"}"#,
            r#"{"hash":"x","z":[1,{"b":null}]}"#,
            r#"{"a":"\u001f\n","hash":"x","z":-9007199254740991}"#,
        ] {
            let got = canonical_line(line.as_bytes()).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(got.hash, slow(line), "{line}");
        }
    }

    #[test]
    fn deep_nesting_leaves_the_fast_path_without_exhausting_the_stack() {
        let deep = format!(
            "{{\"a\":{}1{},\"hash\":\"x\"}}",
            "[".repeat(200_000),
            "]".repeat(200_000)
        );
        assert!(canonical_line(deep.as_bytes()).is_none());
        let ok = format!(
            "{{\"a\":{}1{},\"hash\":\"x\"}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(canonical_line(ok.as_bytes()).is_some());
        let over = format!(
            "{{\"a\":{}1{},\"hash\":\"x\"}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert!(canonical_line(over.as_bytes()).is_none());
        let v: Value = serde_json::from_str(&ok).unwrap();
        assert_eq!(depth(&v), MAX_DEPTH);
    }

    proptest! {
        /// Whatever the content, a line lifeline writes takes the fast path
        /// and gets the same hash as the general path.
        #[test]
        fn fast_path_agrees_with_the_general_path(
            keys in proptest::collection::vec("[a-z_]{1,8}", 1..6),
            texts in proptest::collection::vec("\\PC{0,12}|[\\x00-\\x1f\"\\\\]{0,4}", 1..6),
            n in -9_007_199_254_740_991i64..9_007_199_254_740_991,
        ) {
            let mut map = Map::new();
            for (k, t) in keys.iter().zip(&texts) {
                map.insert(k.clone(), Value::String(t.clone()));
            }
            map.insert("n".into(), n.into());
            map.insert("hash".into(), "h".into());
            let line = to_string(&Value::Object(map));
            let fast = canonical_line(line.as_bytes());
            prop_assert!(fast.is_some(), "{}", line);
            prop_assert_eq!(fast.unwrap().hash, slow(&line));
        }
    }
}
