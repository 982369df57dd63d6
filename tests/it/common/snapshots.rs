//! Snapshots of measured numbers that hold on every CPU. A training run's floats depend on the
//! kernels the CPU picks (AVX-512 alone or with AMX round differently), so a snapshot keeps two
//! significant digits, calls a nonzero value under 1e-6 what it is (float rounding: K4's declared
//! rounding gap), and takes a float within one unit of its second digit of the stored one as
//! that one (the same value rounded on the other side of a digit). A move beyond that, a changed
//! integer or word still shows in review.
use serde_json::Value;

/// Below this a nonzero gap or value is float rounding (K4's `rounding_gap`), whose digits
/// differ between CPUs.
pub const ROUNDING_LEVEL: f64 = 1e-6;

/// A piece of text: a number as written, or the words between numbers.
#[derive(Debug, PartialEq)]
enum Token {
    Number(String),
    Words(String),
}

/// Splits `text` into numbers (digits with a point, exponent or leading minus) and the rest.
fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut num = String::new();
    let mut words = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
        let exp = (c == 'e' || c == '-')
            && !num.is_empty()
            && (next_digit || chars.get(i + 1) == Some(&'-'));
        let point = c == '.' && !num.is_empty() && next_digit;
        if c.is_ascii_digit() || point || exp {
            if !words.is_empty() {
                out.push(Token::Words(std::mem::take(&mut words)));
            }
            num.push(c);
        } else {
            if !num.is_empty() {
                out.push(Token::Number(std::mem::take(&mut num)));
            }
            words.push(c);
        }
    }
    if !num.is_empty() {
        out.push(Token::Number(num));
    }
    if !words.is_empty() {
        out.push(Token::Words(words));
    }
    out
}

/// Every float in a text to 2 significant digits, a nonzero one under 1e-6 as "<1e-6".
pub fn round_numbers(text: &str) -> String {
    tokens(text)
        .into_iter()
        .map(|t| match t {
            Token::Number(n) if n.contains('.') || n.contains('e') => match n.parse::<f64>() {
                Ok(x) if x != 0.0 && x.abs() < ROUNDING_LEVEL => "<1e-6".to_string(),
                Ok(x) => format!("{}", super::sig(x, 2)),
                Err(_) => n,
            },
            Token::Number(n) | Token::Words(n) => n,
        })
        .collect()
}

/// A gap for a snapshot: 0 (exactly symmetric, on every CPU), "rounding level", or one digit.
pub fn gap(x: f64) -> Value {
    if x != 0.0 && x.abs() < ROUNDING_LEVEL {
        Value::from("rounding level")
    } else {
        Value::from(super::sig(x, 1))
    }
}

/// Two floats that a 2-digit rounding may have put on either side of a digit: at most one unit
/// of the second significant digit apart.
pub fn same_float(a: f64, b: f64) -> bool {
    let big = a.abs().max(b.abs());
    if a == b || big == 0.0 {
        return a == b;
    }
    let unit = 10f64.powi(big.log10().floor() as i32 - 1);
    (a - b).abs() <= unit * (1.0 + 1e-9)
}

fn same_number_text(a: &str, b: &str) -> bool {
    let is_float = |s: &str| s.contains('.') || s.contains('e');
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) if is_float(a) && is_float(b) => same_float(x, y),
        _ => a == b,
    }
}

fn same_text(a: &str, b: &str) -> bool {
    let (ta, tb) = (tokens(a), tokens(b));
    ta.len() == tb.len()
        && ta.iter().zip(&tb).all(|(x, y)| match (x, y) {
            (Token::Number(x), Token::Number(y)) => same_number_text(x, y),
            _ => x == y,
        })
}

/// `new` with every float (alone or in a text) that is the same as the stored one, by
/// `same_float`, replaced by the stored one; everything else as it is.
pub fn settle(stored: &Value, new: Value) -> Value {
    match (stored, new) {
        (Value::Number(s), Value::Number(n)) if s.is_f64() || n.is_f64() => {
            match (s.as_f64(), n.as_f64()) {
                (Some(a), Some(b)) if same_float(a, b) => Value::Number(s.clone()),
                _ => Value::Number(n),
            }
        }
        (Value::String(s), Value::String(n)) if same_text(s, &n) => Value::String(s.clone()),
        (Value::Array(s), Value::Array(n)) if s.len() == n.len() => {
            Value::Array(s.iter().zip(n).map(|(s, n)| settle(s, n)).collect())
        }
        (Value::Object(s), Value::Object(n)) => Value::Object(
            n.into_iter()
                .map(|(k, v)| {
                    let v = match s.get(&k) {
                        Some(stored) => settle(stored, v),
                        None => v,
                    };
                    (k, v)
                })
                .collect(),
        ),
        (_, n) => n,
    }
}

/// `value`, settled against the committed snapshot `name` (insta's file: a header between
/// `---` lines, then the JSON), if there is one.
pub fn settled(name: &str, value: Value) -> Value {
    let path = super::root().join("snapshots").join(format!("{name}.snap"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return value;
    };
    let Some(body) = text.splitn(3, "---\n").nth(2) else {
        return value;
    };
    match serde_json::from_str::<Value>(body) {
        Ok(stored) => settle(&stored, value),
        Err(_) => value,
    }
}
