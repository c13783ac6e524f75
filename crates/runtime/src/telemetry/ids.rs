//! One trace id, two spellings. OpenTelemetry writes a trace id as 32 hex digits
//! (`5759e988bd862e3fe1be46a994272793`); X-Ray writes the same 128 bits as
//! `1-5759e988-bd862e3fe1be46a994272793` (version, the first 32 bits, the other 96). Log lines
//! carry the X-Ray form as `trace_id` (what the X-Ray console, Lambda's context and
//! `AWSTraceHeader` show); OTLP backends show the 32 hex digits.
//!
//! X-Ray reads the first 32 bits as the trace's start in epoch seconds and refuses traces whose
//! time is not recent, so new trace ids are made that way ([`XrayIds`]): through the ADOT
//! collector they reach X-Ray unchanged.

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::IdGenerator;
use rand::Rng;

/// `1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy`, the X-Ray form of `id`.
pub fn to_xray(id: TraceId) -> String {
    let hex = format!("{id:032x}");
    format!("1-{}-{}", &hex[..8], &hex[8..])
}

/// The trace id of an X-Ray trace id (`1-` + 8 hex digits + `-` + 24 hex digits); `None` for
/// anything else, and for the invalid all-zero id.
pub fn from_xray(s: &str) -> Option<TraceId> {
    let rest = s.strip_prefix("1-")?;
    let (time, random) = rest.split_once('-')?;
    if time.len() != 8 || random.len() != 24 {
        return None;
    }
    from_hex32(&format!("{time}{random}"))
}

/// The trace id of 32 hex digits (lower or upper case); `None` otherwise or when all zero.
pub fn from_hex32(s: &str) -> Option<TraceId> {
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = TraceId::from_hex(s).ok()?;
    (id != TraceId::INVALID).then_some(id)
}

/// Trace ids whose first 32 bits are the current time in epoch seconds (X-Ray's rule), the rest
/// random; span ids random.
#[derive(Debug, Default, Clone, Copy)]
pub struct XrayIds;

impl IdGenerator for XrayIds {
    fn new_trace_id(&self) -> TraceId {
        let secs = time::OffsetDateTime::now_utc().unix_timestamp() as u32;
        let random: u128 = rand::rng().random::<u128>() & ((1u128 << 96) - 1);
        TraceId::from(((secs as u128) << 96) | random.max(1))
    }

    fn new_span_id(&self) -> SpanId {
        SpanId::from(rand::rng().random::<u64>().max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_forms_are_one_id_both_ways() {
        let otel = from_hex32("5759e988bd862e3fe1be46a994272793").unwrap();
        assert_eq!(to_xray(otel), "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(from_xray("1-5759e988-bd862e3fe1be46a994272793"), Some(otel));
        assert_eq!(format!("{otel:032x}"), "5759e988bd862e3fe1be46a994272793");
        let small = TraceId::from(1u128);
        assert_eq!(to_xray(small), "1-00000000-000000000000000000000001");
        assert_eq!(from_xray(&to_xray(small)), Some(small));
    }

    #[test]
    fn malformed_ids_are_none() {
        for bad in [
            "",
            "1-5759e988",
            "2-5759e988-bd862e3fe1be46a994272793",
            "1-5759e98-bd862e3fe1be46a9942727930",
            "1-5759e988-bd862e3fe1be46a99427279z",
            "1-00000000-000000000000000000000000",
            "1-5759e988-bd862e3fe1be46a994272793-",
        ] {
            assert_eq!(from_xray(bad), None, "{bad}");
        }
        assert_eq!(from_hex32("00000000000000000000000000000000"), None);
        assert_eq!(from_hex32("+759e988bd862e3fe1be46a99427279"), None);
    }

    #[test]
    fn new_trace_ids_start_with_the_time_as_xray_wants() {
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as u128;
        let a = XrayIds.new_trace_id();
        let secs = u128::from_be_bytes(a.to_bytes()) >> 96;
        assert!(secs.abs_diff(now) <= 2, "{a}");
        assert_ne!(a, XrayIds.new_trace_id());
        assert_ne!(XrayIds.new_span_id(), SpanId::INVALID);
    }
}
