//! The runner: walks a list of [`Step`]s over one [`RenderContext`], skipping the steps that do
//! not apply to the render, recording a tracing span for each step that runs, and abandoning
//! the render once its deadline has passed (checked before the first step and after each one,
//! so a render stops at the next step boundary instead of finishing work nobody will read).

use super::context::RenderContext;
use crate::imaging::ImagingError;

/// One named step of a render.
pub(super) struct Step {
    pub name: &'static str,
    /// Builds the step's span. A function, because a span's name and fields are fixed where
    /// the `tracing` macro expands: [`step!`] writes one per step.
    pub span: fn() -> tracing::Span,
    /// Whether the step has anything to do for this render.
    pub applies: fn(&RenderContext<'_>) -> bool,
    pub run: fn(&mut RenderContext<'_>) -> Result<(), ImagingError>,
}

/// `step!("name", module)` is the step whose work is `module::run` and whose condition is
/// `module::applies`; names after the module are span fields the step fills in with
/// `tracing::Span::current().record(...)`.
macro_rules! step {
    ($name:literal, $module:ident $(, $field:ident)*) => {
        $crate::imaging::pipeline::runner::Step {
            name: $name,
            span: || tracing::info_span!($name $(, $field = tracing::field::Empty)*),
            applies: $module::applies,
            run: $module::run,
        }
    };
}
pub(super) use step;

/// Runs `steps` in order over `context`.
pub(super) fn run(context: &mut RenderContext<'_>, steps: &[Step]) -> Result<(), ImagingError> {
    context.check_deadline()?;
    for step in steps {
        if !(step.applies)(context) {
            tracing::trace!(step = step.name, "step does not apply");
            continue;
        }
        let span = (step.span)();
        let entered = span.enter();
        (step.run)(context)?;
        drop(entered);
        context.check_deadline()?;
        if let Some(between_steps) = context.job.between_steps {
            between_steps.wait(context.job.deadline);
            context.check_deadline()?;
        }
    }
    Ok(())
}

/// The steps of `steps` from the one named `first` up to, not including, the one named
/// `until` (the whole rest without `until`): tests run part of a render and look at the
/// context in between.
#[cfg(test)]
pub(super) fn steps_between<'s>(steps: &'s [Step], first: &str, until: Option<&str>) -> &'s [Step] {
    let position = |name: &str| {
        steps
            .iter()
            .position(|step| step.name == name)
            .unwrap_or_else(|| panic!("no step named {name}"))
    };
    let start = position(first);
    let end = until.map_or(steps.len(), position);
    &steps[start..end]
}

#[cfg(test)]
mod tests {
    use super::super::tests::Parts;
    use super::super::{render, STEPS};
    use crate::imaging::settings::ImagingSettings;
    use crate::imaging::ImagingError;
    use std::time::{Duration, Instant};

    #[test]
    fn step_names_are_unique_and_in_the_documented_order() {
        let names: Vec<&str> = STEPS.iter().map(|step| step.name).collect();
        assert_eq!(
            names,
            [
                "probe",
                "prepare",
                "trim",
                "detect",
                "plan",
                "shrink_on_load",
                "road",
                "decode",
                "crop_resize",
                "orient",
                "flip",
                "filters",
                "moderation_blur",
                "format",
                "meta",
                "encode"
            ]
        );
    }

    /// A render whose deadline has passed stops before its first step, even on bytes that
    /// are not an image (nothing is read).
    #[test]
    fn a_passed_deadline_stops_the_render_before_any_step() {
        let parts = Parts::new("/unsafe/300x200/a.jpg");
        let settings = ImagingSettings::default();
        let mut job = parts.job(&settings);
        job.deadline = Instant::now().checked_sub(Duration::from_millis(1));
        assert!(job.deadline.is_some());
        assert!(matches!(
            render(b"not an image", &job),
            Err(ImagingError::Abandoned)
        ));
        job.deadline = None;
        assert!(matches!(
            render(b"not an image", &job),
            Err(ImagingError::Undecodable(_))
        ));
    }
}
