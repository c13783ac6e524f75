use super::*;

#[test]
fn the_raw_archive_is_batched_unless_told_otherwise() {
    let base = [
        ("RAW_BUCKET", "b"),
        ("TABLE_NAME", "t"),
        ("GEOFENCE_STREAM", "s"),
        ("DLQ_URL", "d"),
    ];
    let read = |extra: Option<&'static str>| {
        let vars: Vec<(&str, &str)> = base
            .iter()
            .copied()
            .chain(extra.map(|v| ("RAW_ARCHIVE", v)))
            .collect();
        ProcessorConfig::read(&Env::new(move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }))
    };
    assert_eq!(read(None).unwrap().raw_archive, ArchiveMode::Batch);
    assert_eq!(
        read(Some("object")).unwrap().raw_archive,
        ArchiveMode::Object
    );
    let err = read(Some("daily")).unwrap_err().to_string();
    assert!(err.contains("RAW_ARCHIVE"), "{err}");
}

#[test]
fn every_store_is_required_and_receive_count_defaults() {
    let all = [
        ("RAW_BUCKET", "b"),
        ("TABLE_NAME", "t"),
        ("GEOFENCE_STREAM", "s"),
        ("DLQ_URL", "d"),
    ];
    let get = |skip: &str, extra: Option<(&str, &str)>| {
        let m: Vec<(String, String)> = all
            .iter()
            .chain(extra.iter())
            .filter(|(k, _)| *k != skip)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProcessorConfig::read(&Env::new(move |k| {
            m.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        }))
    };
    assert_eq!(
        get("", None).unwrap().max_receive_count,
        DEFAULT_MAX_RECEIVE_COUNT
    );
    for (k, _) in all {
        assert_eq!(get(k, None).unwrap_err(), ConfigError::Missing(k));
    }
    assert_eq!(
        get("", Some(("MAX_RECEIVE_COUNT", "3")))
            .unwrap()
            .max_receive_count,
        3
    );
    assert!(get("", Some(("MAX_RECEIVE_COUNT", "0"))).is_err());
    assert_eq!(
        get("", None).unwrap().loadback,
        None,
        "no CleverTap configuration: load-back off"
    );
}

#[test]
fn the_stacks_document_is_named_by_an_s3_uri_and_excludes_the_environments_rules() {
    let read = |pairs: &[(&str, &str)]| {
        let m: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DocumentConfig::read(&Env::new(move |k| {
            m.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        }))
    };
    assert_eq!(read(&[]).unwrap(), None);
    let d = read(&[
        ("LOADBACK_CONFIG", "s3://stack-raw/config/loadback.json"),
        ("SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:p"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(
        (d.bucket.as_str(), d.key.as_str()),
        ("stack-raw", "config/loadback.json")
    );
    assert_eq!(d.check_every, Duration::from_secs(60));
    assert_eq!(d.secret.unwrap().ttl, Duration::from_secs(300));
    for bad in ["stack-raw/config.json", "s3://bucket", "s3:///key"] {
        let e = read(&[("LOADBACK_CONFIG", bad)]).unwrap_err();
        assert!(e.to_string().contains("LOADBACK_CONFIG"), "{bad}: {e}");
    }
    let e = read(&[("LOADBACK_CONFIG", "s3://b/k"), ("LOADBACK_RULES", "{}")]).unwrap_err();
    assert!(e.to_string().contains("LOADBACK_RULES"), "{e}");
    let e = read(&[("LOADBACK_CONFIG", "s3://b/k")]).unwrap_err();
    assert!(
        e.to_string().contains("SECRET_ARN"),
        "the passcodes' secret is required: {e}"
    );
}

fn loadback(pairs: &[(&str, &str)]) -> Result<Option<LoadbackConfig>, ConfigError> {
    let m: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    LoadbackConfig::read(&Env::new(move |k| {
        m.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }))
}

const RULES: &str = r#"{"rules": [{"name": "e", "source": "clevertap.webhook", "type": "event", "event_name": "E"}]}"#;

#[test]
fn load_back_needs_accounts_and_rules_and_names_what_is_wrong() {
    let on = loadback(&[
        ("CLEVERTAP_ACCOUNT_ID", "A"),
        ("CLEVERTAP_PASSCODE", "secret-pass"),
        ("CLEVERTAP_REGION", "in1"),
        ("LOADBACK_RULES", RULES),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(on.rules.len(), 1);
    assert_eq!(on.accounts.get("default").unwrap().max_concurrency, 3);
    assert_eq!(on.max_attempts, DEFAULT_CLEVERTAP_MAX_ATTEMPTS);

    let var = |r: Result<Option<LoadbackConfig>, ConfigError>| match r {
        Err(ConfigError::Invalid { var, .. }) | Err(ConfigError::Missing(var)) => var,
        other => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(
        var(loadback(&[("LOADBACK_RULES", RULES)])),
        "LOADBACK_RULES"
    );
    assert_eq!(
        var(loadback(&[
            ("CLEVERTAP_ACCOUNT_ID", "A"),
            ("CLEVERTAP_PASSCODE", "p"),
            ("CLEVERTAP_REGION", "in1")
        ])),
        "LOADBACK_RULES"
    );
    assert_eq!(
        var(loadback(&[
            ("CLEVERTAP_ACCOUNT_ID", "A"),
            ("CLEVERTAP_REGION", "in1"),
            ("LOADBACK_RULES", RULES)
        ])),
        "CLEVERTAP_PASSCODE"
    );
    assert_eq!(
        var(loadback(&[
            ("CLEVERTAP_ACCOUNT_ID", "A"),
            ("CLEVERTAP_PASSCODE", "p"),
            ("CLEVERTAP_REGION", "moon base"),
            ("LOADBACK_RULES", RULES)
        ])),
        "CLEVERTAP_REGION"
    );
    assert_eq!(
        var(loadback(&[
            ("CLEVERTAP_ACCOUNT_ID", "A"),
            ("CLEVERTAP_PASSCODE", "p"),
            ("CLEVERTAP_REGION", "in1"),
            ("LOADBACK_RULES", "{\"rules\": 1}")
        ])),
        "LOADBACK_RULES"
    );
    assert_eq!(
        var(loadback(&[
            ("CLEVERTAP_ACCOUNT_ID", "A"),
            ("CLEVERTAP_PASSCODE", "p"),
            ("CLEVERTAP_REGION", "in1"),
            ("LOADBACK_RULES", "/no/such/rules.json")
        ])),
        "LOADBACK_RULES"
    );
    assert_eq!(
        var(loadback(&[
            ("CLEVERTAP_ACCOUNT_ID", "A"),
            ("CLEVERTAP_PASSCODE", "p"),
            ("CLEVERTAP_REGION", "in1"),
            ("LOADBACK_RULES", RULES),
            ("CLEVERTAP_MAX_CONCURRENCY", "16")
        ])),
        "CLEVERTAP_MAX_CONCURRENCY"
    );
    let e = loadback(&[
        (
            "CLEVERTAP_ACCOUNTS",
            r#"{"main": {"account_id": "A", "passcode": "secret-pass"}}"#,
        ),
        ("LOADBACK_RULES", RULES),
    ])
    .unwrap_err();
    assert!(
        e.to_string().contains("CLEVERTAP_ACCOUNTS") && !e.to_string().contains("secret-pass"),
        "{e}"
    );
}

#[test]
fn geofences_are_a_file_or_an_s3_object_and_unset_means_none() {
    let read = |value: Option<&'static str>| {
        let vars: Vec<(&str, &str)> = [
            ("RAW_BUCKET", "b"),
            ("TABLE_NAME", "t"),
            ("GEOFENCE_STREAM", "s"),
            ("DLQ_URL", "d"),
        ]
        .into_iter()
        .chain(value.map(|v| ("GEOFENCES", v)))
        .collect();
        ProcessorConfig::read(&Env::new(move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }))
    };
    let none = read(None).unwrap();
    assert_eq!(none.geofences, None);
    assert_eq!(none.geofences_check_every, Duration::from_secs(60));
    assert_eq!(read(Some("")).unwrap().geofences, None);
    assert_eq!(
        read(Some("s3://stack-raw/config/geofences.geojson"))
            .unwrap()
            .geofences,
        Some(GeofenceSource::S3 {
            bucket: "stack-raw".into(),
            key: "config/geofences.geojson".into()
        })
    );
    assert_eq!(
        read(Some("infra/geofences.example.geojson"))
            .unwrap()
            .geofences,
        Some(GeofenceSource::File(
            "infra/geofences.example.geojson".into()
        ))
    );
    for bad in ["s3://", "s3://bucket", "s3://bucket/", "s3:///key"] {
        let e = read(Some(bad)).unwrap_err().to_string();
        assert!(e.contains("GEOFENCES"), "{bad}: {e}");
    }
}

#[test]
fn anomaly_limits_default_turn_off_at_zero_and_bad_values_are_named() {
    let read = |var: &'static str, value: &'static str| {
        let vars: Vec<(&str, &str)> = [
            ("RAW_BUCKET", "b"),
            ("TABLE_NAME", "t"),
            ("GEOFENCE_STREAM", "s"),
            ("DLQ_URL", "d"),
            (var, value),
        ]
        .into_iter()
        .collect();
        ProcessorConfig::read(&Env::new(move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }))
    };
    let defaults = read("UNRELATED", "").unwrap().anomaly_limits;
    assert_eq!(
        defaults,
        AnomalyLimits {
            max_speed_kmh: Some(1_000.0),
            flap_limit: Some(6),
            flap_window_ms: 10 * 60_000,
        }
    );
    let speed = read("MAX_SPEED_KMH", "900.5").unwrap().anomaly_limits;
    assert_eq!(speed.max_speed_kmh, Some(900.5));
    assert_eq!(
        read("MAX_SPEED_KMH", "0")
            .unwrap()
            .anomaly_limits
            .max_speed_kmh,
        None
    );
    assert_eq!(
        read("FLAP_LIMIT", "0").unwrap().anomaly_limits.flap_limit,
        None
    );
    assert_eq!(
        read("FLAP_WINDOW_MINUTES", "30")
            .unwrap()
            .anomaly_limits
            .flap_window_ms,
        30 * 60_000
    );
    for (var, bad) in [
        ("MAX_SPEED_KMH", "-1"),
        ("MAX_SPEED_KMH", "NaN"),
        ("MAX_SPEED_KMH", "fast"),
        ("FLAP_LIMIT", "33"),
        ("FLAP_WINDOW_MINUTES", "0"),
    ] {
        let e = read(var, bad).unwrap_err().to_string();
        assert!(e.contains(var), "{var}={bad}: {e}");
    }
}
