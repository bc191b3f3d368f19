//! The five event actions of VOD API `2018-07-17`: request and response types.
//!
//! Requests serialise to the exact JSON body the API takes (absent optional parameters are
//! left out). Responses are decoded in one pass that also picks up `Response.Error` and
//! `RequestId`; unknown fields are ignored so new service fields never break decoding.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::tencent::credentials::Secret;
use crate::tencent::error::{body_snippet, Error};

/// The API version every action is sent with.
pub const API_VERSION: &str = "2018-07-17";
/// Most handles one ConfirmEvents call may carry, and most events one PullEvents returns.
pub const MAX_EVENTS_PER_CALL: usize = 16;

/// A typed API action: the request body and what its `Response` decodes into.
pub trait Action: Serialize + Send + Sync {
    /// The `X-TC-Action` value.
    const NAME: &'static str;
    /// The decoded success response.
    type Response: DeserializeOwned + ApiResponse + Send;

    /// Fills `SubAppId` from the client's default when the request has none.
    fn set_default_sub_app_id(&mut self, sub_app_id: u64);

    /// Checks the request before it is sent; an error here means the API would refuse it.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    /// Whether the call is a long poll (it gets the longer per-attempt timeout).
    fn is_long_poll(&self) -> bool {
        false
    }
}

/// What every response carries besides its own fields.
pub trait ApiResponse {
    /// The `Response.Error` object, taken out so the client can turn it into an error.
    fn take_error(&mut self) -> Option<ApiErrorBody>;
    /// The `RequestId`, if present.
    fn request_id(&self) -> &str;
}

/// `Response.Error` as the service sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ApiErrorBody {
    /// The error code, e.g. `InvalidParameterValue`.
    #[serde(rename = "Code", default)]
    pub code: String,
    /// The message.
    #[serde(rename = "Message", default)]
    pub message: String,
}

/// The outer `{"Response": ...}` wrapper.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    #[serde(rename = "Response")]
    pub(crate) response: T,
}

macro_rules! response_common {
    ($ty:ty) => {
        impl ApiResponse for $ty {
            fn take_error(&mut self) -> Option<ApiErrorBody> {
                self.error.take()
            }
            fn request_id(&self) -> &str {
                &self.request_id
            }
        }
    };
}

/// `PullEvents`: long-polls for up to 16 events (the service holds the call up to 5 s).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullEvents {
    /// The VOD sub-application; required for accounts opened on or after 2023-12-25.
    #[serde(rename = "SubAppId", skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

/// The answer to [`PullEvents`].
#[derive(Debug, Default, Deserialize)]
pub struct PullEventsResponse {
    /// The events, each exactly as sent (`EventHandle` included). An absent, `null` or empty
    /// `EventSet` all decode to an empty list: no events is a normal answer.
    #[serde(rename = "EventSet", default, deserialize_with = "null_as_empty")]
    pub event_set: Vec<Box<RawValue>>,
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// When the attempt that got this answer was sent (set by
    /// [`Client::pull_events_for`](crate::tencent::Client::pull_events_for); `None` for an
    /// answer decoded elsewhere). The handles' 30 s began then.
    #[serde(skip)]
    pub sent_at: Option<tokio::time::Instant>,
    #[serde(rename = "Error", default)]
    error: Option<ApiErrorBody>,
}
response_common!(PullEventsResponse);

impl PullEventsResponse {
    /// An answer with no events (what an empty long poll means, whatever its shape).
    pub fn empty(request_id: impl Into<String>) -> Self {
        PullEventsResponse {
            request_id: request_id.into(),
            ..Self::default()
        }
    }
}

impl Action for PullEvents {
    const NAME: &'static str = "PullEvents";
    type Response = PullEventsResponse;
    fn set_default_sub_app_id(&mut self, id: u64) {
        self.sub_app_id.get_or_insert(id);
    }
    fn is_long_poll(&self) -> bool {
        true
    }
}

/// `ConfirmEvents`: acknowledges up to 16 events by handle, within 30 s of their pull.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfirmEvents {
    /// The handles, 1 to 16, none empty.
    #[serde(rename = "EventHandles")]
    pub event_handles: Vec<String>,
    /// The sub-application the events were pulled from.
    #[serde(rename = "SubAppId", skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

/// The answer to [`ConfirmEvents`].
#[derive(Debug, Default, Deserialize)]
pub struct ConfirmEventsResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    #[serde(rename = "Error", default)]
    error: Option<ApiErrorBody>,
}
response_common!(ConfirmEventsResponse);

impl Action for ConfirmEvents {
    const NAME: &'static str = "ConfirmEvents";
    type Response = ConfirmEventsResponse;
    fn set_default_sub_app_id(&mut self, id: u64) {
        self.sub_app_id.get_or_insert(id);
    }
    fn validate(&self) -> Result<(), String> {
        if self.event_handles.is_empty() {
            return Err("no event handles (send at least one)".into());
        }
        if self.event_handles.len() > MAX_EVENTS_PER_CALL {
            return Err(format!(
                "{} event handles; the API takes at most {MAX_EVENTS_PER_CALL} per call",
                self.event_handles.len()
            ));
        }
        if let Some(i) = self.event_handles.iter().position(|h| h.trim().is_empty()) {
            return Err(format!("event handle #{i} is empty"));
        }
        Ok(())
    }
}

/// `DescribeEventsState`: roughly how many events wait to be pulled (lags ~3 minutes; do not
/// use it to decide whether to pull).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DescribeEventsState {
    /// The sub-application.
    #[serde(rename = "SubAppId", skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

/// The answer to [`DescribeEventsState`].
#[derive(Debug, Default, Deserialize)]
pub struct DescribeEventsStateResponse {
    /// Approximate number of events waiting to be pulled.
    #[serde(rename = "CountOfEventsToPull", default)]
    pub count_of_events_to_pull: u64,
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    #[serde(rename = "Error", default)]
    error: Option<ApiErrorBody>,
}
response_common!(DescribeEventsStateResponse);

impl Action for DescribeEventsState {
    const NAME: &'static str = "DescribeEventsState";
    type Response = DescribeEventsStateResponse;
    fn set_default_sub_app_id(&mut self, id: u64) {
        self.sub_app_id.get_or_insert(id);
    }
}

/// `DescribeEventConfig`: the app's event receiving mode and switches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DescribeEventConfig {
    /// The sub-application.
    #[serde(rename = "SubAppId", skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

/// The answer to [`DescribeEventConfig`].
#[derive(Debug, Default, Deserialize)]
pub struct DescribeEventConfigResponse {
    /// `PUSH` (HTTP callback) or `PULL` (reliable callback: the queue this crate drains).
    #[serde(rename = "Mode", default)]
    pub mode: String,
    /// The v3.0 callback URL used in PUSH mode.
    #[serde(rename = "NotificationUrl", default)]
    pub notification_url: String,
    /// `ON`/`OFF`: whether `NewFileUpload` events are delivered.
    #[serde(rename = "UploadMediaCompleteEventSwitch", default)]
    pub upload_media_complete_event_switch: String,
    /// `ON`/`OFF`: whether `FileDeleted` events are delivered.
    #[serde(rename = "DeleteMediaCompleteEventSwitch", default)]
    pub delete_media_complete_event_switch: String,
    /// `ON`/`OFF`: whether `PersistenceComplete` events are delivered.
    #[serde(rename = "PersistenceCompleteEventSwitch", default)]
    pub persistence_complete_event_switch: String,
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    #[serde(rename = "Error", default)]
    error: Option<ApiErrorBody>,
}
response_common!(DescribeEventConfigResponse);

impl Action for DescribeEventConfig {
    const NAME: &'static str = "DescribeEventConfig";
    type Response = DescribeEventConfigResponse;
    fn set_default_sub_app_id(&mut self, id: u64) {
        self.sub_app_id.get_or_insert(id);
    }
}

/// `ModifyEventConfig`: switch between PUSH and PULL (reliable callback) and set the event
/// switches. Fields left `None` are left unchanged by the service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModifyEventConfig {
    /// The sub-application.
    #[serde(rename = "SubAppId", skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    /// `PUSH` or `PULL`.
    #[serde(rename = "Mode", skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The v3.0 callback URL; `Some("")` clears it.
    #[serde(rename = "NotificationUrl", skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
    /// `ON`/`OFF` for `NewFileUpload` events.
    #[serde(
        rename = "UploadMediaCompleteEventSwitch",
        skip_serializing_if = "Option::is_none"
    )]
    pub upload_media_complete_event_switch: Option<String>,
    /// `ON`/`OFF` for `FileDeleted` events.
    #[serde(
        rename = "DeleteMediaCompleteEventSwitch",
        skip_serializing_if = "Option::is_none"
    )]
    pub delete_media_complete_event_switch: Option<String>,
    /// `ON`/`OFF` for `PersistenceComplete` events.
    #[serde(
        rename = "PersistenceCompleteEventSwitch",
        skip_serializing_if = "Option::is_none"
    )]
    pub persistence_complete_event_switch: Option<String>,
    /// The push-callback signing key (letters and digits, at most 32). A [`Secret`]: `Debug`
    /// never shows it; only the request body carries its value.
    #[serde(
        rename = "SignKey",
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_secret"
    )]
    pub sign_key: Option<Secret>,
}

/// The answer to [`ModifyEventConfig`].
#[derive(Debug, Default, Deserialize)]
pub struct ModifyEventConfigResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    #[serde(rename = "Error", default)]
    error: Option<ApiErrorBody>,
}
response_common!(ModifyEventConfigResponse);

impl Action for ModifyEventConfig {
    const NAME: &'static str = "ModifyEventConfig";
    type Response = ModifyEventConfigResponse;
    fn set_default_sub_app_id(&mut self, id: u64) {
        self.sub_app_id.get_or_insert(id);
    }
    fn validate(&self) -> Result<(), String> {
        if let Some(key) = self.sign_key.as_ref().map(Secret::expose) {
            if key.len() > 32 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err("SignKey must be at most 32 letters and digits".into());
            }
        }
        Ok(())
    }
}

/// Serialises a secret's value: it has to travel in the request body, and only there.
fn expose_secret<S: serde::Serializer>(secret: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_str(secret.expose()),
        None => s.serialize_none(),
    }
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Decodes an HTTP 200 response body of action `A` exactly as the client does: the
/// `{"Response": ...}` envelope, then `Response.Error` as [`Error::Api`]. Public only so the
/// fuzz targets, benches and tests decode exactly as the client does; not part of the API.
#[doc(hidden)]
pub fn decode_response<A: Action>(body: &[u8]) -> Result<A::Response, Error> {
    let mut decoded = serde_json::from_slice::<Envelope<A::Response>>(body)
        .map_err(|e| Error::Decode {
            action: A::NAME,
            reason: e.to_string(),
            body_snippet: body_snippet(body),
        })?
        .response;
    if let Some(api) = decoded.take_error() {
        return Err(Error::Api {
            action: A::NAME,
            code: api.code,
            message: api.message,
            request_id: decoded.request_id().to_owned(),
        });
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode<T: DeserializeOwned>(json: &str) -> T {
        serde_json::from_str::<Envelope<T>>(json).unwrap().response
    }

    #[test]
    fn request_bodies_leave_out_absent_parameters() {
        assert_eq!(serde_json::to_string(&PullEvents::default()).unwrap(), "{}");
        let c = ConfirmEvents {
            event_handles: vec!["EventHandle1".into(), "EventHandle2".into()],
            sub_app_id: Some(1500000001),
        };
        // Byte-identical to spec vector V4's payload.
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"EventHandles":["EventHandle1","EventHandle2"],"SubAppId":1500000001}"#
        );
    }

    #[test]
    fn default_sub_app_id_fills_only_when_absent() {
        let mut p = PullEvents::default();
        p.set_default_sub_app_id(7);
        assert_eq!(p.sub_app_id, Some(7));
        let mut p = PullEvents {
            sub_app_id: Some(1),
        };
        p.set_default_sub_app_id(7);
        assert_eq!(p.sub_app_id, Some(1));
    }

    #[test]
    fn empty_event_set_in_every_shape_is_no_events() {
        for body in [
            r#"{"Response":{"RequestId":"r"}}"#,
            r#"{"Response":{"EventSet":null,"RequestId":"r"}}"#,
            r#"{"Response":{"EventSet":[],"RequestId":"r"}}"#,
        ] {
            let r: PullEventsResponse = decode(body);
            assert!(r.event_set.is_empty(), "{body}");
            assert_eq!(r.request_id, "r");
        }
    }

    #[test]
    fn error_and_request_id_are_picked_up_in_one_pass() {
        let mut r: PullEventsResponse = decode(
            r#"{"Response":{"Error":{"Code":"InternalError","Message":"boom"},"RequestId":"rid","Extra":1}}"#,
        );
        assert_eq!(r.request_id(), "rid");
        let e = r.take_error().unwrap();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("InternalError", "boom")
        );
    }

    #[test]
    fn event_set_keeps_each_event_verbatim() {
        let r: PullEventsResponse = decode(
            r#"{"Response":{"EventSet":[{"EventHandle":"h1","EventType":"X","New":{"a": 1}}],"RequestId":"r"}}"#,
        );
        assert_eq!(
            r.event_set[0].get(),
            r#"{"EventHandle":"h1","EventType":"X","New":{"a": 1}}"#
        );
    }

    #[test]
    fn confirm_validation() {
        let c = |n: usize| ConfirmEvents {
            event_handles: (0..n).map(|i| format!("h{i}")).collect(),
            sub_app_id: None,
        };
        assert!(c(0).validate().is_err());
        assert!(c(1).validate().is_ok());
        assert!(c(16).validate().is_ok());
        assert!(c(17).validate().unwrap_err().contains("at most 16"));
        let blank = ConfirmEvents {
            event_handles: vec!["a".into(), " ".into()],
            sub_app_id: None,
        };
        assert!(blank.validate().unwrap_err().contains("#1"));
    }

    #[test]
    fn sign_key_is_validated_and_never_printed() {
        let m = ModifyEventConfig {
            sign_key: Some("abcSECRET123".into()),
            ..Default::default()
        };
        assert!(m.validate().is_ok());
        assert!(!format!("{m:?}").contains("abcSECRET123"));
        // The request body is the one place the value goes.
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"SignKey":"abcSECRET123"}"#
        );
        let bad = ModifyEventConfig {
            sign_key: Some("no spaces allowed".into()),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }
}
