//! The rule every default chain follows: the first configured source wins.

use std::future::Future;

use super::CredentialsError;

/// Asks each source in turn and returns the first answer that is not
/// [`CredentialsError::NotConfigured`]: credentials, or the error of a source that is
/// configured but broken, so a typo never silently falls through to other credentials.
/// With no source configured, [`CredentialsError::NoneFound`] lists what each one said.
pub(crate) async fn first_configured<C, F>(
    sources: impl IntoIterator<Item = F>,
    hint: &'static str,
) -> Result<C, CredentialsError>
where
    F: Future<Output = Result<C, CredentialsError>>,
{
    let mut tried = Vec::new();
    for source in sources {
        match source.await {
            Err(e) if e.is_not_configured() => tried.push(e.to_string()),
            answer => return answer,
        }
    }
    Err(CredentialsError::NoneFound {
        hint,
        tried: tried.join("; "),
    })
}
