//! The Upload API client: one request per call, a concurrency cap per account, and the
//! classification of every answer. Retrying is the caller's (the processor's load-back), which
//! knows the Lambda's remaining time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookloop_runtime::metrics::Registry;
use hookloop_runtime::trust::Roots;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::account::Accounts;

pub const UPLOAD_PATH: &str = "/1/upload";
pub const HEADER_ACCOUNT_ID: &str = "X-CleverTap-Account-Id";
pub const HEADER_PASSCODE: &str = "X-CleverTap-Passcode";
/// After a 401 or 403 an account is not called again for this long (per process): wrong
/// credentials do not turn into a retry storm.
pub const AUTH_FAILURE_HOLD: Duration = Duration::from_secs(60);

/// A 200 answer. Failures are the entries of `unprocessed`, never `status`: CleverTap answers
/// `"status": "success"` when only some records were taken.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UploadResponse {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub processed: Option<u64>,
    #[serde(default)]
    pub unprocessed: Vec<Unprocessed>,
}

/// A record CleverTap refused. Its position appears only in `error` ("... Skipped record
/// number : 2", 1-based); `record` is the record as a JSON-encoded string.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Unprocessed {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub record: Option<Value>,
}

/// The per-record code CleverTap documents as a miscellaneous server error: worth one retry.
pub const CODE_MISC_SERVER_ERROR: i64 = 555;

/// Why a request did not get a 200 with a readable body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("HTTP {status}: {error}")]
    Status {
        status: u16,
        code: Option<i64>,
        error: String,
    },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("transport: {0}")]
    Transport(String),
    #[error("unreadable 200 answer: {0}")]
    BadResponse(String),
    #[error("account {0:?} is not configured")]
    UnknownAccount(String),
    #[error("not called: the account's credentials were refused (HTTP {0}) less than {hold:?} ago", hold = AUTH_FAILURE_HOLD)]
    CredentialsRefused(u16),
}

impl UploadError {
    /// A short code for DLQ entries and logs: `http_429`, `timeout`, `connect`, ...
    pub fn code(&self) -> String {
        match self {
            UploadError::Status { status, .. } => format!("http_{status}"),
            UploadError::Timeout(_) => "timeout".into(),
            UploadError::Connect(_) => "connect".into(),
            UploadError::Transport(_) => "transport".into(),
            UploadError::BadResponse(_) => "bad_response".into(),
            UploadError::UnknownAccount(_) => "unknown_account".into(),
            UploadError::CredentialsRefused(s) => format!("http_{s}"),
        }
    }
}

/// Whether the whole request is worth sending again: 429, 5xx, timeouts and network errors.
/// A 200 that could not be read is retried too (at least once beats lost). 400, 401, 403, 404
/// and 409 will fail the same way again.
pub fn is_retryable(e: &UploadError) -> bool {
    match e {
        UploadError::Status { status, .. } => *status == 429 || (500..600).contains(status),
        UploadError::Timeout(_)
        | UploadError::Connect(_)
        | UploadError::Transport(_)
        | UploadError::BadResponse(_) => true,
        UploadError::UnknownAccount(_) | UploadError::CredentialsRefused(_) => false,
    }
}

/// Which sent record (0-based) an `unprocessed` entry is about: the 1-based "record number" in
/// its error text, confirmed by or else found from the JSON-encoded `record`.
pub fn locate_unprocessed(sent: &[&Value], u: &Unprocessed) -> Option<usize> {
    let record: Option<Value> = match &u.record {
        Some(Value::String(s)) => serde_json::from_str(s).ok(),
        Some(v @ Value::Object(_)) => Some(v.clone()),
        _ => None,
    };
    let by_number = u
        .error
        .as_deref()
        .and_then(record_number)
        .and_then(|n| n.checked_sub(1))
        .filter(|i| *i < sent.len());
    match (by_number, &record) {
        (Some(i), Some(r)) if sent[i] == r => Some(i),
        (Some(i), None) => Some(i),
        (_, Some(r)) => sent.iter().position(|s| *s == r),
        (None, None) => None,
    }
}

/// `"... Skipped record number : 2"` -> 2.
fn record_number(error: &str) -> Option<usize> {
    let lower = error.to_ascii_lowercase();
    let at = lower.find("record number")? + "record number".len();
    let rest = error[at..]
        .trim_start()
        .trim_start_matches(':')
        .trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The HTTP client uploads go through. With [`Roots::BuiltIn`] (in Lambda, by default) it trusts
/// Mozilla's roots, compiled in (`webpki-root-certs`): the platform's verifier would read the
/// system's store when the client is built, about 5 ms of the processor's cold start.
pub fn http_client(connect_timeout: Duration, roots: Roots) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(50));
    if roots == Roots::BuiltIn {
        let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|der| reqwest::Certificate::from_der(der).ok());
        builder = builder.tls_certs_only(mozilla);
    }
    tracing::debug!(
        ?roots,
        "the CleverTap client's TLS roots (BuiltIn: Mozilla's, compiled in; System: the system's store)"
    );
    builder.build()
}

/// One client per process: connections are reused and the per-account cap holds across every
/// batch the process runs.
#[derive(Debug, Clone)]
pub struct UploadClient {
    http: reqwest::Client,
    accounts: Arc<Accounts>,
    slots: Arc<HashMap<String, Arc<Semaphore>>>,
    refused: Arc<Mutex<HashMap<String, (Instant, u16)>>>,
    timeout: Duration,
    requests: Registry,
}

impl UploadClient {
    /// A client counting every request it sends (`clevertap:upload`) in `requests`.
    pub fn new(
        accounts: Accounts,
        timeout: Duration,
        requests: Registry,
    ) -> Result<Self, UploadError> {
        let http = http_client(Duration::from_secs(3).min(timeout), Roots::from_env())
            .map_err(|e| UploadError::Transport(e.to_string()))?;
        let slots = accounts
            .iter()
            .map(|a| (a.name.clone(), Arc::new(Semaphore::new(a.max_concurrency))))
            .collect();
        Ok(UploadClient {
            http,
            accounts: Arc::new(accounts),
            slots: Arc::new(slots),
            refused: Arc::new(Mutex::new(HashMap::new())),
            timeout,
            requests,
        })
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The time one request may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `POST {base}/1/upload` with `{"d": records}`: one request, once. The caller keeps to
    /// [`crate::MAX_RECORDS_PER_REQUEST`] and one record type per request.
    pub async fn send(
        &self,
        account: &str,
        records: &[&Value],
    ) -> Result<UploadResponse, UploadError> {
        let a = self
            .accounts
            .get(account)
            .ok_or_else(|| UploadError::UnknownAccount(account.to_owned()))?;
        if let Some(status) = self.recently_refused(account) {
            return Err(UploadError::CredentialsRefused(status));
        }
        let slots = self
            .slots
            .get(account)
            .ok_or_else(|| UploadError::UnknownAccount(account.to_owned()))?;
        let _slot = slots
            .acquire()
            .await
            .map_err(|_| UploadError::Transport("client closed".into()))?;

        let body = serde_json::to_vec(&serde_json::json!({ "d": records }))
            .map_err(|e| UploadError::Transport(e.to_string()))?;
        // Marked sensitive so no HTTP-level debug output prints it.
        let mut passcode =
            reqwest::header::HeaderValue::from_str(a.passcode.expose()).map_err(|_| {
                UploadError::Transport(format!(
                    "account {account}: the passcode is not a valid header value"
                ))
            })?;
        passcode.set_sensitive(true);
        self.requests.record("clevertap", "upload");
        let sent = self
            .http
            .post(format!("{}{UPLOAD_PATH}", a.base_url))
            .header(HEADER_ACCOUNT_ID, &a.account_id)
            .header(HEADER_PASSCODE, passcode)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(self.timeout)
            .body(body)
            .send()
            .await;
        let response = sent.map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        if status == 200 {
            return serde_json::from_slice::<UploadResponse>(&bytes)
                .map_err(|e| UploadError::BadResponse(e.to_string()));
        }
        #[derive(Deserialize)]
        struct Failure {
            #[serde(default)]
            error: Option<String>,
            #[serde(default)]
            code: Option<i64>,
        }
        let failure: Option<Failure> = serde_json::from_slice(&bytes).ok();
        if status == 401 || status == 403 {
            if let Ok(mut r) = self.refused.lock() {
                r.insert(account.to_owned(), (Instant::now(), status));
            }
        }
        Err(UploadError::Status {
            status,
            code: failure.as_ref().and_then(|f| f.code),
            error: failure
                .and_then(|f| f.error)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect()),
        })
    }

    fn recently_refused(&self, account: &str) -> Option<u16> {
        let r = self.refused.lock().ok()?;
        r.get(account)
            .filter(|(at, _)| at.elapsed() < AUTH_FAILURE_HOLD)
            .map(|(_, status)| *status)
    }

    fn transport_error(&self, e: reqwest::Error) -> UploadError {
        // reqwest's text for these holds the URL (no credentials: they travel in headers).
        if e.is_timeout() {
            UploadError::Timeout(self.timeout)
        } else if e.is_connect() {
            UploadError::Connect(e.to_string())
        } else {
            UploadError::Transport(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_throttling_server_errors_and_network_failures_are_retried() {
        let status = |s| UploadError::Status {
            status: s,
            code: None,
            error: String::new(),
        };
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable(&status(s)), "{s}");
        }
        for s in [400, 401, 403, 404, 409] {
            assert!(!is_retryable(&status(s)), "{s}");
        }
        assert!(is_retryable(&UploadError::Timeout(Duration::from_secs(1))));
        assert!(is_retryable(&UploadError::Connect("refused".into())));
        assert!(is_retryable(&UploadError::Transport("reset".into())));
        assert!(!is_retryable(&UploadError::CredentialsRefused(401)));
        assert!(!is_retryable(&UploadError::UnknownAccount("x".into())));
    }

    #[test]
    fn the_recorded_partial_failure_shape_parses() {
        let r: UploadResponse = serde_json::from_str(
            r#"{"status":"success","processed":1,"unprocessed":[{"status":"fail","code":523,
                "error":"Invalid identity. Skipped record number : 2","record":"{\"type\":\"event\",\"evtName\":\"B\"}"}]}"#,
        )
        .unwrap();
        assert_eq!(r.processed, Some(1));
        assert_eq!(r.unprocessed[0].code, Some(523));
        let a = json!({"type": "event", "evtName": "A"});
        let b = json!({"type": "event", "evtName": "B"});
        assert_eq!(locate_unprocessed(&[&a, &b], &r.unprocessed[0]), Some(1));
    }

    #[test]
    fn records_are_located_by_number_or_by_content() {
        let a = json!({"n": 1});
        let b = json!({"n": 2});
        let sent = [&a, &b];
        let u = |error: Option<&str>, record: Option<Value>| Unprocessed {
            status: None,
            code: Some(512),
            error: error.map(str::to_owned),
            record,
        };
        assert_eq!(
            locate_unprocessed(&sent, &u(Some("x. Skipped record number : 1"), None)),
            Some(0)
        );
        assert_eq!(
            locate_unprocessed(&sent, &u(Some("Record Number: 2"), None)),
            Some(1)
        );
        assert_eq!(
            locate_unprocessed(&sent, &u(None, Some(json!("{\"n\":2}")))),
            Some(1)
        );
        assert_eq!(
            locate_unprocessed(
                &sent,
                &u(Some("record number : 1"), Some(json!("{\"n\":2}")))
            ),
            Some(1),
            "the record wins over a number that points elsewhere"
        );
        assert_eq!(
            locate_unprocessed(&sent, &u(Some("record number : 9"), None)),
            None
        );
        assert_eq!(locate_unprocessed(&sent, &u(Some("no idea"), None)), None);
    }
}
