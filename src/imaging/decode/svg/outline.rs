//! What usvg and resvg spend on each element's outline, bounded from the XML before usvg
//! converts it: the cubic curves its elliptical arcs become, and the dashes a dash array cuts
//! it into.
//!
//! **Arcs.** usvg (through svgtypes and kurbo) replaces every arc of a path's `d`, and the four
//! corners of a circle, an ellipse or a rounded rectangle, by cubic curves: about
//! `(11.163 r)^(1/6)` of them per full turn for a radius of `r` user units, so a count that is
//! harmless for any real radius becomes millions for an absurd one. svgtypes also queues a path
//! arc's curves and takes them from the front one at a time, so one arc of `n` curves costs `n²`
//! moves: the fuzzer's 1 KB file with an arc starting at x = 8e65 held it past 4 GB, and
//! `<circle r="3e38">` alone is four million curves. Each arc's radius is worked out as the
//! conversion will see it: a path arc's from its end points, grown as SVG grows radii too small
//! to join them; a shape's from its length, with a bound for what `%` and `em` may mean. A file
//! is refused when one arc needs more than [`MAX_CURVES_PER_ARC`] curves (a radius past 10^16),
//! or when its own arcs together need more than [`MAX_CURVES`].
//!
//! **Dashes.** tiny-skia cuts a dashed outline into its dashes before stroking it (usvg once for
//! the stroke's bounding box, resvg again to draw), up to a million per outline: a 70-byte
//! `<path>` a million units long with `stroke-dasharray="1"` takes 68 ms, so a few thousand of
//! them hold a render for minutes, and resvg cannot be stopped part-way. A dash array is
//! inherited and may come from a style sheet, so every outline of a file that names one is
//! counted at the densest array it names (dashes per user unit, values in `%` and `em` at the
//! smallest the file can make them), over a bound on its length (a path's control polygon, a
//! whole turn for an arc). A file whose own outlines take more than [`MAX_DASHES`] is refused.
//!
//! Both are counted in what references copy too ([`super::expansion`]).

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

/// The most dashes tiny-skia cuts one outline into; past it, it strokes the outline undashed.
const MAX_DASHES_PER_OUTLINE: u64 = 1_000_000;

/// The most dashes the outlines of a file's own elements may be cut into together: about 1.4 s
/// of cutting and stroking. A map of a thousand dashed borders takes a few million.
pub(super) const MAX_DASHES: u64 = 10_000_000;

/// What one dash costs while its outline is cut and stroked, as bytes of converted drawing for
/// the reference walk.
pub(super) const DASH_BYTES: u64 = 16;

/// What converting and stroking one element's outline costs.
#[derive(Debug, Default, PartialEq)]
pub(super) struct OutlineCost {
    /// The cubic curves its arcs become.
    pub(super) curves: u64,
    /// The dashes its stroke is cut into.
    pub(super) dashes: u64,
}

/// What one file's lengths in relative units and dash arrays can come to.
pub(super) struct Outlines {
    /// The most a `%` length may be a percentage of: the largest viewport the file can set up.
    percent_base: f64,
    /// The largest font size any element can resolve to, for `em` and `ex`.
    font_size: f64,
    /// The most dashes per user unit of outline any dash array of the file cuts; 0 without one.
    dashes_per_unit: f64,
}

impl Outlines {
    pub(super) fn new(xml: &Document<'_>) -> Self {
        let fonts = font_size_bounds(xml);
        let mut outlines = Self {
            percent_base: 0.0,
            font_size: fonts.largest,
            dashes_per_unit: 0.0,
        };
        // The largest viewport any element names, times every percentage over 100% that a
        // nested viewport may take of the one around it; and the smallest it names.
        let mut largest = 100.0f64;
        let mut smallest = 100.0f64;
        let mut percent_growth = 1.0f64;
        for element in xml.descendants().filter(Node::is_element) {
            if let Some(view_box) = element.attribute("viewBox") {
                let numbers = view_box
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .filter_map(|n| n.parse::<f64>().ok());
                for (index, number) in numbers.enumerate() {
                    largest = largest.max(number.abs());
                    if index >= 2 && number > 0.0 {
                        smallest = smallest.min(number);
                    }
                }
            }
            for name in ["width", "height"] {
                match element.attribute(name).and_then(parse_length) {
                    Some(length) if length.unit == LengthUnit::Percent => {
                        percent_growth *= (length.number.abs() / 100.0).max(1.0);
                    }
                    Some(length) => {
                        let units = outlines.user_units(length);
                        largest = largest.max(units);
                        if units > 0.0 {
                            smallest = smallest.min(units);
                        }
                    }
                    None => {}
                }
            }
        }
        outlines.percent_base = largest * percent_growth;
        // The least a value in relative units can come to, for the densest dash array.
        let relative_floor = fonts.smallest.min(smallest / 100.0);
        let mut densest = 0.0f64;
        let mut take = |value: &str| densest = densest.max(dashes_per_unit(value, relative_floor));
        for node in xml.descendants() {
            if node.is_element() {
                if let Some(value) = node.attribute("stroke-dasharray") {
                    take(value);
                }
                if let Some(style) = node.attribute("style") {
                    declarations(style, &["stroke-dasharray"]).for_each(&mut take);
                }
            } else if let Some(text) = style_sheet_text(&node) {
                declarations(text, &["stroke-dasharray"]).for_each(&mut take);
            }
        }
        outlines.dashes_per_unit = densest;
        outlines
    }

    /// What `element`'s outline costs, or the reason one of its arcs is refused.
    pub(super) fn cost(&self, element: &Node<'_, '_>) -> Result<OutlineCost, ImagingError> {
        let units = |name: &str| {
            element
                .attribute(name)
                .and_then(parse_length)
                .map_or(0.0, |length| self.user_units(length))
        };
        let (curves, length) = match element.tag_name().name() {
            "path" => {
                let data = element.attribute("d").unwrap_or_default();
                let measure = measure_path(data).map_err(refusal)?;
                (measure.curves, measure.length)
            }
            "circle" => {
                let radius = units("r");
                (shape_curves(radius)?, std::f64::consts::TAU * radius)
            }
            "ellipse" => {
                let radius = units("rx").max(units("ry"));
                (shape_curves(radius)?, std::f64::consts::TAU * radius)
            }
            "rect" => {
                let radius = units("rx").max(units("ry"));
                let perimeter = 2.0 * (units("width") + units("height"));
                (shape_curves(radius)?, perimeter)
            }
            "line" => (0, units("x1") + units("x2") + units("y1") + units("y2")),
            "polyline" | "polygon" => {
                let points = element.attribute("points").unwrap_or_default();
                (0, polygon_length(points))
            }
            _ => return Ok(OutlineCost::default()),
        };
        Ok(OutlineCost {
            curves,
            dashes: self.dashes(length),
        })
    }

    /// The dashes an outline of `length` user units may be cut into.
    fn dashes(&self, length: f64) -> u64 {
        if self.dashes_per_unit == 0.0 {
            return 0;
        }
        let dashes = (length * self.dashes_per_unit).ceil();
        if dashes < MAX_DASHES_PER_OUTLINE as f64 {
            dashes as u64
        } else {
            // Past its limit (or not a number) tiny-skia gives up after measuring.
            MAX_DASHES_PER_OUTLINE
        }
    }

    /// The most user units `length` can resolve to.
    fn user_units(&self, length: Length) -> f64 {
        let scale = match length.unit {
            LengthUnit::Em | LengthUnit::Ex => self.font_size,
            LengthUnit::Percent => self.percent_base / 100.0,
            unit => absolute_scale(unit),
        };
        length.number.abs() * scale
    }
}

/// User units per unit of an absolute `unit` (1 for a relative one).
fn absolute_scale(unit: LengthUnit) -> f64 {
    match unit {
        LengthUnit::In => DPI,
        LengthUnit::Cm => DPI / 2.54,
        LengthUnit::Mm => DPI / 25.4,
        LengthUnit::Pt => DPI / 72.0,
        LengthUnit::Pc => DPI / 6.0,
        _ => 1.0,
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

/// The curves of a circle's, an ellipse's or a rounded rectangle's four quarter turns, each
/// split on its own.
fn shape_curves(radius: f64) -> Result<u64, ImagingError> {
    if radius == 0.0 {
        return Ok(0);
    }
    Ok(4 * curves_per_turn(radius).map_err(refusal)?.div_ceil(4))
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

/// The dashes per user unit a `stroke-dasharray` value cuts (0 for none, or for a value usvg
/// ignores: a negative or zero-sum list), its values at the least they can resolve to. An odd
/// list is repeated, as usvg does, which leaves the ratio as it is.
fn dashes_per_unit(value: &str, relative_floor: f64) -> f64 {
    let mut count = 0usize;
    let mut sum = 0.0f64;
    let mut any_positive = false;
    for word in value.split(|c: char| c.is_whitespace() || c == ',') {
        let Some(length) = parse_length(word) else {
            continue;
        };
        if length.number < 0.0 {
            return 0.0;
        }
        let scale = match length.unit {
            LengthUnit::Em | LengthUnit::Ex | LengthUnit::Percent => relative_floor,
            unit => absolute_scale(unit),
        };
        count += 1;
        any_positive |= length.number > 0.0;
        sum += length.number * scale;
    }
    if !any_positive {
        return 0.0;
    }
    // A dash and a gap per pair of values; infinite where the values may come to nothing.
    let per_unit = (count as f64 / 2.0) / sum;
    if per_unit.is_nan() {
        f64::INFINITY
    } else {
        per_unit
    }
}

/// What the path data `data` becomes: its arcs' curves, and a bound on its length.
#[derive(Debug, PartialEq)]
struct PathMeasure {
    curves: u64,
    length: f64,
}

/// Measures path data: each arc counted as a full turn of its radius, once that radius is grown
/// (as SVG and kurbo grow it) to reach between its end points; the length bounded by the
/// control polygon of each curve and a whole turn of each arc. The current point is followed
/// through every command, relative ones included; the data stops at its first error, as usvg's
/// reading of it does. Err is the radius of an arc past [`MAX_CURVES_PER_ARC`].
fn measure_path(data: &str) -> Result<PathMeasure, f64> {
    let mut at = (0.0f64, 0.0f64);
    let mut start = at;
    // The control point a smooth curve reflects: the last cubic's second, the last quadratic's.
    let mut cubic_control = None;
    let mut quadratic_control = None;
    let mut measure = PathMeasure {
        curves: 0,
        length: 0.0,
    };
    let distance = |(x0, y0): (f64, f64), (x1, y1): (f64, f64)| (x1 - x0).hypot(y1 - y0);
    for segment in PathParser::from(data) {
        let Ok(segment) = segment else { break };
        let absolute = |abs: bool, x: f64, y: f64| {
            if abs {
                (x, y)
            } else {
                (at.0 + x, at.1 + y)
            }
        };
        let reflect = |control: Option<(f64, f64)>| {
            control.map_or(at, |(x, y): (f64, f64)| (2.0 * at.0 - x, 2.0 * at.1 - y))
        };
        let (end, polygon, next_cubic, next_quadratic) = match segment {
            PathSegment::MoveTo { abs, x, y } => {
                start = absolute(abs, x, y);
                (start, 0.0, None, None)
            }
            PathSegment::LineTo { abs, x, y } => {
                let end = absolute(abs, x, y);
                (end, distance(at, end), None, None)
            }
            PathSegment::HorizontalLineTo { abs, x } => {
                let end = (absolute(abs, x, 0.0).0, at.1);
                (end, distance(at, end), None, None)
            }
            PathSegment::VerticalLineTo { abs, y } => {
                let end = (at.0, absolute(abs, 0.0, y).1);
                (end, distance(at, end), None, None)
            }
            PathSegment::CurveTo {
                abs,
                x1,
                y1,
                x2,
                y2,
                x,
                y,
            } => {
                let (c1, c2, end) = (
                    absolute(abs, x1, y1),
                    absolute(abs, x2, y2),
                    absolute(abs, x, y),
                );
                let polygon = distance(at, c1) + distance(c1, c2) + distance(c2, end);
                (end, polygon, Some(c2), None)
            }
            PathSegment::SmoothCurveTo { abs, x2, y2, x, y } => {
                let (c1, c2, end) = (
                    reflect(cubic_control),
                    absolute(abs, x2, y2),
                    absolute(abs, x, y),
                );
                let polygon = distance(at, c1) + distance(c1, c2) + distance(c2, end);
                (end, polygon, Some(c2), None)
            }
            PathSegment::Quadratic { abs, x1, y1, x, y } => {
                let (c, end) = (absolute(abs, x1, y1), absolute(abs, x, y));
                (end, distance(at, c) + distance(c, end), None, Some(c))
            }
            PathSegment::SmoothQuadratic { abs, x, y } => {
                let (c, end) = (reflect(quadratic_control), absolute(abs, x, y));
                (end, distance(at, c) + distance(c, end), None, Some(c))
            }
            PathSegment::EllipticalArc {
                abs,
                rx,
                ry,
                x_axis_rotation,
                x,
                y,
                ..
            } => {
                let end = absolute(abs, x, y);
                let radius = joining_radius(at, end, (rx, ry), x_axis_rotation);
                if radius == 0.0 {
                    (end, distance(at, end), None, None)
                } else {
                    measure.curves = measure.curves.saturating_add(curves_per_turn(radius)?);
                    (end, std::f64::consts::TAU * radius, None, None)
                }
            }
            PathSegment::ClosePath { .. } => (start, distance(at, start), None, None),
        };
        measure.length += polygon;
        (at, cubic_control, quadratic_control) = (end, next_cubic, next_quadratic);
    }
    Ok(measure)
}

/// The length of the line through the points of a `points` list, closed.
fn polygon_length(points: &str) -> f64 {
    let mut length = 0.0f64;
    let mut first = None;
    let mut last: Option<(f64, f64)> = None;
    for point in svgtypes::PointsParser::from(points) {
        if let Some((x, y)) = last {
            length += (point.0 - x).hypot(point.1 - y);
        }
        first.get_or_insert(point);
        last = Some(point);
    }
    if let (Some((x0, y0)), Some((x1, y1))) = (first, last) {
        length += (x1 - x0).hypot(y1 - y0);
    }
    length
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

/// The largest and the smallest font size an element can resolve to.
struct FontSizes {
    largest: f64,
    smallest: f64,
}

/// The font sizes elements of `xml` can resolve to: the largest is the largest absolute size
/// the file names (or usvg's default) times every relative size over one it names (`em`, `ex`,
/// `%`, `larger`), since they may nest; the smallest likewise. Sizes are read from `font-size`
/// and `font` attributes and from the same declarations in `style` attributes and `<style>`
/// sheets.
fn font_size_bounds(xml: &Document<'_>) -> FontSizes {
    let (mut largest, mut smallest) = (DEFAULT_FONT_SIZE, DEFAULT_FONT_SIZE);
    let (mut growth, mut shrink) = (1.0f64, 1.0f64);
    let mut take = |value: &str| {
        for word in value.split(|c: char| c.is_whitespace() || c == '/' || c == ',') {
            if matches!(word, "larger" | "large" | "x-large" | "xx-large") {
                growth *= 1.2f64.powi(3);
                continue;
            }
            if matches!(word, "smaller" | "small" | "x-small" | "xx-small") {
                shrink /= 1.2f64.powi(3);
                continue;
            }
            let Some(length) = parse_length(word) else {
                continue;
            };
            let number = length.number.abs();
            let factor = match length.unit {
                LengthUnit::Em | LengthUnit::Ex => number,
                LengthUnit::Percent => number / 100.0,
                unit => {
                    let size = number * absolute_scale(unit);
                    largest = largest.max(size);
                    smallest = smallest.min(size);
                    continue;
                }
            };
            growth *= factor.max(1.0);
            shrink *= factor.min(1.0);
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
                declarations(style, &["font-size", "font"]).for_each(&mut take);
            }
        } else if let Some(text) = style_sheet_text(&node) {
            declarations(text, &["font-size", "font"]).for_each(&mut take);
        }
    }
    FontSizes {
        largest: largest * growth,
        smallest: smallest * shrink,
    }
}

/// The text of a `<style>` sheet, for a text node inside one.
fn style_sheet_text<'a>(node: &Node<'a, '_>) -> Option<&'a str> {
    let parent = node.parent()?;
    (parent.tag_name().name() == "style")
        .then(|| node.text())
        .flatten()
}

/// The values of the declarations named `names` in CSS `text` (a `style` attribute or a sheet:
/// selectors and braces are skipped over).
fn declarations<'t>(text: &'t str, names: &'t [&str]) -> impl Iterator<Item = &'t str> {
    text.split([';', '{', '}']).filter_map(move |declaration| {
        let (name, value) = declaration.split_once(':')?;
        names.contains(&name.trim()).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost_of(svg: &str) -> Result<OutlineCost, String> {
        let xml = Document::parse(svg).unwrap();
        let outlines = Outlines::new(&xml);
        let mut total = OutlineCost::default();
        for element in xml.descendants().filter(Node::is_element) {
            let cost = outlines.cost(&element).map_err(|e| e.to_string())?;
            total.curves += cost.curves;
            total.dashes += cost.dashes;
        }
        Ok(total)
    }

    fn curves_of(svg: &str) -> Result<u64, String> {
        cost_of(svg).map(|cost| cost.curves)
    }

    fn dashes_of(svg: &str) -> u64 {
        cost_of(svg).unwrap().dashes
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

    #[test]
    fn dashes_are_counted_at_the_densest_dash_array_over_each_outline() {
        // Without a dash array nothing is cut.
        assert_eq!(
            dashes_of(&svg(r#"<path d="M0 0 H1000000" stroke="red"/>"#)),
            0
        );
        // "1" is a dash of 1 and a gap of 1: half a dash per unit of a million-unit line.
        assert_eq!(
            dashes_of(&svg(r#"<path d="M0 0 H1000000" stroke-dasharray="1"/>"#)),
            500_000
        );
        // Relative commands, curves by their control polygon, arcs by a whole turn, shapes.
        assert_eq!(
            dashes_of(&svg(
                r#"<g stroke-dasharray="5 5"><path d="M0 0 h100 v100 C100 200 0 200 0 100 z"/></g>"#
            )),
            (100 + 100 + 100 + 100 + 100 + 100) / 10
        );
        assert_eq!(
            dashes_of(&svg(
                r#"<path d="M0 0 A50 50 0 0 0 100 0" stroke-dasharray="1 1"/>"#
            )),
            (std::f64::consts::TAU * 50.0 / 2.0).ceil() as u64
        );
        assert_eq!(
            dashes_of(&svg(
                r#"<rect width="30" height="20" stroke-dasharray="2 3"/>"#
            )),
            20
        );
        // The densest array of the file counts for every outline: one from a style sheet here.
        let sheet = svg(
            r#"<style>.a { stroke-dasharray: 0.5 0.5 }</style><line x2="100" stroke-dasharray="10"/><polyline points="0,0 50,0" class="a"/>"#,
        );
        assert_eq!(dashes_of(&sheet), 100 + 100);
        // Past tiny-skia's own limit an outline is stroked undashed: a million at most.
        assert_eq!(
            dashes_of(&svg(r#"<path d="M0 0 H1e300" stroke-dasharray="1"/>"#)),
            MAX_DASHES_PER_OUTLINE
        );
        // A negative or zero-sum array is ignored, as usvg ignores it.
        assert_eq!(
            dashes_of(&svg(r#"<path d="M0 0 H1000" stroke-dasharray="1 -1"/>"#)),
            0
        );
        assert_eq!(
            dashes_of(&svg(r#"<path d="M0 0 H1000" stroke-dasharray="0 0"/>"#)),
            0
        );
    }
}
