//! Subjects of the log: `PREFIX.<provider>.<EventType>`.

use crate::event::Provider;

/// `prefix.<provider>.<EventType>`, the EventType made a valid subject token with
/// [`subject_token`] (an event without one goes to `prefix.<provider>._`).
pub fn subject_for(prefix: &str, provider: Provider, event_type: Option<&str>) -> String {
    format!(
        "{prefix}.{}.{}",
        provider.as_str(),
        subject_token(event_type.unwrap_or(""))
    )
}

/// `text` as one NATS subject token: letters, digits, `-` and `_` kept, anything else
/// (`.`, `*`, `>`, whitespace, control and non-ASCII characters) replaced by `_`, at most
/// 128 bytes; `_` when nothing is left. Two types that differ only in such characters share a
/// subject; the event's own `Vod-Event-Type` header still tells them apart.
pub fn subject_token(text: &str) -> String {
    let token: String = text
        .chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if token.is_empty() {
        "_".into()
    } else {
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_prefix_provider_type() {
        assert_eq!(
            subject_for("vod", Provider::Tencent, Some("NewFileUpload")),
            "vod.tencent.NewFileUpload"
        );
        assert_eq!(
            subject_for("a.b", Provider::AlibabaIms, Some("ProduceMediaComplete")),
            "a.b.alibaba-ims.ProduceMediaComplete"
        );
        assert_eq!(
            subject_for("vod", Provider::AlibabaVod, None),
            "vod.alibaba-vod._"
        );
    }

    #[test]
    fn tokens_never_carry_separators_wildcards_or_whitespace() {
        for (raw, token) in [
            ("Foo.Bar", "Foo_Bar"),
            ("a*b>c", "a_b_c"),
            ("with space\ttab\r\n", "with_space_tab__"),
            ("", "_"),
            ("Événement", "_v_nement"),
        ] {
            assert_eq!(subject_token(raw), token, "{raw:?}");
        }
        assert_eq!(subject_token(&"x".repeat(500)).len(), 128);
    }
}
