//! Python's arithmetic as Thumbor's code meets it: `round` (half to even), `round(x, 2)`, float
//! floor division, and numbers that stay `int` or `float` (meta JSON prints `100` and `100.0`
//! differently).

/// Python's `round(x)` on a float: half to even.
pub(super) fn py_round(x: f64) -> f64 {
    x.round_ties_even()
}

/// Python's `round(x, 2)`: the exact binary value rounded to 2 decimals, ties to even.
/// Rust's fixed-precision formatting is exact in the same way, so go through it.
pub(super) fn py_round_2(x: f64) -> f64 {
    format!("{x:.2}").parse().unwrap_or(x)
}

/// Python's float floor division `a // b` (computed through `fmod` as CPython does, which
/// differs from `floor(a / b)` when the quotient rounds up to an integer).
pub(super) fn py_floor_div(a: f64, b: f64) -> f64 {
    let modulo = a % b;
    let mut div = (a - modulo) / b;
    if modulo != 0.0 && ((b < 0.0) != (modulo < 0.0)) {
        div -= 1.0;
    }
    if div == 0.0 {
        return 0.0_f64.copysign(a / b);
    }
    let floor = div.floor();
    if div - floor > 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

/// A number as Thumbor's Python code holds it. Meta JSON prints `100` and `100.0` differently,
/// so the distinction is kept wherever a value ends up in the meta operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PyNumber {
    Int(i64),
    Float(f64),
}

impl PyNumber {
    pub fn value(self) -> f64 {
        match self {
            PyNumber::Int(i) => i as f64,
            PyNumber::Float(f) => f,
        }
    }

    /// Python's `int(x)`: truncation toward zero.
    pub fn trunc(self) -> i64 {
        match self {
            PyNumber::Int(i) => i,
            PyNumber::Float(f) => f.trunc() as i64,
        }
    }

    /// `self - other` with Python's int/float promotion.
    pub fn minus(self, other: PyNumber) -> PyNumber {
        match (self, other) {
            (PyNumber::Int(a), PyNumber::Int(b)) => PyNumber::Int(a - b),
            (a, b) => PyNumber::Float(a.value() - b.value()),
        }
    }

    /// Python's `max(self, other)`: the first argument unless the second is strictly greater.
    pub(super) fn py_max(self, other: PyNumber) -> PyNumber {
        if other.value() > self.value() {
            other
        } else {
            self
        }
    }

    /// Python's `min(self, other)`: the first argument unless the second is strictly smaller.
    pub(super) fn py_min(self, other: PyNumber) -> PyNumber {
        if other.value() < self.value() {
            other
        } else {
            self
        }
    }
}
