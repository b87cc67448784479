//! Step `prepare`: the request as the transformer will see it, and what is known of the
//! original before decoding ([`GeometrySetup`](super::geometry_setup::GeometrySetup)).

use super::context::RenderContext;
use super::geometry_setup::geometry_setup;
use crate::imaging::ImagingError;

pub(super) fn applies(_: &RenderContext<'_>) -> bool {
    true
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    context.setup = Some(geometry_setup(context.header()?, context.job));
    Ok(())
}
