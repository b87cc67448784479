//! How many cubic curves usvg turns a file's elliptical arcs into, bounded from the XML before
//! usvg converts them.
//!
//! usvg (through svgtypes and kurbo) replaces every arc of a path's `d`, and the four corners of
//! a circle, an ellipse or a rounded rectangle, by cubic curves: about `(11.163 r)^(1/6)` of them
//! per full turn for a radius of `r` user units, so a curve count that is harmless for any real
//! radius becomes millions for an absurd one. svgtypes also queues a path arc's curves and takes
//! them from the front one at a time, so one arc of `n` curves costs `n²` moves: the fuzzer's
//! 1 KB file with an arc starting at x = 8e65 held it past 4 GB, and `<circle r="3e38">` alone
//! is four million curves (98 MB). Here each arc's radius is worked out as the conversion will
//! see it: a path arc's from its end points, grown as SVG grows radii too small to join them; a
//! shape's from its length, with a bound for what `%` and `em` may mean. A file is refused when
//! one arc needs more than [`MAX_CURVES_PER_ARC`] curves (a radius past 10^16), or when its own
//! arcs together need more than [`MAX_CURVES`]; what references copy is counted with the rest of
//! the file's expansion.

use super::undecodable;
use crate::imaging::ImagingError;
use resvg::usvg::roxmltree::{Document, Node};
use svgtypes::{Length, LengthUnit, PathParser, PathSegment};

/// The most curves one arc may become. A radius of 10^9 user units takes 48 per turn; this
/// allows radii up to about 10^16.
pub(super) const MAX_CURVES_PER_ARC: u64 = 1000;

/// The most curves the arcs of a file's own elements may become together: 24 MB of path data.
/// A map of ten thousand circles takes fifty thousand.
pub(super) const MAX_CURVES: u64 = 1_000_000;

/// What one curve costs usvg's converted path: three points of two `f32` and a verb, rounded up.
pub(super) const CURVE_BYTES: u64 = 32;

/// kurbo draws an arc with a radius this small or smaller as a straight line.
const STRAIGHT_RADIUS: f64 = 1e-5;

/// usvg's pixels per inch (its default, which pictor keeps).
const DPI: f64 = 96.0;

/// usvg's font size where the file sets none.
const DEFAULT_FONT_SIZE: f64 = 12.0;

/// The bounds one file gives to lengths in relative units.
pub(super) struct Arcs {
    /// The most a `%` radius may be a percentage of: the largest viewport the file can set up.
    percent_base: f64,
    /// The largest font size any element can resolve to, for `em` and `ex`.
    font_size: f64,
}

impl Arcs {
    pub(super) fn new(xml: &Document<'_>) -> Self {
        let font_size = font_size_bound(xml);
        let mut bounds = Self {
            percent_base: 0.0,
            font_size,
        };
        // The largest viewport any element names, times every percentage over 100% that a
        // nested viewport may take of the one around it.
        let mut largest = 100.0f64;
        let mut percent_growth = 1.0f64;
        for element in xml.descendants().filter(Node::is_element) {
            if let Some(view_box) = element.attribute("viewBox") {
                for number in view_box
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .filter_map(|n| n.parse::<f64>().ok())
                {
                    largest = largest.max(number.abs());
                }
            }
            for name in ["width", "height"] {
                match element.attribute(name).and_then(parse_length) {
                    Some(length) if length.unit == LengthUnit::Percent => {
                        percent_growth *= (length.number.abs() / 100.0).max(1.0);
                    }
                    Some(length) => largest = largest.max(bounds.user_units(length)),
                    None => {}
                }
            }
        }
        bounds.percent_base = largest * percent_growth;
        bounds
    }

    /// The curves `element`'s arcs become, or the reason one of them is refused.
    pub(super) fn curves(&self, element: &Node<'_, '_>) -> Result<u64, ImagingError> {
        let radii: &[&str] = match element.tag_name().name() {
            "path" => {
                return element
                    .attribute("d")
                    .map_or(Ok(0), |data| path_curves(data).map_err(refusal))
            }
            "circle" => &["r"],
            "ellipse" | "rect" => &["rx", "ry"],
            _ => return Ok(0),
        };
        let radius = radii
            .iter()
            .filter_map(|name| element.attribute(*name).and_then(parse_length))
            .map(|length| self.user_units(length))
            .fold(0.0, f64::max);
        if radius == 0.0 {
            return Ok(0);
        }
        // Four quarter turns, each split on its own.
        let quarter = curves_per_turn(radius).map_err(refusal)?.div_ceil(4);
        Ok(4 * quarter)
    }

    /// The most user units `length` can resolve to.
    fn user_units(&self, length: Length) -> f64 {
        let scale = match length.unit {
            LengthUnit::None | LengthUnit::Px => 1.0,
            LengthUnit::In => DPI,
            LengthUnit::Cm => DPI / 2.54,
            LengthUnit::Mm => DPI / 25.4,
            LengthUnit::Pt => DPI / 72.0,
            LengthUnit::Pc => DPI / 6.0,
            LengthUnit::Em | LengthUnit::Ex => self.font_size,
            LengthUnit::Percent => self.percent_base / 100.0,
        };
        length.number.abs() * scale
    }
}

fn parse_length(text: &str) -> Option<Length> {
    text.trim().parse::<Length>().ok()
}

fn refusal(radius: f64) -> ImagingError {
    undecodable(format!(
        "an arc of radius {radius:.3e} would become more than {MAX_CURVES_PER_ARC} curves"
    ))
}

/// The curves kurbo splits a full turn of radius `radius` into (at least four), or the radius
/// itself when that is more than [`MAX_CURVES_PER_ARC`] (or not a number).
fn curves_per_turn(radius: f64) -> Result<u64, f64> {
    let curves = (11.163 * radius).powf(1.0 / 6.0).max(4.0).ceil();
    if curves <= MAX_CURVES_PER_ARC as f64 {
        Ok(curves as u64)
    } else {
        Err(radius)
    }
}

/// The curves the arcs of path data `data` become: each arc counted as a full turn of its
/// radius, once that radius is grown (as SVG and kurbo grow it) to reach between its end
/// points. The current point is followed through every command, relative ones included; the
/// data stops at its first error, as usvg's reading of it does.
fn path_curves(data: &str) -> Result<u64, f64> {
    let (mut x, mut y) = (0.0f64, 0.0f64);
    let (mut start_x, mut start_y) = (0.0f64, 0.0f64);
    let mut curves = 0u64;
    for segment in PathParser::from(data) {
        let Ok(segment) = segment else { break };
        let origin = |abs: bool, (x0, y0): (f64, f64)| if abs { (0.0, 0.0) } else { (x0, y0) };
        let (end_x, end_y) = match segment {
            PathSegment::MoveTo { abs, x: tx, y: ty } => {
                let (ox, oy) = origin(abs, (x, y));
                (start_x, start_y) = (ox + tx, oy + ty);
                (start_x, start_y)
            }
            PathSegment::LineTo { abs, x: tx, y: ty }
            | PathSegment::SmoothQuadratic { abs, x: tx, y: ty }
            | PathSegment::Quadratic {
                abs, x: tx, y: ty, ..
            }
            | PathSegment::CurveTo {
                abs, x: tx, y: ty, ..
            }
            | PathSegment::SmoothCurveTo {
                abs, x: tx, y: ty, ..
            } => {
                let (ox, oy) = origin(abs, (x, y));
                (ox + tx, oy + ty)
            }
            PathSegment::HorizontalLineTo { abs, x: tx } => (origin(abs, (x, y)).0 + tx, y),
            PathSegment::VerticalLineTo { abs, y: ty } => (x, origin(abs, (x, y)).1 + ty),
            PathSegment::ClosePath { .. } => (start_x, start_y),
            PathSegment::EllipticalArc {
                abs,
                rx,
                ry,
                x_axis_rotation,
                x: tx,
                y: ty,
                ..
            } => {
                let (ox, oy) = origin(abs, (x, y));
                let end = (ox + tx, oy + ty);
                let radius = joining_radius((x, y), end, (rx, ry), x_axis_rotation);
                if radius != 0.0 {
                    curves = curves.saturating_add(curves_per_turn(radius)?);
                }
                end
            }
        };
        (x, y) = (end_x, end_y);
    }
    Ok(curves)
}

/// The larger radius of the arc from `from` to `to` once radii too small to join the two
/// points are grown in proportion until they do (SVG's correction of out-of-range radii); 0
/// for an arc kurbo draws as a straight line (a radius of 10^-5 or less, or the same two
/// points). Infinite where a number has overflowed, which the caller refuses.
fn joining_radius(from: (f64, f64), to: (f64, f64), (rx, ry): (f64, f64), degrees: f64) -> f64 {
    let (rx, ry) = (rx.abs(), ry.abs());
    if ![from.0, from.1, to.0, to.1, rx, ry, degrees]
        .iter()
        .all(|v| v.is_finite())
    {
        return f64::INFINITY;
    }
    if rx <= STRAIGHT_RADIUS || ry <= STRAIGHT_RADIUS || from == to {
        return 0.0;
    }
    let (sin, cos) = degrees.to_radians().sin_cos();
    let half_dx = (from.0 - to.0) / 2.0;
    let half_dy = (from.1 - to.1) / 2.0;
    let along = cos * half_dx + sin * half_dy;
    let across = -sin * half_dx + cos * half_dy;
    let lambda = (along / rx).powi(2) + (across / ry).powi(2);
    let grow = if lambda > 1.0 { lambda.sqrt() } else { 1.0 };
    let radius = rx.max(ry) * grow;
    if radius.is_nan() {
        f64::INFINITY
    } else {
        radius
    }
}

/// The largest font size any element of `xml` can resolve to: the largest absolute size the
/// file names (or usvg's default), times every relative size it names (`em`, `ex`, `%`,
/// `larger`), since they may nest. Sizes are read from `font-size` and `font` attributes and
/// from the same declarations in `style` attributes and `<style>` sheets.
fn font_size_bound(xml: &Document<'_>) -> f64 {
    let mut absolute = DEFAULT_FONT_SIZE;
    let mut relative = 1.0f64;
    let mut take = |value: &str| {
        for word in value.split(|c: char| c.is_whitespace() || c == '/' || c == ',') {
            if matches!(word, "larger" | "large" | "x-large" | "xx-large") {
                relative *= 1.2f64.powi(3);
                continue;
            }
            let Some(length) = parse_length(word) else {
                continue;
            };
            let number = length.number.abs();
            match length.unit {
                LengthUnit::Em | LengthUnit::Ex => relative *= number.max(1.0),
                LengthUnit::Percent => relative *= (number / 100.0).max(1.0),
                LengthUnit::None | LengthUnit::Px => absolute = absolute.max(number),
                _ => absolute = absolute.max(number * DPI),
            }
        }
    };
    for node in xml.descendants() {
        if node.is_element() {
            for name in ["font-size", "font"] {
                if let Some(value) = node.attribute(name) {
                    take(value);
                }
            }
            if let Some(style) = node.attribute("style") {
                font_declarations(style).for_each(&mut take);
            }
        } else if let Some(text) = node.text() {
            if node
                .parent()
                .is_some_and(|p| p.tag_name().name() == "style")
            {
                font_declarations(text).for_each(&mut take);
            }
        }
    }
    absolute * relative
}

/// The values of the `font-size` and `font` declarations in CSS `text` (a `style` attribute or
/// a sheet: selectors and braces are skipped over).
fn font_declarations(text: &str) -> impl Iterator<Item = &str> {
    text.split([';', '{', '}']).filter_map(|declaration| {
        let (name, value) = declaration.split_once(':')?;
        matches!(name.trim(), "font-size" | "font").then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curves_of(svg: &str) -> Result<u64, String> {
        let xml = Document::parse(svg).unwrap();
        let arcs = Arcs::new(&xml);
        xml.descendants()
            .filter(Node::is_element)
            .try_fold(0u64, |sum, element| {
                Ok(sum + arcs.curves(&element).map_err(|e| e.to_string())?)
            })
    }

    fn svg(body: &str) -> String {
        format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">{body}</svg>"#)
    }

    #[test]
    fn ordinary_arcs_take_a_few_curves() {
        // A circle, a rounded rectangle, and a path of two half circles: 4 curves per turn.
        assert_eq!(curves_of(&svg(r#"<circle r="40"/>"#)), Ok(4));
        assert_eq!(
            curves_of(&svg(r#"<rect width="50" height="20" rx="5"/>"#)),
            Ok(4)
        );
        assert_eq!(
            curves_of(&svg(
                r#"<path d="M10 50 a40 40 0 0 1 80 0 A40 40 0 0 1 10 50"/>"#
            )),
            Ok(8)
        );
        // A radius of 10^9 takes 48 per turn: 12 per quarter.
        assert_eq!(curves_of(&svg(r#"<circle r="1e9"/>"#)), Ok(48));
        // No arcs, or arcs drawn as lines: a zero or tiny radius, the same two points.
        assert_eq!(
            curves_of(&svg(
                r#"<path d="M0 0 L10 10 A0 5 0 0 0 20 20 A1e-30 1 0 1 0 1e20 0 A5 5 0 0 0 1e20 0"/>"#
            )),
            Ok(0)
        );
    }

    #[test]
    fn huge_radii_are_refused() {
        for body in [
            // The fuzzer's: an arc from x = 8e65, whose radius grows to reach it.
            r#"<path d="M 888888888888888888888888888888888888888888888888888888888888888880,-256 A 256 256 0 1 0 256,0"/>"#,
            // A small radius across a long chord grows just as far.
            r#"<path d="M0 0 A1e-4 1 0 1 0 1e20 0"/>"#,
            // Reached through relative commands.
            r#"<path d="M0 0 h1e20 v5 a1 1 0 0 0 -1e20 0"/>"#,
            // Relative steps that add up past f64 (a number past f64 ends the data instead).
            r#"<path d="M1e308 0 h1e308 a1 1 0 0 0 -1 1"/>"#,
            r#"<circle r="3e38"/>"#,
            r#"<ellipse rx="1" ry="1e20"/>"#,
            r#"<rect width="1e30" height="1e30" rx="1e19in"/>"#,
        ] {
            match curves_of(&svg(body)) {
                Err(refused) => assert!(refused.contains("curves"), "{body}: {refused}"),
                Ok(curves) => panic!("{body}: {curves} curves"),
            }
        }
    }

    #[test]
    fn relative_radii_are_bounded_by_what_the_file_can_make_them() {
        // 50% of a viewport the file sets to 10^20: refused; of a 100-wide one, drawn.
        let huge_viewport = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1e20 1e20"><circle r="50%"/></svg>"#;
        assert!(curves_of(huge_viewport).is_err());
        assert_eq!(curves_of(&svg(r#"<circle r="50%"/>"#)), Ok(4));
        // 1em under nested font sizes of 10^10em, set in a sheet and a style attribute.
        let nested_em = svg(
            r#"<style>g { font-size: 1e10em }</style><g><g style="font-size:1e10em"><circle r="1em"/></g></g>"#,
        );
        assert!(curves_of(&nested_em).is_err());
        assert_eq!(
            curves_of(&svg(r#"<circle r="2em" font-size="16px"/>"#)),
            Ok(4)
        );
    }
}
