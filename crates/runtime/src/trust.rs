//! Which certificate authorities a client trusts: the roots compiled into the binary for what it
//! talks to, or the system's store.
//!
//! A Lambda function's clients talk to known services: AWS's endpoints, whose certificates all
//! chain to Amazon Trust Services' five roots in the commercial regions (`hookloop_aws::trust`,
//! which keeps the system's store in the other partitions), and CleverTap's public API
//! (Mozilla's roots, `hookloop_clevertap::client`). Reading and parsing the system's store
//! instead (some 150 roots, on Debian twice: the bundle and the directory) cost each client about
//! 5 ms of the function's cold start (BENCHMARKS.md, section 3). So in Lambda they use the
//! compiled-in roots.
//!
//! The system's store stays in use where that choice could refuse a good endpoint:
//! - outside Lambda (the CLI on a laptop, perhaps behind a proxy that re-signs TLS); `cargo lambda
//!   watch` and `sam local` set `AWS_LAMBDA_RUNTIME_API` and so count as Lambda;
//! - when `SSL_CERT_FILE` or `SSL_CERT_DIR` names a store (the operator's word wins);
//! - when `AWS_ENDPOINT_URL` (or a service's `AWS_ENDPOINT_URL_<SERVICE>`) is `https`: an emulator
//!   or a proxy with a certificate of its own.

/// The roots the clients of this process trust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Roots {
    /// The roots compiled in for each client's service (in Lambda, nothing said otherwise).
    BuiltIn,
    /// The system's store (the clients' libraries' default).
    System,
}

impl Roots {
    /// The choice for this process's environment.
    pub fn from_env() -> Self {
        Self::choose(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
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
            Roots::BuiltIn
        } else {
            Roots::System
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Roots::{self, BuiltIn, System};

    fn choose(vars: &[(&str, &str)]) -> Roots {
        Roots::choose(vars.iter().copied())
    }

    #[test]
    fn a_lambda_function_trusts_its_built_in_roots_unless_told_otherwise() {
        let lambda = ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001");
        assert_eq!(choose(&[lambda]), BuiltIn);
        assert_eq!(
            choose(&[lambda, ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")]),
            BuiltIn,
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
            BuiltIn,
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
