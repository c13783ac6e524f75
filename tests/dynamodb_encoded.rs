//! `Table::put_rows` writes DynamoDB JSON encoded by `hookloop_aws::dynamodb::encode` instead of
//! the SDK's item maps: against moto, what it stores is what the SDK path (`row_into_item` sent
//! with the SDK's own `BatchWriteItem`) stores, for every value type, and `UnprocessedItems`
//! (turned out by the fault proxy) are re-sent until every row is stored.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use hookloop_aws::dynamodb::{item_to_json, row_into_item, Table};
use hookloop_aws::AwsClients;
use hookloop_domain::Row;
use hookloop_runtime::metrics::Registry;
use hookloop_tests::proxy::{FaultProxy, FaultRates};
use hookloop_tests::TestEnv;
use serde_json::{json, Value};

fn row(pk: String, sk: &str, attrs: Value) -> Row {
    Row {
        pk,
        sk: sk.to_owned(),
        attrs: attrs.as_object().cloned().unwrap_or_default(),
    }
}

/// Rows with every value type the pipeline writes, under keys starting with `prefix`.
fn every_type(prefix: &str) -> Vec<Row> {
    vec![
        row(
            format!("{prefix}#nested"),
            "PROFILE",
            json!({
                "m": {"a": {"b": {"c": [1, {"d": null}]}}, "e": "f"},
                "l": [1, "two", 3.5, true, null, [], {}, ["x", {"y": 2}]],
                "empty_m": {}, "empty_l": [],
            }),
        ),
        row(
            format!("{prefix}#scalars"),
            "PROFILE",
            json!({
                "t": true, "f": false, "z": null,
                "int": -7, "float": 36.92, "integral_float": 12.0, "neg_integral": -3.0,
                "u64_max": u64::MAX, "i64_min": i64::MIN, "big_float": 1.5e20,
                "small": 0.000123,
            }),
        ),
        row(
            format!("{prefix}#text é 😀"),
            "sk \"quoted\" \\ back",
            json!({
                "unicode": "Zoë – 東京 😀 \u{2028}",
                "control": "nul\u{0} bell\u{7} esc\u{1b} us\u{1f} nl\n cr\r tab\t",
                "quotes": "\"\\/",
                "key \"quoted\"\n": "v",
                "ctl\u{1}key": "\u{8}\u{c}",
            }),
        ),
    ]
}

/// The same rows the way they were written before: the SDK's item maps, its `BatchWriteItem`.
async fn put_with_sdk_maps(table: &Table, client: &aws_sdk_dynamodb::Client, rows: Vec<Row>) {
    let requests: Vec<WriteRequest> = rows
        .into_iter()
        .map(|r| {
            let put = PutRequest::builder()
                .set_item(Some(row_into_item(r)))
                .build()
                .expect("put request");
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    let out = client
        .batch_write_item()
        .request_items(table.name(), requests)
        .send()
        .await
        .expect("BatchWriteItem");
    assert!(out.unprocessed_items.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn rows_of_every_value_type_are_stored_as_the_sdk_item_maps_store_them() {
    let env = TestEnv::start().await;
    let table = env.table();
    table.put_rows(every_type("ENC")).await.expect("put_rows");
    put_with_sdk_maps(&table, &env.clients.dynamodb, every_type("SDK")).await;

    for (enc, sdk) in every_type("ENC").into_iter().zip(every_type("SDK")) {
        let stored = table.get(&enc.pk, &enc.sk).await.expect("GetItem");
        let stored = stored.unwrap_or_else(|| panic!("{} not stored", enc.pk));
        let mut via_sdk = table
            .get(&sdk.pk, &sdk.sk)
            .await
            .expect("GetItem")
            .unwrap_or_else(|| panic!("{} not stored", sdk.pk));
        // Same item but for the key.
        via_sdk.insert("pk".into(), stored["pk"].clone());
        assert_eq!(stored, via_sdk, "{}", enc.pk);
        // And what was sent is what row_into_item builds.
        assert_eq!(stored, row_into_item(enc.clone()), "{}", enc.pk);
    }

    let keys: Vec<(String, String)> = every_type("ENC")
        .into_iter()
        .map(|r| (r.pk, r.sk))
        .collect();
    let many = table.get_many(&keys).await.expect("BatchGetItem");
    for r in every_type("ENC") {
        let got = &many[&(r.pk.clone(), r.sk.clone())];
        assert_eq!(got, &item_to_json(&row_into_item(r.clone())), "{}", r.pk);
    }
}

#[tokio::test]
async fn unprocessed_items_are_resent_until_every_row_is_stored() {
    let env = TestEnv::start().await;
    let proxy = FaultProxy::start(&env.moto.endpoint, 16).await;
    // Every BatchWriteItem of two items or more gets half of them back as UnprocessedItems:
    // 10 rows go 10 -> 5 -> 3 -> 2 -> 1, five attempts of the six allowed.
    proxy.set_rates(FaultRates {
        partial: 1.0,
        ..FaultRates::default()
    });
    let sdk = env
        .sdk
        .clone()
        .into_builder()
        .endpoint_url(&proxy.url)
        .build();
    let client = AwsClients::from_sdk_config(&sdk, Registry::new()).dynamodb;
    let table = Table::new(client, &env.resources.table);
    let rows: Vec<Row> = (0..10)
        .map(|i| {
            row(
                format!("UNPROCESSED#{i}"),
                "PROFILE",
                json!({"i": i, "s": format!("ü{i}\u{1}"), "m": {"l": [i, null, true]}}),
            )
        })
        .collect();
    table.put_rows(rows.clone()).await.expect("put_rows");
    let injected: HashMap<String, usize> = proxy.injected().into_iter().collect();
    assert!(
        injected.keys().any(|k| k.contains("BatchWriteItem")),
        "no UnprocessedItems injected: {injected:?}"
    );

    let keys: Vec<(String, String)> = rows.iter().map(|r| (r.pk.clone(), r.sk.clone())).collect();
    let stored = env.table().get_many(&keys).await.expect("BatchGetItem");
    assert_eq!(stored.len(), rows.len());
    for r in rows {
        let got = &stored[&(r.pk.clone(), r.sk.clone())];
        assert_eq!(got, &item_to_json(&row_into_item(r.clone())), "{}", r.pk);
    }
}
