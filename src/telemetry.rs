//! Optional OpenTelemetry trace export of the `tracing` spans (the `otel` cargo feature): when
//! the standard OTEL_* variables name an OTLP endpoint, a `tracing-opentelemetry` layer sends
//! the request span and its stages (load, queue, render, decode, transform, filters, encode…)
//! over OTLP/HTTP protobuf through a batch exporter. Builds without the feature only say so.

use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The layer [`trace_export_layer`] adds next to the log and metrics layers.
pub type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync + 'static>;

/// The OTLP endpoint the environment names, if any (the traces-only variable first, as the SDK
/// reads it), unless `OTEL_SDK_DISABLED=true`.
pub fn configured_endpoint() -> Option<String> {
    let disabled = std::env::var("OTEL_SDK_DISABLED")
        .is_ok_and(|value| value.trim().eq_ignore_ascii_case("true"));
    if disabled {
        return None;
    }
    [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .filter_map(|name| std::env::var(name).ok())
    .find(|value| !value.trim().is_empty())
}

/// Keeps the tracer provider alive; dropping it flushes the spans still queued and stops the
/// exporter (bounded wait), so the last requests before a shutdown are not lost.
#[derive(Default)]
pub struct TraceExport {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    /// What to say once logging is up (the layer is built before it is).
    startup_note: Option<StartupNote>,
}

enum StartupNote {
    #[cfg(feature = "otel")]
    Exporting(String),
    #[cfg(feature = "otel")]
    ExporterFailed(String),
    #[cfg(not(feature = "otel"))]
    NotBuiltIn(String),
}

/// How long the exit may wait for the last batch to reach the collector.
#[cfg(feature = "otel")]
const FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl TraceExport {
    /// One log line about trace export, if the environment asked for it.
    pub fn log_startup(&self) {
        match &self.startup_note {
            #[cfg(feature = "otel")]
            Some(StartupNote::Exporting(endpoint)) => {
                tracing::info!(%endpoint, "OpenTelemetry: exporting traces (OTLP/HTTP)");
            }
            // Tracing is an aid, not a dependency: serve without it rather than not at all.
            #[cfg(feature = "otel")]
            Some(StartupNote::ExporterFailed(why)) => {
                tracing::error!("OpenTelemetry: cannot export traces: {why}");
            }
            #[cfg(not(feature = "otel"))]
            Some(StartupNote::NotBuiltIn(endpoint)) => tracing::warn!(
                %endpoint,
                "OpenTelemetry: an OTLP endpoint is set but this build has no OTel support \
                 (cargo build --features otel); traces are not exported"
            ),
            None => {}
        }
    }

    /// Sends what is queued and stops the exporter. Called once serving is over (after the
    /// SIGTERM drain): spans end when their request does, so they are all queued by then.
    pub fn shutdown(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown_with_timeout(FLUSH_TIMEOUT) {
                tracing::warn!(error = %e, "OpenTelemetry: the last spans may not have been sent");
            }
        }
    }
}

impl Drop for TraceExport {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The trace export layer when the build has the `otel` feature and the environment names an
/// endpoint; `None` otherwise. Must run before the tokio runtime starts (the exporter's
/// blocking HTTP client owns a runtime of its own).
#[cfg(feature = "otel")]
pub fn trace_export_layer<S>() -> (Option<BoxedLayer<S>>, TraceExport)
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::filter::{LevelFilter, Targets};

    let Some(endpoint) = configured_endpoint() else {
        return (None, TraceExport::default());
    };
    // Endpoint, OTEL_EXPORTER_OTLP_{TRACES_}{HEADERS,TIMEOUT,COMPRESSION} are read by the
    // builder; the batch processor reads OTEL_BSP_*, the provider OTEL_TRACES_SAMPLER{_ARG}
    // and the span limits.
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => exporter,
        Err(e) => {
            let note = StartupNote::ExporterFailed(format!("{endpoint}: {e}"));
            return (
                None,
                TraceExport {
                    provider: None,
                    startup_note: Some(note),
                },
            );
        }
    };
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build();
    let tracer = provider.tracer("pictor");
    // Only pictor's own spans: the AWS SDK's and the exporter's HTTP client's would drown the
    // walk of a request (and the exporter's could feed on themselves).
    let only_pictor = Targets::new().with_target("pictor", LevelFilter::INFO);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(only_pictor);
    (
        Some(Box::new(layer)),
        TraceExport {
            provider: Some(provider),
            startup_note: Some(StartupNote::Exporting(endpoint)),
        },
    )
}

/// Without the `otel` feature: no layer, and one line if the environment expected one.
#[cfg(not(feature = "otel"))]
pub fn trace_export_layer<S>() -> (Option<BoxedLayer<S>>, TraceExport)
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let export = TraceExport {
        startup_note: configured_endpoint().map(StartupNote::NotBuiltIn),
    };
    (None, export)
}

/// The resource the SDK detects from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, with
/// `service.name=pictor` instead of the SDK's `unknown_service` when neither names one.
#[cfg(feature = "otel")]
fn resource() -> opentelemetry_sdk::Resource {
    use opentelemetry::{Key, KeyValue};
    use opentelemetry_sdk::Resource;
    let detected = Resource::builder().build();
    let named = detected
        .get(&Key::from_static_str("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    let versioned = detected
        .get(&Key::from_static_str("service.version"))
        .is_some();
    let mut builder = Resource::builder();
    if !named {
        builder = builder.with_service_name("pictor");
    }
    if !versioned {
        builder =
            builder.with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    }
    builder.build()
}

/// Makes a W3C `traceparent` (and `tracestate`) sent by the client the parent of `span`, so
/// pictor's spans join the caller's trace. Nothing happens without the header, without the
/// feature, or when export is off.
pub fn adopt_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    #[cfg(feature = "otel")]
    {
        use opentelemetry::propagation::{Extractor, TextMapPropagator};
        use tracing_opentelemetry::OpenTelemetrySpanExt;

        struct HeaderText<'a>(&'a http::HeaderMap);
        impl Extractor for HeaderText<'_> {
            fn get(&self, key: &str) -> Option<&str> {
                self.0.get(key).and_then(|value| value.to_str().ok())
            }
            fn keys(&self) -> Vec<&str> {
                self.0.keys().map(http::HeaderName::as_str).collect()
            }
        }

        if !headers.contains_key("traceparent") {
            return;
        }
        let parent = opentelemetry_sdk::propagation::TraceContextPropagator::new()
            .extract(&HeaderText(headers));
        // Fails only when no export layer is installed: then there is no trace to join.
        let _ = span.set_parent(parent);
    }
    #[cfg(not(feature = "otel"))]
    let _ = (span, headers);
}
