//! Step `probe`: format, size and orientation from the header alone, and originals over
//! MAX_PIXELS refused before a single pixel is allocated (Thumbor: PIL's decompression-bomb
//! check, a 400). Skipped when the server already probed the header to admit the render.

use super::context::RenderContext;
use crate::imaging::decode::{self, Probe};
use crate::imaging::settings::ImagingSettings;
use crate::imaging::ImagingError;

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    context.header.is_none()
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    context.header = Some(read_header(context.source, context.job.settings)?);
    Ok(())
}

/// Reads the header of `source` and refuses it over MAX_PIXELS.
fn read_header(source: &[u8], settings: &ImagingSettings) -> Result<Probe, ImagingError> {
    let header = decode::probe(source)?;
    let pixels = u64::from(header.width) * u64::from(header.height);
    if pixels > settings.max_pixels {
        return Err(ImagingError::TooLarge(format!(
            "source is {}x{}, over MAX_PIXELS {}",
            header.width, header.height, settings.max_pixels
        )));
    }
    Ok(header)
}

/// The `probe` step on its own, for callers that probe before rendering (the server's
/// admission, the memory estimate), inside a `probe` span as in a render.
pub fn probe_header(source: &[u8], settings: &ImagingSettings) -> Result<Probe, ImagingError> {
    let _span = tracing::info_span!("probe").entered();
    read_header(source, settings)
}
