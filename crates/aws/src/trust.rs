//! Which certificate authorities the AWS clients trust.
//!
//! In a Lambda function the clients talk only to AWS's own endpoints, and every AWS service
//! endpoint's certificate chains to one of Amazon Trust Services' five roots. Reading and parsing
//! the system's store instead (some 150 roots, on Debian twice: the bundle and the directory) was
//! about 5 ms of the functions' 8 ms cold start (`make bench`), before the first event. So in
//! Lambda the clients trust those five roots, compiled in ([`AMAZON_TRUST_SERVICES`]).
//!
//! The system's store stays in use where that choice could refuse a good endpoint:
//! - outside Lambda (the CLI on a laptop, perhaps behind a proxy that re-signs TLS);
//! - when `SSL_CERT_FILE` or `SSL_CERT_DIR` names a store (the operator's word wins);
//! - when `AWS_ENDPOINT_URL` (or a service's `AWS_ENDPOINT_URL_<SERVICE>`) is `https`: an emulator
//!   or a proxy with a certificate of its own.

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Amazon Root CA 1 to 4 and Starfield Services Root Certificate Authority - G2, PEM.
pub const AMAZON_TRUST_SERVICES: &str = include_str!("amazon-trust-services.pem");

/// The roots the AWS clients of this process trust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Roots {
    /// Amazon Trust Services' roots only (in Lambda, nothing said otherwise).
    Amazon,
    /// The system's store (the SDK's default).
    System,
}

impl Roots {
    /// The choice for this process's environment.
    pub fn from_env() -> Self {
        Self::choose(std::env::vars())
    }

    /// The choice for the environment `vars` (name, value).
    pub fn choose<K: AsRef<str>, V: AsRef<str>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        let (mut in_lambda, mut own_store, mut tls_endpoint) = (false, false, false);
        for (name, value) in vars {
            let (name, value) = (name.as_ref(), value.as_ref().trim());
            if value.is_empty() {
                continue;
            }
            match name {
                "AWS_LAMBDA_RUNTIME_API" => in_lambda = true,
                "SSL_CERT_FILE" | "SSL_CERT_DIR" => own_store = true,
                _ if name.starts_with("AWS_ENDPOINT_URL") => {
                    tls_endpoint |= value
                        .get(..6)
                        .is_some_and(|s| s.eq_ignore_ascii_case("https:"));
                }
                _ => {}
            }
        }
        if in_lambda && !own_store && !tls_endpoint {
            Roots::Amazon
        } else {
            Roots::System
        }
    }

    /// The HTTP client that trusts these roots; `None` is the SDK's default (the system's store).
    pub fn http_client(self) -> Option<SharedHttpClient> {
        match self {
            Roots::System => None,
            Roots::Amazon => Some(https_client_trusting(AMAZON_TRUST_SERVICES.as_bytes())),
        }
    }
}

/// The SDK's own HTTPS client (rustls with aws-lc, as its default), trusting only the
/// certificates in `pem`. The SDK parses them when it first connects and panics on a bad one:
/// `pem` is a constant of this crate, checked by its tests.
pub fn https_client_trusting(pem: &[u8]) -> SharedHttpClient {
    let store = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(pem.to_vec());
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(store).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Building a context only moves its parts (this SDK version never fails it); if one ever
        // did, the SDK's default roots are still a working client.
        Err(e) => {
            tracing::warn!(error = %e, "TLS context refused; the system's roots are used");
            builder.build_https()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Roots::{self, Amazon, System};

    fn choose(vars: &[(&str, &str)]) -> Roots {
        Roots::choose(vars.iter().copied())
    }

    #[test]
    fn a_lambda_function_trusts_amazons_roots_unless_told_otherwise() {
        let lambda = ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001");
        assert_eq!(choose(&[lambda]), Amazon);
        assert_eq!(
            choose(&[lambda, ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")]),
            Amazon,
            "a plain-HTTP emulator needs no roots"
        );
        assert_eq!(choose(&[lambda, ("SSL_CERT_FILE", "/etc/ca.pem")]), System);
        assert_eq!(choose(&[lambda, ("SSL_CERT_DIR", "/etc/certs")]), System);
        assert_eq!(
            choose(&[
                lambda,
                ("AWS_ENDPOINT_URL", "HTTPS://localhost.localstack.cloud")
            ]),
            System
        );
        assert_eq!(
            choose(&[
                lambda,
                ("AWS_ENDPOINT_URL_S3", " https://s3.proxy.internal")
            ]),
            System,
            "a service's own endpoint counts too"
        );
        assert_eq!(
            choose(&[lambda, ("SSL_CERT_FILE", "")]),
            Amazon,
            "an empty variable says nothing"
        );
    }

    #[test]
    fn outside_lambda_the_system_store_is_used() {
        assert_eq!(choose(&[]), System);
        assert_eq!(choose(&[("AWS_REGION", "us-east-1")]), System);
        assert_eq!(choose(&[("AWS_LAMBDA_RUNTIME_API", "")]), System);
    }
}
