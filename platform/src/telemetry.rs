//! Logs and traces: `tracing` with an `RUST_LOG` filter, as text or JSON lines.
//!
//! The subscriber is built as a stack of layers so the OpenTelemetry layer (OTLP export to
//! Jaeger when `OTEL_EXPORTER_OTLP_ENDPOINT` is set) slots in at the one marked place below.

use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogFormat, TelemetryConfig};

/// Installs the global subscriber. Calling it twice (several services in one process, or
/// tests) keeps the first one.
pub fn init(config: &TelemetryConfig) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|error| {
        eprintln!("RUST_LOG={:?} is not a valid filter ({error}); using `info`", config.log_filter);
        EnvFilter::new("info")
    });

    let fmt = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_target(true).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer().json().flatten_event(true).with_current_span(true).boxed(),
    };

    // The OTLP layer goes here, next to `fmt`, when `config.otlp_endpoint` is set: it needs
    // the same filter and must be installed before the first span is created.
    let _ = tracing_subscriber::registry().with(filter).with(fmt).try_init();
}
