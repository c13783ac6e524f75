//! A trace context in and out of text: the W3C `traceparent` (HTTP header, SQS message
//! attribute) and X-Ray's trace header (Lambda's context, SQS's `AWSTraceHeader` system
//! attribute). Reading never fails loudly: anything malformed is no context (`None`), and the
//! caller starts a new trace.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

use super::ids::{from_hex32, from_xray, to_xray};

/// `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`.
pub fn traceparent(cx: &SpanContext) -> String {
    format!(
        "00-{:032x}-{:016x}-{:02x}",
        cx.trace_id(),
        cx.span_id(),
        cx.trace_flags()
    )
}

/// A W3C `traceparent` as a remote parent. Version `00` exactly as specified; a later version
/// is read by its first four fields, as the specification asks. `None` for anything malformed,
/// an all-zero id, or version `ff`.
pub fn parse_traceparent(s: &str) -> Option<SpanContext> {
    let parts: Vec<&str> = s.trim().split('-').collect();
    let [version, trace, span, flags, rest @ ..] = parts.as_slice() else {
        return None;
    };
    let known = version.len() == 2 && version.bytes().all(|b| b.is_ascii_hexdigit());
    if !known || version.eq_ignore_ascii_case("ff") || (*version == "00" && !rest.is_empty()) {
        return None;
    }
    let trace_id = from_hex32(trace)?;
    let span_id = span_id(span)?;
    if flags.len() != 2 {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(remote(
        trace_id,
        span_id,
        TraceFlags::new(flags & TraceFlags::SAMPLED.to_u8()),
    ))
}

/// `Root=1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy;Parent=<16 hex>;Sampled=<0|1>`.
pub fn xray_header(cx: &SpanContext) -> String {
    format!(
        "Root={};Parent={:016x};Sampled={}",
        to_xray(cx.trace_id()),
        cx.span_id(),
        u8::from(cx.is_sampled())
    )
}

/// An X-Ray trace header as a remote parent: its `Root` and `Parent` (any order, other keys
/// ignored); `Sampled=0` is not sampled, `1`, `?` or none is. `None` without a valid `Root` and
/// `Parent`.
pub fn parse_xray_header(s: &str) -> Option<SpanContext> {
    let (mut root, mut parent, mut sampled) = (None, None, true);
    for part in s.split(';') {
        let (key, value) = part.trim().split_once('=')?;
        match key {
            "Root" => root = Some(from_xray(value)?),
            "Parent" => parent = Some(span_id(value)?),
            "Sampled" => sampled = value != "0",
            _ => {}
        }
    }
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Some(remote(root?, parent?, flags))
}

fn span_id(s: &str) -> Option<SpanId> {
    if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = SpanId::from_hex(s).ok()?;
    (id != SpanId::INVALID).then_some(id)
}

fn remote(trace_id: TraceId, span_id: SpanId, flags: TraceFlags) -> SpanContext {
    SpanContext::new(trace_id, span_id, flags, true, TraceState::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "5759e988bd862e3fe1be46a994272793";

    #[test]
    fn a_traceparent_goes_out_and_comes_back_the_same() {
        let cx = parse_traceparent(&format!("00-{TRACE}-53995c3f42cd8ad8-01")).unwrap();
        assert_eq!(format!("{:032x}", cx.trace_id()), TRACE);
        assert_eq!(format!("{:016x}", cx.span_id()), "53995c3f42cd8ad8");
        assert!(cx.is_sampled() && cx.is_remote());
        assert_eq!(traceparent(&cx), format!("00-{TRACE}-53995c3f42cd8ad8-01"));
        let unsampled = parse_traceparent(&format!("00-{TRACE}-53995c3f42cd8ad8-00")).unwrap();
        assert!(!unsampled.is_sampled());
    }

    #[test]
    fn an_xray_header_is_the_same_context_in_the_other_form() {
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let cx = parse_xray_header(header).unwrap();
        assert_eq!(format!("{:032x}", cx.trace_id()), TRACE);
        assert_eq!(xray_header(&cx), header);
        let from_w3c = parse_traceparent(&traceparent(&cx)).unwrap();
        assert_eq!(xray_header(&from_w3c), header, "W3C and back to X-Ray");
        let reordered =
            parse_xray_header("Sampled=0;Parent=53995c3f42cd8ad8;Lineage=a:1;Root=1-5759e988-bd862e3fe1be46a994272793")
                .unwrap();
        assert_eq!(reordered.trace_id(), cx.trace_id());
        assert!(!reordered.is_sampled());
    }

    #[test]
    fn malformed_contexts_are_none_never_a_panic() {
        for bad in [
            "",
            "garbage",
            "00-",
            &format!("00-{TRACE}-53995c3f42cd8ad8"),
            &format!("00-{TRACE}-0000000000000000-01"),
            "00-00000000000000000000000000000000-53995c3f42cd8ad8-01",
            &format!("ff-{TRACE}-53995c3f42cd8ad8-01"),
            &format!("00-{TRACE}-53995c3f42cd8ad8-01-extra"),
            &format!("00-{TRACE}-53995c3f42cd8ad8-1"),
            &format!("00-{TRACE}x-53995c3f42cd8ad8-01"),
            &format!("zz-{TRACE}-53995c3f42cd8ad8-01"),
            "00-é759e988bd862e3fe1be46a99427279-53995c3f42cd8ad8-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
        assert!(
            parse_traceparent(&format!("01-{TRACE}-53995c3f42cd8ad8-01-future")).is_some(),
            "a later version is read by its first fields"
        );
        for bad in [
            "",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=5759e988bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent",
            "Root=1-é759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8",
        ] {
            assert!(parse_xray_header(bad).is_none(), "{bad}");
        }
    }
}
