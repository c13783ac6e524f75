//! The CleverTap accounts load-back may write to, by name. Rules name an account; a webhook may
//! pick one by name through a key-value, never by carrying credentials.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// CleverTap's documented limit of concurrent Upload API requests per account, across every
/// caller.
pub const CLEVERTAP_MAX_CONCURRENT_REQUESTS: usize = 15;
/// Requests one process keeps in flight per account unless configured otherwise. With the
/// processor's event-source `MaximumConcurrency` of 5, 5 x 3 = 15 stays within the account limit.
pub const DEFAULT_MAX_CONCURRENCY: usize = 3;
/// The account a rule without `account` writes to, when several are configured.
pub const DEFAULT_ACCOUNT: &str = "default";

/// A passcode: shown as `***` by `Debug` and `Display`, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Passcode(String);

impl Passcode {
    pub fn new(s: impl Into<String>) -> Self {
        Passcode(s.into())
    }

    /// The value, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub account_id: String,
    pub passcode: Passcode,
    /// `https://in1.api.clevertap.com`, no trailing slash.
    pub base_url: String,
    /// Requests this process keeps in flight for the account.
    pub max_concurrency: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CleverTap account {account:?}: {field}: {message}")]
pub struct AccountsError {
    pub account: String,
    pub field: String,
    pub message: String,
}

fn err(account: &str, field: &str, message: impl Into<String>) -> AccountsError {
    AccountsError {
        account: account.to_owned(),
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The configured accounts; at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accounts {
    accounts: BTreeMap<String, Account>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    account_id: String,
    passcode: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    max_concurrency: Option<usize>,
}

impl Accounts {
    /// `CLEVERTAP_ACCOUNTS`: `{"<name>": {"account_id", "passcode", "region" | "api_url",
    /// "max_concurrency"?}, ...}`.
    pub fn from_json(text: &str, default_concurrency: usize) -> Result<Self, AccountsError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let raw: BTreeMap<String, RawAccount> =
            serde_path_to_error::deserialize(de).map_err(|e| {
                // The path names the account and field; serde's message never quotes a string
                // value it accepted, and a passcode is always a string.
                let path = e.path().to_string();
                let (account, field) = path.split_once('.').unwrap_or((&path, ""));
                err(account, field, e.inner().to_string())
            })?;
        if raw.is_empty() {
            return Err(err("", "", "no account is configured"));
        }
        let accounts = raw
            .into_iter()
            .map(|(name, r)| {
                let account = Account::new(
                    &name,
                    r.account_id,
                    r.passcode,
                    r.region.as_deref(),
                    r.api_url.as_deref(),
                    r.max_concurrency.unwrap_or(default_concurrency),
                )?;
                Ok((name, account))
            })
            .collect::<Result<_, AccountsError>>()?;
        Ok(Accounts { accounts })
    }

    /// One account from `CLEVERTAP_ACCOUNT_ID`, `CLEVERTAP_PASSCODE` and `CLEVERTAP_REGION` or
    /// `CLEVERTAP_API_URL`, named `default`.
    pub fn single(
        account_id: String,
        passcode: String,
        region: Option<&str>,
        api_url: Option<&str>,
        max_concurrency: usize,
    ) -> Result<Self, AccountsError> {
        let a = Account::new(
            DEFAULT_ACCOUNT,
            account_id,
            passcode,
            region,
            api_url,
            max_concurrency,
        )?;
        Ok(Accounts {
            accounts: BTreeMap::from([(DEFAULT_ACCOUNT.to_owned(), a)]),
        })
    }

    /// Accounts already checked one by one; `None` when there is none.
    pub(crate) fn from_checked(accounts: BTreeMap<String, Account>) -> Option<Self> {
        (!accounts.is_empty()).then_some(Accounts { accounts })
    }

    pub fn get(&self, name: &str) -> Option<&Account> {
        self.accounts.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// The account of rules that name none: `default`, or the only one configured.
    pub fn default_account(&self) -> Option<&str> {
        if self.accounts.contains_key(DEFAULT_ACCOUNT) {
            return Some(DEFAULT_ACCOUNT);
        }
        match self.accounts.keys().collect::<Vec<_>>().as_slice() {
            [only] => Some(only.as_str()),
            _ => None,
        }
    }
}

/// `https://<region>.api.clevertap.com`; Europe (`eu`) is the plain `https://api.clevertap.com`.
pub fn region_base_url(region: &str) -> Option<String> {
    let valid = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    match region {
        "eu" => Some("https://api.clevertap.com".to_owned()),
        r if valid => Some(format!("https://{r}.api.clevertap.com")),
        _ => None,
    }
}

impl Account {
    pub(crate) fn new(
        name: &str,
        account_id: String,
        passcode: String,
        region: Option<&str>,
        api_url: Option<&str>,
        max_concurrency: usize,
    ) -> Result<Self, AccountsError> {
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(err(name, "", "account names are letters, digits, - and _"));
        }
        if account_id.trim().is_empty() {
            return Err(err(name, "account_id", "is empty"));
        }
        if passcode.trim().is_empty() {
            return Err(err(name, "passcode", "is empty"));
        }
        let base_url = match (region, api_url) {
            (_, Some(url)) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(err(
                        name,
                        "api_url",
                        format!("{url:?} is not an http(s) URL"),
                    ));
                }
                url.trim_end_matches('/').to_owned()
            }
            (Some(r), None) => region_base_url(r).ok_or_else(|| {
                err(
                    name,
                    "region",
                    format!("{r:?} is not a region like in1, sg1, us1, aps3, mec1 or eu"),
                )
            })?,
            (None, None) => {
                return Err(err(name, "region", "set region (in1, eu, ...) or api_url"))
            }
        };
        if !(1..=CLEVERTAP_MAX_CONCURRENT_REQUESTS).contains(&max_concurrency) {
            return Err(err(
                name,
                "max_concurrency",
                format!("{max_concurrency} is outside 1..={CLEVERTAP_MAX_CONCURRENT_REQUESTS} (CleverTap's limit per account)"),
            ));
        }
        Ok(Account {
            name: name.to_owned(),
            account_id,
            passcode: Passcode::new(passcode),
            base_url,
            max_concurrency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_accounts_by_name_with_region_or_url() {
        let a = Accounts::from_json(
            r#"{"main": {"account_id": "W9R-1", "passcode": "s3cret", "region": "in1"},
                "eu": {"account_id": "TEST-2", "passcode": "p", "region": "eu", "max_concurrency": 15},
                "stub": {"account_id": "S", "passcode": "p", "api_url": "http://127.0.0.1:9/"}}"#,
            3,
        )
        .unwrap();
        assert_eq!(
            a.get("main").unwrap().base_url,
            "https://in1.api.clevertap.com"
        );
        assert_eq!(a.get("main").unwrap().max_concurrency, 3);
        assert_eq!(a.get("eu").unwrap().base_url, "https://api.clevertap.com");
        assert_eq!(a.get("eu").unwrap().max_concurrency, 15);
        assert_eq!(a.get("stub").unwrap().base_url, "http://127.0.0.1:9");
        assert_eq!(
            a.default_account(),
            None,
            "three accounts and none named default"
        );
    }

    #[test]
    fn errors_name_account_and_field_and_never_the_passcode() {
        let e = Accounts::from_json(
            r#"{"main": {"account_id": "A", "passcode": "hunter2", "region": "IN 1"}}"#,
            3,
        )
        .unwrap_err();
        assert_eq!((e.account.as_str(), e.field.as_str()), ("main", "region"));
        let e = Accounts::from_json(r#"{"main": {"account_id": "A", "passcode": "hunter2"}}"#, 3)
            .unwrap_err();
        assert_eq!(e.field, "region");
        assert!(!e.to_string().contains("hunter2"));
        let e = Accounts::from_json(r#"{"main": {"account_id": "A"}}"#, 3).unwrap_err();
        assert!(e.to_string().contains("passcode"), "{e}");
        let e = Accounts::from_json(r#"{"main": {"account_id": "A", "passcode": "hunter2", "region": "in1", "max_concurrency": 16}}"#, 3)
            .unwrap_err();
        assert_eq!(e.field, "max_concurrency");
        let e = Accounts::from_json(
            r#"{"main": {"account_id": "A", "passcode": 7, "region": "in1"}}"#,
            3,
        )
        .unwrap_err();
        assert_eq!((e.account.as_str(), e.field.as_str()), ("main", "passcode"));
        assert!(Accounts::from_json("{}", 3).is_err());
        assert!(Accounts::from_json("not json", 3).is_err());
    }

    #[test]
    fn a_single_account_is_the_default_and_its_passcode_is_hidden() {
        let a = Accounts::single("A".into(), "hunter2".into(), Some("sg1"), None, 3).unwrap();
        assert_eq!(a.default_account(), Some(DEFAULT_ACCOUNT));
        assert_eq!(
            a.get("default").unwrap().base_url,
            "https://sg1.api.clevertap.com"
        );
        assert!(!format!("{a:?}").contains("hunter2"));
        assert_eq!(a.get("default").unwrap().passcode.expose(), "hunter2");
    }
}
