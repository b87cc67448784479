//! Thumbor's size arithmetic, pure and exact: manual crop clamping, target dimensions,
//! focal points from alignment, auto-crop, fit-in variants — with Python's rounding rules
//! (half-to-even `round`, floor division, `int()` truncation) so output sizes match Thumbor.
