//! Load-back in the deployed test, set up as README tells a user to (the passcode into the
//! processor's secret, then `hookloop rules push FILE --stack NAME`), so the processor's load-back
//! runs under its own role with IAM enforced: its secret, the document in the stack's bucket and
//! the load-back markers in its table, then the upload to the CleverTap stand-in.

use std::collections::BTreeSet;
use std::path::Path;

use hookloop_clevertap::stub::Stub;
use hookloop_tests::*;
use serde_json::{json, Value};

use crate::stack::{hookloop_as_admin, Deployed, REGION};

/// The processor's secret holds the passcode, and the stack's document the account (at the
/// stand-in) and the example rules, pushed by the CLI with the administrator's key.
pub async fn configure(d: &Deployed, env: &TestEnv, stack: &str, stub: &Stub, dir: &Path) {
    env.clients
        .secrets
        .put_secret_value()
        .secret_id(d.output("ProcessorSecretArn"))
        .secret_string(json!({"CLEVERTAP_PASSCODES": {"main": STUB_PASSCODE}}).to_string())
        .send()
        .await
        .expect("put the passcode into the processor's secret");
    let rules = std::fs::read_to_string(repo_root().join("infra/loadback-rules.json"))
        .expect("the example rules");
    let rules: Value = serde_json::from_str(&rules).expect("the example rules are JSON");
    let doc = json!({
        "accounts": {"main": {"account_id": STUB_ACCOUNT_ID, "api_url": stub.base_url()}},
        "rules": rules["rules"],
    });
    let file = dir.join("loadback.json");
    std::fs::write(&file, doc.to_string()).expect("write the document");
    let out = hookloop_as_admin(d, &env.moto)
        .args(["rules", "push"])
        .arg(&file)
        .args(["--stack", stack, "--region", REGION])
        .output()
        .await
        .expect("run hookloop rules push");
    assert!(
        out.status.success(),
        "hookloop rules push --stack failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the example rules make of the samples, each once: the campaign's two profiles each get
/// the campaign event and the profile update (by objectId), and the Radar geofence entry gets
/// "Geofence Entered" on its user (by identity).
pub fn check_loaded_back(stub: &Stub) {
    let got: Vec<(String, String, String)> = stub
        .accepted()
        .iter()
        .map(|a| {
            let s = |k: &str| a.record[k].as_str().unwrap_or_default().to_owned();
            let who = match s("objectId") {
                id if id.is_empty() => format!("identity {}", s("identity")),
                id => id,
            };
            (who, s("type"), s("evtName"))
        })
        .collect();
    let campaign = |id: &str| {
        [
            (
                id.to_owned(),
                "event".to_owned(),
                "Webhook Campaign Received".to_owned(),
            ),
            (id.to_owned(), "profile".to_owned(), String::new()),
        ]
    };
    let mut want: BTreeSet<(String, String, String)> =
        campaign("__g8a3e7f0c1d2b4e5f6a7b8c9d0e1f2a3")
            .into_iter()
            .chain(campaign("__g1b2c3d4e5f60718293a4b5c6d7e8f90"))
            .collect();
    want.insert((
        "identity cust-1001".to_owned(),
        "event".to_owned(),
        "Geofence Entered".to_owned(),
    ));
    assert_eq!(got.len(), want.len(), "each record once: {got:?}");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
}
