//! The optional ADOT collector: with `OtelCollectorLayerArn` set, both functions get the layer
//! and export to it over OTLP; left empty (the default), neither has a layer or an endpoint, so
//! no span leaves a function and nothing is billed for them.

use serde_json::{json, Value};

use crate::template::{props, r#ref, resources_using, template};

const FUNCTIONS: [&str; 2] = ["IngestFunction", "ProcessorFunction"];

/// `Fn::If` on `condition`: (when true, when false).
fn if_on<'a>(v: &'a Value, condition: &str) -> (&'a Value, &'a Value) {
    let branches = v["Fn::If"]
        .as_array()
        .unwrap_or_else(|| panic!("not an Fn::If: {v}"));
    assert_eq!(branches[0], condition, "{v}");
    (&branches[1], &branches[2])
}

#[test]
fn the_collector_layer_and_the_otlp_endpoint_come_only_with_the_parameter() {
    let t = template();
    assert_eq!(t["Parameters"]["OtelCollectorLayerArn"]["Default"], "");
    assert_eq!(
        t["Conditions"]["HasOtelCollector"],
        json!({"Fn::Not": [{"Fn::Equals": [r#ref("OtelCollectorLayerArn"), ""]}]})
    );
    let no_value = r#ref("AWS::NoValue");
    for f in FUNCTIONS {
        let (with, without) = if_on(&props(&t, f)["Layers"], "HasOtelCollector");
        assert_eq!(with, &json!([r#ref("OtelCollectorLayerArn")]), "{f}");
        // `[]`, not AWS::NoValue: SAM CLI resolves the If only then (`sam local invoke` reads
        // an unresolved one as a layer ARN and refuses to run).
        assert_eq!(without, &json!([]), "{f}: no layer by default");
        let endpoint = &props(&t, f)["Environment"]["Variables"]["OTEL_EXPORTER_OTLP_ENDPOINT"];
        let (with, without) = if_on(endpoint, "HasOtelCollector");
        assert_eq!(
            with, "http://localhost:4318",
            "{f}: the layer's OTLP/HTTP port"
        );
        assert_eq!(without, &no_value, "{f}: export off by default");
        let timeout = &props(&t, f)["Environment"]["Variables"]["OTEL_EXPORTER_OTLP_TIMEOUT"];
        let (with, without) = if_on(timeout, "HasOtelCollector");
        let ms: u64 = with
            .as_str()
            .and_then(|v| v.parse().ok())
            .expect("milliseconds");
        assert!(
            ms <= 1000,
            "{f}: a stalled collector holds an invocation {ms} ms at most"
        );
        assert_eq!(without, &no_value, "{f}");
    }
    let mut users = resources_using(&t, "OtelCollectorLayerArn");
    users.sort();
    assert_eq!(users, FUNCTIONS, "only the two functions take the layer");
    let text =
        std::fs::read_to_string(hookloop_tests::repo_root().join("infra/template.yaml")).unwrap();
    assert_eq!(
        text.matches("OTEL_EXPORTER_OTLP_ENDPOINT").count(),
        2,
        "the endpoint is set nowhere else (Globals would give it to every function)"
    );
    // Lambda's own X-Ray segments stay on beside the OpenTelemetry trace.
    assert_eq!(t["Globals"]["Function"]["Tracing"], "Active");
}
