//! Secrets Manager: a function's own secret (`SECRET_ARN`), read whole as a JSON object.
//! One `GetSecretValue` per read; the functions read at start and then at most every
//! `SECRETS_TTL_SECONDS` (`hookloop_runtime::live`).

use hookloop_runtime::secret::{SecretDocument, SecretError, SecretSettings};

use crate::error::{AwsError, FromSdk};

#[derive(Debug, thiserror::Error)]
pub enum ReadSecretError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Document(#[from] SecretError),
    #[error("the secret has no string value (a binary secret is not supported)")]
    NoString,
}

#[derive(Debug, Clone)]
pub struct Secret {
    client: aws_sdk_secretsmanager::Client,
    arn: String,
}

impl Secret {
    pub fn new(client: aws_sdk_secretsmanager::Client, arn: impl Into<String>) -> Self {
        Secret {
            client,
            arn: arn.into(),
        }
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The secret `settings` name, with its document read now (the functions' start: a secret
    /// that cannot be read stops the start, since without it nothing can be authenticated).
    pub async fn read_at_start(
        client: aws_sdk_secretsmanager::Client,
        settings: &SecretSettings,
    ) -> Result<(Secret, SecretDocument), ReadSecretError> {
        let secret = Secret::new(client, settings.arn.clone());
        let doc = secret.read().await?;
        Ok((secret, doc))
    }

    /// The secret's current version, parsed.
    pub async fn read(&self) -> Result<SecretDocument, ReadSecretError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("secretsmanager", "GetSecretValue", e))?;
        let text = out.secret_string().ok_or(ReadSecretError::NoString)?;
        Ok(SecretDocument::parse(text)?)
    }
}
