//! The filter parameter grammar of Thumbor (`BaseFilter`): how the `filters:` text is split into
//! calls, the per-type parameter patterns, and the regex each filter's call must match at its
//! start. Values are handed to the filter constructors positionally, absent ones skipped.

use regex::Regex;

/// The parameter types of `BaseFilter`, plus a filter-specific raw pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `-?\d+`, parsed as an integer.
    Number,
    /// `\d+`, parsed as an integer.
    PositiveNumber,
    /// Digits with at least one non-zero digit.
    PositiveNonZeroNumber,
    /// `-\d+`.
    NegativeNumber,
    /// `-?(\d+\.?\d*|\d*\.?\d+)`, parsed as a float.
    DecimalNumber,
    /// `True`, `true`, `False`, `false`, `1`, `0`.
    Boolean,
    /// `'quoted, with commas'` or the shortest run of non-commas; surrounding quotes stripped.
    String,
    /// A filter-specific pattern; the matched text is kept as it is.
    Raw(&'static str),
}

impl ParamType {
    fn pattern(self) -> &'static str {
        match self {
            ParamType::Number => r"[-]?[\d]+",
            ParamType::PositiveNumber => r"[\d]+",
            ParamType::PositiveNonZeroNumber => r"[\d]*[1-9][\d]*",
            ParamType::NegativeNumber => r"[-][\d]+",
            ParamType::DecimalNumber => r"[-]?(?:(?:[\d]+\.?[\d]*)|(?:[\d]*\.?[\d]+))",
            ParamType::Boolean => r"[Tt]rue|[Ff]alse|1|0",
            ParamType::String => r"(?:'.+?')|(?:[^,]+?)",
            ParamType::Raw(pattern) => pattern,
        }
    }

    /// Converts the matched text; `None` when it cannot be represented (e.g. non-ASCII digits,
    /// which Python's `int` would accept; such filters are dropped).
    fn parse(self, text: &str) -> Option<ParamValue> {
        match self {
            ParamType::Number
            | ParamType::PositiveNumber
            | ParamType::PositiveNonZeroNumber
            | ParamType::NegativeNumber => parse_int(text).map(ParamValue::Int),
            ParamType::DecimalNumber => text.parse::<f64>().ok().map(ParamValue::Float),
            ParamType::Boolean => Some(ParamValue::Bool(matches!(text, "true" | "True" | "1"))),
            ParamType::String => Some(ParamValue::Str(strip_quotes(text).to_string())),
            ParamType::Raw(_) => Some(ParamValue::Str(text.to_string())),
        }
    }
}

/// Python `int()` on a matched integer, saturating instead of growing without bound.
fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// `^'(.+)'$` → the inner text.
fn strip_quotes(text: &str) -> &str {
    if text.len() >= 3 && text.starts_with('\'') && text.ends_with('\'') {
        &text[1..text.len() - 1]
    } else {
        text
    }
}

/// A parsed parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

impl ParamValue {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            ParamValue::Int(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_float(&self) -> Option<f64> {
        match self {
            ParamValue::Float(v) => Some(*v),
            ParamValue::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            ParamValue::Bool(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::Str(v) => Some(v),
            _ => None,
        }
    }
}

/// The values of one matched call, in order, with absent optional ones skipped (so a later
/// value can sit at an earlier index, as Thumbor hands them to the filter positionally).
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    values: &'a [ParamValue],
}

impl<'a> Params<'a> {
    pub fn new(values: &'a [ParamValue]) -> Params<'a> {
        Params { values }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn int(&self, index: usize) -> Option<i64> {
        self.values.get(index).and_then(ParamValue::as_int)
    }

    pub fn float(&self, index: usize) -> Option<f64> {
        self.values.get(index).and_then(ParamValue::as_float)
    }

    pub fn boolean(&self, index: usize) -> Option<bool> {
        self.values.get(index).and_then(ParamValue::as_bool)
    }

    pub fn text(&self, index: usize) -> Option<&'a str> {
        self.values.get(index).and_then(ParamValue::as_str)
    }

    pub fn get(&self, index: usize) -> Option<&'a ParamValue> {
        self.values.get(index)
    }

    /// An optional integer: `default` when fewer values were given, `None` (the filter is
    /// dropped) when the value there is not an integer.
    pub fn int_or(&self, index: usize, default: i64) -> Option<i64> {
        if index < self.len() {
            self.int(index)
        } else {
            Some(default)
        }
    }

    /// [`Params::int_or`] for a decimal.
    pub fn float_or(&self, index: usize, default: f64) -> Option<f64> {
        if index < self.len() {
            self.float(index)
        } else {
            Some(default)
        }
    }

    /// [`Params::int_or`] for a boolean.
    pub fn boolean_or(&self, index: usize, default: bool) -> Option<bool> {
        if index < self.len() {
            self.boolean(index)
        } else {
            Some(default)
        }
    }
}

/// ASCII digits (at least one) -> integer, saturating: the filter-specific raw patterns
/// (`round_corner`'s radii, watermark positions) carry numbers Python reads with `int()`.
pub fn parse_digits(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    }))
}

/// One filter's signature: its name, parameter types and how many of them are required
/// (the rest have Python defaults and may be absent).
pub struct FilterSignature {
    pub name: &'static str,
    pub params: &'static [ParamType],
    pub required: usize,
}

/// A signature compiled to Thumbor's call regex.
pub struct CompiledSignature {
    types: Vec<ParamType>,
    /// `None` only if a pattern failed to compile (a bug the parser tests catch); such a
    /// filter then matches nothing.
    regex: Option<Regex>,
}

impl CompiledSignature {
    /// Builds `name\((?:\s*(p1)\s*)(?:,\s*(p2)\s*)?...\)`, anchored at the start only, as
    /// `BaseFilter.compile_regex` does (the `^` stands for `re.match`).
    pub fn compile(signature: &FilterSignature) -> CompiledSignature {
        let mut pattern = format!("^{}\\(", regex::escape(signature.name));
        for (index, param) in signature.params.iter().enumerate() {
            let comma = if index > 0 { "," } else { "" };
            let optional = if index >= signature.required { "?" } else { "" };
            pattern.push_str(&format!(
                "(?:{comma}\\s*({})\\s*){optional}",
                param.pattern()
            ));
        }
        pattern.push_str("\\)");
        CompiledSignature {
            types: signature.params.to_vec(),
            regex: Regex::new(&pattern).ok(),
        }
    }

    /// The pattern compiled (always, for the built-in signatures).
    pub fn is_usable(&self) -> bool {
        self.regex.is_some()
    }

    /// The values of a call, or `None` when the call does not match (the filter is dropped).
    /// Groups that did not take part (or matched empty text) are skipped, so later values
    /// shift left, exactly as Thumbor's `[parser(p) for p in groups if p]`.
    pub fn parse_call(&self, call: &str) -> Option<Vec<ParamValue>> {
        let captures = self.regex.as_ref()?.captures(call)?;
        let mut values = Vec::with_capacity(self.types.len());
        for (index, param) in self.types.iter().enumerate() {
            if let Some(text) = captures.get(index + 1).map(|m| m.as_str()) {
                if !text.is_empty() {
                    values.push(param.parse(text)?);
                }
            }
        }
        Some(values)
    }
}

/// Splits the `filters:` text into calls: on the literal `"):"`, with `)` re-added to every
/// piece but the last. Returns `(name, call)` pairs; the name is the text before the first `(`.
pub fn split_calls(filters: &str) -> Vec<(&str, String)> {
    let pieces: Vec<&str> = filters.split("):").collect();
    let last = pieces.len().saturating_sub(1);
    pieces
        .iter()
        .enumerate()
        .map(|(index, piece)| {
            let name = piece.split('(').next().unwrap_or("");
            let call = if index != last {
                format!("{piece})")
            } else {
                (*piece).to_string()
            };
            (name, call)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(param: ParamType) -> CompiledSignature {
        CompiledSignature::compile(&FilterSignature {
            name: "x",
            params: Box::leak(vec![param].into_boxed_slice()),
            required: 1,
        })
    }

    fn first(param: ParamType, text: &str) -> Option<ParamValue> {
        single(param)
            .parse_call(&format!("x({text})"))
            .map(|values| values[0].clone())
    }

    // tests/filters/test_base_filter.py FILTER_PARAMS_DATA, valid values.
    #[test]
    fn valid_values_parse_like_thumbor() {
        use ParamValue::*;
        let int_rows: &[(ParamType, &[(&str, i64)])] = &[
            (
                ParamType::Number,
                &[
                    ("1", 1),
                    ("10", 10),
                    ("99", 99),
                    ("-1", -1),
                    ("-10", -10),
                    ("010", 10),
                    ("  1 ", 1),
                    ("0", 0),
                ],
            ),
            (
                ParamType::PositiveNumber,
                &[
                    ("1", 1),
                    ("10", 10),
                    ("99", 99),
                    (" 1 ", 1),
                    ("010", 10),
                    ("0", 0),
                ],
            ),
            (
                ParamType::PositiveNonZeroNumber,
                &[("1", 1), ("10", 10), ("99", 99), (" 1 ", 1), ("010", 10)],
            ),
            (
                ParamType::NegativeNumber,
                &[("-1", -1), ("-10", -10), (" -9 ", -9), ("-0", 0)],
            ),
        ];
        for (param, rows) in int_rows {
            for (text, expected) in *rows {
                assert_eq!(
                    first(*param, text),
                    Some(Int(*expected)),
                    "{param:?} {text:?}"
                );
            }
        }
        let decimals: &[(&str, f64)] = &[
            ("1", 1.0),
            ("10", 10.0),
            ("99", 99.0),
            ("-1", -1.0),
            ("-10", -10.0),
            ("010", 10.0),
            ("  1 ", 1.0),
            ("1.0", 1.0),
            ("10.12", 10.12),
            ("9.9", 9.9),
            ("-1.1", -1.1),
            (" -10.2 ", -10.2),
            (".11", 0.11),
            ("0.111", 0.111),
            ("0", 0.0),
        ];
        for (text, expected) in decimals {
            assert_eq!(
                first(ParamType::DecimalNumber, text),
                Some(Float(*expected)),
                "{text:?}"
            );
        }
        let strings: &[(&str, &str)] = &[
            ("a", "a"),
            ("bbbb", "bbbb"),
            ("  cccc  ", "cccc"),
            ("  cc:cc  ", "cc:cc"),
            ("'a,b'", "a,b"),
        ];
        for (text, expected) in strings {
            assert_eq!(
                first(ParamType::String, text),
                Some(Str(expected.to_string())),
                "{text:?}"
            );
        }
        let booleans: &[(&str, bool)] = &[
            ("1", true),
            ("True", true),
            ("true", true),
            ("0", false),
            ("False", false),
            ("false", false),
            (" True ", true),
        ];
        for (text, expected) in booleans {
            assert_eq!(
                first(ParamType::Boolean, text),
                Some(Bool(*expected)),
                "{text:?}"
            );
        }
        for (text, expected) in [("1x1", "1x1"), (" 9x9   ", "9x9")] {
            assert_eq!(
                first(ParamType::Raw(r"\dx\d"), text),
                Some(Str(expected.to_string()))
            );
        }
    }

    // FILTER_PARAMS_DATA, invalid values: the call does not match at all.
    #[test]
    fn invalid_values_do_not_match() {
        let rows: &[(ParamType, &[&str])] = &[
            (ParamType::Number, &["x", "x10", "10x", "- 1", ""]),
            (ParamType::PositiveNumber, &["-1", "x", "x10", "10x", ""]),
            (
                ParamType::PositiveNonZeroNumber,
                &["-1", "x", "x10", "10x", "0", ""],
            ),
            (ParamType::NegativeNumber, &["x", "x10", "10x", "- 1", ""]),
            (
                ParamType::DecimalNumber,
                &["x", "x10", "10x", "- 1.1", "", "."],
            ),
            (ParamType::String, &["", ",", ",,,,"]),
            (ParamType::Boolean, &["", "x", "TRUE", "111"]),
            (ParamType::Raw(r"\dx\d"), &["a", ",", "9 x 9"]),
        ];
        for (param, texts) in rows {
            for text in *texts {
                assert_eq!(
                    single(*param).parse_call(&format!("x({text})")),
                    None,
                    "{param:?} {text:?}"
                );
            }
        }
    }

    // test_with_strings_with_commas_sets_correct_values (two String parameters).
    #[test]
    fn quoted_strings_with_commas() {
        let signature = CompiledSignature::compile(&FilterSignature {
            name: "my_string_filter",
            params: &[ParamType::String, ParamType::String],
            required: 2,
        });
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("my_string_filter(a, b)", Some(("a", "b"))),
            ("my_string_filter(a,'b, c')", Some(("a", "b, c"))),
            ("my_string_filter('a,b', c)", Some(("a,b", "c"))),
            ("my_string_filter('ab', c)", Some(("ab", "c"))),
            ("my_string_filter('ab,', c)", Some(("ab,", "c"))),
            ("my_string_filter('ab,', ',c')", Some(("ab,", ",c"))),
            ("my_string_filter('ab, c)", Some(("'ab", "c"))),
            ("my_string_filter('ab, c',d)", Some(("ab, c", "d"))),
            ("my_string_filter('a,b, c)", None),
            ("my_string_filter('a,b, c')", None),
        ];
        for (call, expected) in cases {
            let got = signature.parse_call(call).map(|values| {
                (
                    values[0].as_str().unwrap().to_string(),
                    values[1].as_str().unwrap().to_string(),
                )
            });
            let expected = expected.map(|(a, b)| (a.to_string(), b.to_string()));
            assert_eq!(got, expected, "{call}");
        }
    }

    #[test]
    fn optional_parameters_and_anchoring() {
        let signature = CompiledSignature::compile(&FilterSignature {
            name: "my_optional_filter",
            params: &[ParamType::String, ParamType::String],
            required: 1,
        });
        assert_eq!(
            signature.parse_call("my_optional_filter(aa, bb)"),
            Some(vec![
                ParamValue::Str("aa".into()),
                ParamValue::Str("bb".into())
            ])
        );
        assert_eq!(
            signature.parse_call("my_optional_filter(aa)"),
            Some(vec![ParamValue::Str("aa".into())])
        );
        assert_eq!(signature.parse_call("my_optional_filter()"), None);
        // Anchored at the start only: trailing text after `)` is ignored.
        assert!(signature
            .parse_call("my_optional_filter(aa)trailing")
            .is_some());
        assert!(signature.parse_call(" my_optional_filter(aa)").is_none());

        let mixed = CompiledSignature::compile(&FilterSignature {
            name: "my_filter",
            params: &[ParamType::Number, ParamType::DecimalNumber],
            required: 2,
        });
        assert_eq!(
            mixed.parse_call("my_filter(1, -1.1)"),
            Some(vec![ParamValue::Int(1), ParamValue::Float(-1.1)])
        );
        assert_eq!(mixed.parse_call("my_filter(1, 0a)"), None);
        assert_eq!(mixed.parse_call("my_invalid_filter(x, 1)"), None);
    }

    #[test]
    fn splitting_on_close_paren_colon() {
        let calls = split_calls("my_string_filter(aaaa):my_string_filter(aa:aa)");
        assert_eq!(
            calls,
            vec![
                ("my_string_filter", "my_string_filter(aaaa)".to_string()),
                ("my_string_filter", "my_string_filter(aa:aa)".to_string()),
            ]
        );
        let calls = split_calls("a(1):b():c");
        assert_eq!(
            calls,
            vec![
                ("a", "a(1)".to_string()),
                ("b", "b()".to_string()),
                ("c", "c".to_string())
            ]
        );
        assert_eq!(split_calls(""), vec![("", String::new())]);
    }

    #[test]
    fn huge_integers_saturate() {
        assert_eq!(
            first(ParamType::PositiveNumber, "99999999999999999999999"),
            Some(ParamValue::Int(i64::MAX))
        );
    }
}
