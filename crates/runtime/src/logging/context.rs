//! What every log line of an invocation carries: the span each invocation runs in, with the
//! Lambda request id, the trace id and whether it is the process's cold start. The JSON format
//! ([`super::flat_json`]) puts these fields on each line of the invocation, beside the fields of
//! the spans inside it (the processor's per-message span adds `message_id`).

use rand::Rng;
use tracing::{field, info_span, Span};

/// Who an invocation is: its request id (Lambda's, or one made up by the local runner) and the
/// trace id (the X-Ray trace's root id, when there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationIds {
    pub request_id: String,
    pub trace_id: Option<String>,
}

impl InvocationIds {
    /// A Lambda invocation's ids, from its context: the request id and the X-Ray trace header.
    pub fn lambda(request_id: &str, xray_header: Option<&str>) -> Self {
        InvocationIds {
            request_id: request_id.to_owned(),
            trace_id: xray_header.and_then(xray_trace_id).map(str::to_owned),
        }
    }

    /// Ids made up for an invocation outside Lambda (`hookloop serve`, tests), in the forms
    /// Lambda and X-Ray use, so local logs read and filter like deployed ones.
    pub fn local() -> Self {
        let (request_id, trace_id) = local_ids();
        InvocationIds {
            request_id,
            trace_id: Some(trace_id),
        }
    }

    /// The span the invocation runs in: `request_id`, `trace_id` (when there is one) and
    /// `cold_start`, on every line logged inside it.
    pub fn span(&self, cold_start: bool) -> Span {
        let span = info_span!(
            "invocation",
            request_id = self.request_id.as_str(),
            trace_id = field::Empty,
            cold_start
        );
        if let Some(trace_id) = &self.trace_id {
            span.record("trace_id", trace_id.as_str());
        }
        span
    }
}

/// The trace id in an X-Ray trace header (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=
/// 53995c3f42cd8ad8;Sampled=1`, as Lambda's context and `_X_AMZN_TRACE_ID` carry it): its
/// `Root`, the id X-Ray and CloudWatch search by. A header without a `Root` is no trace.
pub fn xray_trace_id(header: &str) -> Option<&str> {
    header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root="))
        .filter(|root| !root.is_empty())
}

/// A request id (a UUID, as Lambda's) and an X-Ray trace id (`1-<time>-<96 random bits>`).
fn local_ids() -> (String, String) {
    let mut rng = rand::rng();
    let r: u128 = rng.random();
    let request_id = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (r >> 96) as u32,
        (r >> 80) as u16,
        (r >> 68) as u16 & 0x0fff,
        ((r >> 52) as u16 & 0x3fff) | 0x8000,
        r as u64 & 0xffff_ffff_ffff,
    );
    let secs = time::OffsetDateTime::now_utc().unix_timestamp() as u32;
    let t: u128 = rng.random();
    let trace_id = format!("1-{secs:08x}-{:024x}", t & ((1u128 << 96) - 1));
    (request_id, trace_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_id_is_the_root_of_the_xray_header() {
        assert_eq!(
            xray_trace_id(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            ),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(
            xray_trace_id("Parent=1;Root=1-a-b"),
            Some("1-a-b"),
            "wherever it stands"
        );
        assert_eq!(xray_trace_id("Parent=53995c3f42cd8ad8;Sampled=0"), None);
        assert_eq!(xray_trace_id(""), None);
    }

    #[test]
    fn a_lambda_invocation_is_known_by_its_request_id_and_trace_root() {
        let ids = InvocationIds::lambda(
            "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
            Some("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"),
        );
        assert_eq!(ids.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
        assert_eq!(
            ids.trace_id.as_deref(),
            Some("1-5bef4de7-ad49b0e87f6ef6c87fc2e700")
        );
        assert_eq!(InvocationIds::lambda("r", None).trace_id, None);
    }

    #[test]
    fn local_ids_look_like_lambdas_and_xrays_and_differ_each_time() {
        let (request_id, trace_id) = local_ids();
        let groups: Vec<usize> = request_id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{request_id}");
        let parts: Vec<&str> = trace_id.split('-').collect();
        assert_eq!(parts.len(), 3, "{trace_id}");
        assert_eq!((parts[0], parts[1].len(), parts[2].len()), ("1", 8, 24));
        assert!(trace_id[2..]
            .chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_ne!(local_ids(), local_ids());
    }
}
