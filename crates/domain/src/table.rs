//! The table's layout for the items that are not a webhook's rows: deduplication claims, Radar
//! signing ids and load-back markers, and the TTL attribute every expiring item carries. Both
//! functions, the CLI and the deployment (the ingest's IAM condition on `DEDUP#*`) depend on
//! these names as written.

/// Epoch seconds after which DynamoDB's TTL removes an item; readers treat an item past it as
/// gone (TTL deletes lazily).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// A deduplication claim: `pk = DEDUP#<key>`, `sk = DEDUP`, `message_id` (the owner).
pub const DEDUP_PK_PREFIX: &str = "DEDUP#";
pub const DEDUP_SK: &str = "DEDUP";

/// A Radar signing id bound to its body: `pk = DEDUP#RADARSIG#<sha256 hex>`, `sk = RADARSIG`.
/// Under `DEDUP#` so the ingest's IAM condition covers it.
pub const SIGNING_ID_PK_PREFIX: &str = "DEDUP#RADARSIG#";
pub const SIGNING_ID_SK: &str = "RADARSIG";

/// A load-back marker: `pk = LOADBACK#<message id>`, `sk = CLEVERTAP`, `accepted` (record
/// fingerprints CleverTap accepted).
pub const MARKER_PK_PREFIX: &str = "LOADBACK#";
pub const MARKER_SK: &str = "CLEVERTAP";

/// The key of the claim on a deduplication key.
pub fn claim_key(dedup_key: &str) -> (String, String) {
    (format!("{DEDUP_PK_PREFIX}{dedup_key}"), DEDUP_SK.to_owned())
}

/// The deduplication key a claim's partition key names.
pub fn claimed_dedup_key(pk: &str) -> Option<&str> {
    pk.strip_prefix(DEDUP_PK_PREFIX)
}

/// The key of a Radar signing id's record, by the hex digest of the signed message.
pub fn signing_id_key(digest_hex: &str) -> (String, String) {
    (
        format!("{SIGNING_ID_PK_PREFIX}{digest_hex}"),
        SIGNING_ID_SK.to_owned(),
    )
}

/// The key of a message's load-back marker.
pub fn marker_key(message_id: &str) -> (String, String) {
    (
        format!("{MARKER_PK_PREFIX}{message_id}"),
        MARKER_SK.to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_laid_out_as_documented() {
        assert_eq!(claim_key("k"), ("DEDUP#k".to_owned(), "DEDUP".to_owned()));
        assert_eq!(claimed_dedup_key("DEDUP#k"), Some("k"));
        assert_eq!(claimed_dedup_key("USER#k"), None);
        assert_eq!(
            signing_id_key("ab"),
            ("DEDUP#RADARSIG#ab".to_owned(), "RADARSIG".to_owned())
        );
        assert_eq!(
            marker_key("01J"),
            ("LOADBACK#01J".to_owned(), "CLEVERTAP".to_owned())
        );
    }
}
