//! Step `meta`: with `meta` in the URL the answer is Thumbor's JSON description of the render
//! (§5.7) instead of the image: the source, every operation in Thumbor's order (orientation
//! flips and trim first, then the transformer's, then the PNG → JPEG conversion), the target
//! size and the focal points, byte for byte as Python's `json.dumps` writes them. With imagor's
//! `blurhash(x,y)` / `thumbhash()` filters the document also carries their placeholders of
//! the rendered image, as imagor's top-level `blurhash` and `thumbhash` strings.

use super::context::{filled, Pixels, RenderContext};
use super::meta_json::Json;
use super::RenderOutput;
use crate::imaging::filters::FocalPoint;
use crate::imaging::geometry::{self, MetaOperation, PyNumber, Size};
use crate::imaging::{placeholder, ImagingError};

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    context.job.request.meta
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    let setup = context.setup()?;
    let plan = context.plan()?;
    let converted_png = filled(&context.output_format, "format")?.converted_png;
    let Pixels::Rgb(image) = &context.pixels else {
        return Err(ImagingError::StepOrder("decode"));
    };
    let mut operations = setup.leading_operations.clone();
    operations.extend(plan.operations.iter().copied());
    if converted_png {
        operations.push(MetaOperation::AutoPngToJpgConversion);
    }
    let size = Size::new(image.width, image.height);
    let target = geometry::meta_target(&operations, size);

    let mut thumbor = vec![
        (
            "source",
            Json::Object(vec![
                ("url", Json::Str(context.job.request.image_url())),
                ("width", Json::Int(i64::from(size.width))),
                ("height", Json::Int(i64::from(size.height))),
                ("frameCount", Json::Int(image.frames.len() as i64)),
            ]),
        ),
        (
            "operations",
            Json::Array(operations.iter().map(operation_json).collect()),
        ),
        (
            "target",
            Json::Object(vec![
                ("width", number_json(target.0)),
                ("height", number_json(target.1)),
            ]),
        ),
    ];
    if !plan.focal_points.is_empty() {
        thumbor.push((
            "focal_points",
            Json::Array(plan.focal_points.iter().map(focal_point_json).collect()),
        ));
    }
    let mut document = vec![("thumbor", Json::Object(thumbor))];
    // pictor's presets: which applied and the options they expanded to.
    if let Some(preset) = &context.job.request.preset {
        document.push((
            "preset",
            Json::Object(vec![
                ("name", Json::Str(preset.names.join(":"))),
                ("options", Json::Str(preset.options.clone())),
            ]),
        ));
    }
    // imagor's placeholders, beside Thumbor's object (its names and layout).
    if let Some((x, y)) = context.overrides.blurhash {
        document.push(("blurhash", Json::Str(placeholder::blurhash(image, x, y)?)));
    }
    if context.overrides.thumbhash {
        document.push(("thumbhash", Json::Str(placeholder::thumbhash(image)?)));
    }
    let document = Json::Object(document);
    context.output = Some(RenderOutput {
        body: document.dumps().into_bytes(),
        content_type: "application/json",
        vary_accept: false,
        max_age: context.overrides.max_age,
    });
    Ok(())
}

fn operation_json(operation: &MetaOperation) -> Json {
    let kind = |name: &str| ("type", Json::Str(name.to_string()));
    match *operation {
        MetaOperation::Crop {
            left,
            top,
            right,
            bottom,
        } => Json::Object(vec![
            kind("crop"),
            ("left", number_json(left)),
            ("top", number_json(top)),
            ("right", number_json(right)),
            ("bottom", number_json(bottom)),
        ]),
        MetaOperation::Resize { width, height } => Json::Object(vec![
            kind("resize"),
            ("width", number_json(width)),
            ("height", number_json(height)),
        ]),
        MetaOperation::FlipHorizontally => Json::Object(vec![kind("flip_horizontally")]),
        MetaOperation::FlipVertically => Json::Object(vec![kind("flip_vertically")]),
        MetaOperation::AutoPngToJpgConversion => {
            Json::Object(vec![kind("auto_png_to_jpg_conversion")])
        }
    }
}

/// Thumbor's `FocalPoint.to_dict()`: integer coordinates and sizes; the weight is the float
/// 1.0 for alignment points and an integer (w*h) for the others.
fn focal_point_json(point: &FocalPoint) -> Json {
    let weight = if point.origin == "alignment" || point.weight.fract() != 0.0 {
        Json::Float(point.weight)
    } else {
        Json::Int(point.weight as i64)
    };
    Json::Object(vec![
        ("x", Json::Int(point.x.trunc() as i64)),
        ("y", Json::Int(point.y.trunc() as i64)),
        ("z", weight),
        ("height", Json::Int(point.height.trunc() as i64)),
        ("width", Json::Int(point.width.trunc() as i64)),
        ("origin", Json::Str(point.origin.to_string())),
    ])
}

fn number_json(number: PyNumber) -> Json {
    match number {
        PyNumber::Int(i) => Json::Int(i),
        PyNumber::Float(f) => Json::Float(f),
    }
}
