//! [`PayloadDecoder`], through which the generated `decode_payload` gets a payload whatever
//! the source of the JSON, and its two text-based implementations: [`RawDecoder`] (raw JSON
//! text) and [`ValueDecoder`] (an already-parsed [`Value`]).

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::Value;

use super::generated::EVENT_TYPES;
use super::locate::locate;
use super::path::{strip_position, PayloadError};

/// Produces the payload of one EventType, whatever the source of the JSON is.
pub(super) trait PayloadDecoder {
    /// Error produced when the payload does not match the model.
    type Error;
    /// Decodes the payload as `T` (`None` when the field is absent or `null`).
    fn decode<T: DeserializeOwned>(self) -> Result<Option<Box<T>>, Self::Error>;
}

/// Decodes a payload from its raw JSON text; re-parses with path tracking only on error.
pub(super) struct RawDecoder<'a> {
    pub(super) field: &'static str,
    pub(super) raw: Option<&'a RawValue>,
}

impl PayloadDecoder for RawDecoder<'_> {
    type Error = PayloadError;

    fn decode<T: DeserializeOwned>(self) -> Result<Option<Box<T>>, PayloadError> {
        let Some(raw) = self.raw else { return Ok(None) };
        match serde_json::from_str::<Option<Box<T>>>(raw.get()) {
            Ok(v) => Ok(v),
            Err(fast_err) => {
                // Rare: find where the payload departs from the model.
                let struct_name = EVENT_TYPES
                    .iter()
                    .find(|i| i.payload_field == self.field)
                    .map(|i| i.payload_struct);
                let mut path = self.field.to_owned();
                match struct_name.and_then(|s| locate(s, raw, &mut path)) {
                    Some(message) => Err(PayloadError { path, message }),
                    None => Err(PayloadError {
                        path: self.field.to_owned(),
                        message: strip_position(fast_err.to_string()),
                    }),
                }
            }
        }
    }
}

/// Decodes the payload from an already-parsed [`Value`] (rare: a payload that came before
/// `EventType` in the generic path, or [`super::UnknownEvent::decode_as`]). The value is written back
/// to text and decoded like raw input, so no extra `Value`-deserializer code is generated for
/// the 318 structs.
pub(super) struct ValueDecoder {
    pub(super) field: &'static str,
    pub(super) value: Option<Value>,
}

impl PayloadDecoder for ValueDecoder {
    type Error = PayloadError;

    fn decode<T: DeserializeOwned>(self) -> Result<Option<Box<T>>, PayloadError> {
        let Some(value) = self.value else {
            return Ok(None);
        };
        let text = value.to_string();
        let raw: Option<&RawValue> = serde_json::from_str(&text).ok();
        match raw {
            Some(raw) => RawDecoder {
                field: self.field,
                raw: Some(raw),
            }
            .decode(),
            None => Err(PayloadError {
                path: self.field.to_owned(),
                message: "payload is not valid JSON".to_owned(),
            }),
        }
    }
}
