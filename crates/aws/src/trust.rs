//! The roots the AWS clients trust. Every AWS service endpoint of the commercial regions chains
//! to one of Amazon Trust Services' five roots: where [`Roots`] says built-in (in Lambda, by
//! default), the clients trust those, compiled in ([`AMAZON_TRUST_SERVICES`]), not the system's
//! store.

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
pub use hookloop_runtime::trust::Roots;

/// Amazon Root CA 1 to 4 and Starfield Services Root Certificate Authority - G2, PEM.
pub const AMAZON_TRUST_SERVICES: &str = include_str!("amazon-trust-services.pem");

/// The SDK's HTTP client for `roots` in `region` (`AWS_REGION`): Amazon Trust Services' roots for
/// [`Roots::BuiltIn`] in the commercial partition; `None` is the SDK's default (the system's
/// store), also in China, GovCloud, the European Sovereign Cloud and the isolated partitions,
/// whose endpoints are run apart and may chain to authorities of their own.
pub fn sdk_http_client(roots: Roots, region: Option<&str>) -> Option<SharedHttpClient> {
    let commercial = region.is_some_and(|r| {
        !["cn-", "us-gov-", "eusc-"].iter().any(|p| r.starts_with(p)) && !r.contains("-iso")
    });
    match roots {
        Roots::BuiltIn if commercial => {
            Some(https_client_trusting(AMAZON_TRUST_SERVICES.as_bytes()))
        }
        _ => None,
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
    use super::{sdk_http_client, Roots, AMAZON_TRUST_SERVICES};
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    /// The compiled-in PEM is Amazon Trust Services' five roots, each byte for byte as Mozilla's
    /// root program ships it (`webpki-root-certs`): a certificate mistyped, swapped or added
    /// would make the functions trust what AWS never signs with.
    #[test]
    fn the_built_in_roots_are_amazons_five_as_mozilla_ships_them() {
        let ours: Vec<CertificateDer> =
            CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES.as_bytes())
                .collect::<Result<_, _>>()
                .expect("the PEM parses");
        let names = [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ];
        assert_eq!(ours.len(), names.len(), "five certificates");
        let holds = |der: &[u8], name: &str| der.windows(name.len()).any(|w| w == name.as_bytes());
        for (cert, name) in ours.iter().zip(names) {
            assert!(holds(cert, name), "{name}: its subject, in order");
            assert!(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .any(|m| m.as_ref() == cert.as_ref()),
                "{name} is byte for byte one of Mozilla's roots"
            );
        }
    }

    #[test]
    fn amazons_roots_only_in_the_commercial_partition() {
        for region in ["us-east-1", "eu-west-1", "ap-southeast-2", "il-central-1"] {
            assert!(
                sdk_http_client(Roots::BuiltIn, Some(region)).is_some(),
                "{region}"
            );
        }
        for region in [
            "cn-north-1",
            "cn-northwest-1",
            "us-gov-west-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "eusc-de-east-1",
        ] {
            assert!(
                sdk_http_client(Roots::BuiltIn, Some(region)).is_none(),
                "{region}"
            );
        }
        assert!(
            sdk_http_client(Roots::BuiltIn, None).is_none(),
            "no region: the SDK decides"
        );
        assert!(sdk_http_client(Roots::System, Some("us-east-1")).is_none());
    }
}
