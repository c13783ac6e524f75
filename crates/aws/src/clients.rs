//! The one place AWS clients are built. Configuration is loaded once per process and shared.
//!
//! `AWS_ENDPOINT_URL` points every client at an emulator (moto, LocalStack), and
//! `AWS_ENDPOINT_URL_<SERVICE>` one service (as in every AWS SDK); S3 then uses path-style
//! addressing, which emulators need (`S3_FORCE_PATH_STYLE=true` forces it anywhere).
//! Every client counts the requests it transmits ([`crate::requests`]) in the [`Registry`] it is
//! built with, which [`AwsClients::requests`] hands on (to the CleverTap client, to the request
//! metrics of the function these clients serve).

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use hookloop_runtime::metrics::Registry;

use crate::requests::CountRequests;
use crate::trust::{sdk_http_client, Roots};

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub kinesis: aws_sdk_kinesis::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Where every one of these clients counts its requests.
    pub requests: Registry,
}

/// Per-attempt and connect timeouts. The SDK's standard retry mode (3 attempts, exponential
/// backoff with jitter) retries transient errors inside one call; what still fails is classified
/// by [`crate::AwsError::retryable`].
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(10))
        .build()
}

/// Loads the SDK configuration from the environment (credentials chain, region,
/// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`, the roots TLS trusts: [`crate::trust`]).
pub async fn load_sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts());
    let region = std::env::var("AWS_REGION").ok();
    let roots = Roots::from_env();
    match sdk_http_client(roots, region.as_deref()) {
        Some(client) => {
            tracing::debug!(
                ?roots,
                ?region,
                "AWS clients trust Amazon Trust Services' roots"
            );
            loader = loader.http_client(client);
        }
        None => tracing::debug!(?roots, ?region, "AWS clients trust the system's roots"),
    }
    endpoint_as_set(loader.load().await)
}

/// `sdk`, loaded with the environment's endpoints: `AWS_ENDPOINT_URL` (and a service's own
/// `AWS_ENDPOINT_URL_<SERVICE>`, which wins for that service) are read by the loader itself, as
/// every AWS SDK reads them; setting `AWS_ENDPOINT_URL` on the loader would make it a
/// programmatic setting, which the services' own variables cannot override. But the loader drops
/// an `AWS_ENDPOINT_URL` that is not a URL (`127.0.0.1:4566`), or that
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` ignores, with a warning, and the calls would then go to
/// AWS itself: an `AWS_ENDPOINT_URL` that is set is then set on the configuration as given, so
/// the calls fail instead (as `hookloop init` and its `--yes-real-aws` guard expect).
pub fn endpoint_as_set(sdk: SdkConfig) -> SdkConfig {
    endpoint_or(sdk, std::env::var("AWS_ENDPOINT_URL").ok())
}

/// [`endpoint_as_set`] for the variable's value `set`.
fn endpoint_or(sdk: SdkConfig, set: Option<String>) -> SdkConfig {
    match set {
        Some(url) if !url.trim().is_empty() && sdk.endpoint_url().is_none() => {
            sdk.into_builder().endpoint_url(url).build()
        }
        _ => sdk,
    }
}

/// Timeouts for the ingest path: the sender (CleverTap) gives up after 3 s, so a call that
/// cannot finish in `deadline` is abandoned and the webhook answered 503 while the sender is
/// still listening.
fn deadline_timeouts(deadline: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(deadline / 2)
        .operation_timeout(deadline)
        .build()
}

impl AwsClients {
    /// Clients counting their requests in `requests`.
    pub async fn from_env(requests: Registry) -> Self {
        Self::from_sdk_config(&load_sdk_config().await, requests)
    }

    pub fn from_sdk_config(cfg: &SdkConfig, requests: Registry) -> Self {
        Self::build(cfg, None, requests)
    }

    /// Clients whose every call is bounded by `deadline` (the ingest's).
    pub fn with_deadline(cfg: &SdkConfig, deadline: Duration, requests: Registry) -> Self {
        Self::build(cfg, Some(deadline_timeouts(deadline)), requests)
    }

    fn build(cfg: &SdkConfig, timeouts: Option<TimeoutConfig>, requests: Registry) -> Self {
        let mut cfg = cfg.clone();
        if let Some(t) = timeouts {
            cfg = cfg.into_builder().timeout_config(t).build();
        }
        let cfg = &cfg;
        let path_style = cfg.endpoint_url().is_some()
            || std::env::var("AWS_ENDPOINT_URL_S3").is_ok_and(|v| !v.trim().is_empty())
            || std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true");
        let count = |service| CountRequests {
            service,
            registry: requests.clone(),
        };
        let s3_cfg = aws_sdk_s3::config::Builder::from(cfg)
            .force_path_style(path_style)
            .interceptor(count("s3"))
            .build();
        AwsClients {
            s3: aws_sdk_s3::Client::from_conf(s3_cfg),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(cfg)
                    .interceptor(count("sqs"))
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(cfg)
                    .interceptor(count("dynamodb"))
                    .build(),
            ),
            kinesis: aws_sdk_kinesis::Client::from_conf(
                aws_sdk_kinesis::config::Builder::from(cfg)
                    .interceptor(count("kinesis"))
                    .build(),
            ),
            secrets: secrets_client(cfg, &requests),
            requests,
        }
    }
}

/// A Secrets Manager client alone: the functions read their secret before the rest of their
/// configuration (which the secret completes) decides how the other clients are built.
pub fn secrets_client(cfg: &SdkConfig, requests: &Registry) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(cfg)
            .interceptor(CountRequests {
                service: "secretsmanager",
                registry: requests.clone(),
            })
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use aws_config::SdkConfig;

    use super::endpoint_or;

    fn with_endpoint(url: Option<&str>) -> SdkConfig {
        let mut b = SdkConfig::builder();
        b.set_endpoint_url(url.map(str::to_owned));
        b.build()
    }

    #[test]
    fn an_endpoint_the_loader_dropped_is_set_as_given_so_calls_fail_rather_than_reach_aws() {
        // The loader drops what is not a URL (and what AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
        // ignores); the calls must not go to AWS instead.
        let sdk = endpoint_or(with_endpoint(None), Some("127.0.0.1:4566".into()));
        assert_eq!(sdk.endpoint_url(), Some("127.0.0.1:4566"));
    }

    #[test]
    fn an_endpoint_the_loader_took_is_left_as_it_is() {
        // Loaded from the environment it stays an environment setting, which a service's own
        // AWS_ENDPOINT_URL_<SERVICE> overrides.
        // (A value other than the variable's shows it is left, not set again.)
        let loaded = with_endpoint(Some("http://127.0.0.1:4566"));
        let sdk = endpoint_or(loaded, Some("http://127.0.0.1:5000".into()));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:4566"));
        for unset in [None, Some(String::new()), Some("  ".into())] {
            assert_eq!(endpoint_or(with_endpoint(None), unset).endpoint_url(), None);
        }
    }
}
