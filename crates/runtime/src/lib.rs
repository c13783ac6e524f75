//! The process runtime every hookloop binary shares, whatever it talks to: configuration read
//! from the environment ([`config`]), logging and each invocation's log context ([`logging`]),
//! the request-count registry and the business metrics of each invocation, printed as
//! CloudWatch embedded metrics ([`metrics`]), the retry backoff ([`backoff`]) and the
//! OpenTelemetry trace each webhook is ([`telemetry`]), which roots TLS trusts ([`trust`]). No AWS SDK
//! here: the adapters are in `hookloop-aws`, which counts its requests into a
//! [`metrics::Registry`].

pub mod backoff;
pub mod config;
pub mod live;
pub mod logging;
pub mod metrics;
pub mod secret;
pub mod telemetry;
pub mod trust;

pub use backoff::Backoff;
pub use config::{process_env, ConfigError, Env};
pub use live::Live;
pub use logging::InvocationIds;
pub use metrics::{with_request_metrics, Invocation, Publisher, Registry, RequestCounts};
pub use secret::SecretDocument;
pub use telemetry::Telemetry;
