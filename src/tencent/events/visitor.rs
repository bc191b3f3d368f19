//! The generic `Deserialize` implementation of [`Event`] (any serde deserializer, with path
//! tracking on error). Like the raw-text decoder it dispatches through the generated
//! `decode_payload`, so the two agree on which payload field belongs to which EventType.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::generated::{decode_payload, payload_field_of};
use super::path::{join_path, strip_position};
use super::payload::{PayloadDecoder, ValueDecoder};
use super::scan::{Key, EVENT_HANDLE, EVENT_TYPE};
use super::{Event, UnknownEvent};

/// Deserialises a payload with path tracking, turning errors into `PayloadField.Path: msg`.
struct TrackedSeed<T> {
    field: &'static str,
    marker: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for TrackedSeed<T> {
    type Value = Option<Box<T>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let mut track = serde_path_to_error::Track::new();
        match Option::<Box<T>>::deserialize(serde_path_to_error::Deserializer::new(d, &mut track)) {
            Ok(v) => Ok(v),
            Err(e) => {
                let path = join_path(self.field, &track.path());
                Err(de::Error::custom(format_args!(
                    "{path}: {}",
                    strip_position(e.to_string())
                )))
            }
        }
    }
}

/// Decodes the payload from the value the map access is positioned at.
struct MapDecoder<'m, 'de, A> {
    map: &'m mut A,
    field: &'static str,
    marker: PhantomData<&'de ()>,
}

impl<'de, A: MapAccess<'de>> PayloadDecoder for MapDecoder<'_, 'de, A> {
    type Error = A::Error;

    fn decode<T: DeserializeOwned>(self) -> Result<Option<Box<T>>, A::Error> {
        self.map.next_value_seed(TrackedSeed::<T> {
            field: self.field,
            marker: PhantomData,
        })
    }
}

/// Visitor behind `impl Deserialize for Event`.
///
/// Entries before `EventType` are buffered as [`Value`]s; once the EventType is known, its
/// payload is decoded straight from the input and the other entries are skipped (the service
/// sends `EventType` first, so in practice nothing is buffered). For an unknown EventType the
/// whole object except `EventHandle` is kept.
pub(super) struct EventVisitor;

impl<'de> de::Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an EventContent object with an EventType")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut event_type: Option<String> = None;
        let mut field: Option<&'static str> = None;
        let mut typed: Option<Event> = None;
        let mut buffered: Map<String, Value> = Map::new();

        while let Some(Key(key)) = map.next_key()? {
            if key == EVENT_HANDLE {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if key == EVENT_TYPE {
                if event_type.is_some() {
                    return Err(de::Error::duplicate_field(EVENT_TYPE));
                }
                let t: String = map.next_value()?;
                field = payload_field_of(&t);
                match field {
                    Some(f) => {
                        if let Some(v) = buffered.remove(f) {
                            let decoder = ValueDecoder {
                                field: f,
                                value: Some(v),
                            };
                            typed = Some(from_value_decoder::<A::Error>(&t, decoder)?);
                        }
                        buffered = Map::new();
                    }
                    None => {
                        buffered.insert(EVENT_TYPE.to_owned(), Value::String(t.clone()));
                    }
                }
                event_type = Some(t);
                continue;
            }
            match (&event_type, field) {
                (Some(t), Some(f)) if key == f => {
                    let decoder = MapDecoder {
                        map: &mut map,
                        field: f,
                        marker: PhantomData,
                    };
                    typed = Some(match decode_payload(t, decoder)? {
                        Some(event) => event,
                        None => return Err(de::Error::custom("no decoder for this EventType")),
                    });
                }
                (Some(_), Some(_)) => {
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    let v: Value = map.next_value()?;
                    buffered.insert(key.into_owned(), v);
                }
            }
        }

        let Some(t) = event_type else {
            return Err(de::Error::missing_field(EVENT_TYPE));
        };
        if field.is_none() {
            return Ok(Event::Unknown(Box::new(UnknownEvent {
                event_type: t,
                object: buffered,
            })));
        }
        match typed {
            Some(event) => Ok(event),
            None => {
                let decoder = ValueDecoder {
                    field: field.unwrap_or_default(),
                    value: None,
                };
                from_value_decoder(&t, decoder)
            }
        }
    }
}

fn from_value_decoder<E: de::Error>(event_type: &str, decoder: ValueDecoder) -> Result<Event, E> {
    match decode_payload(event_type, decoder) {
        Ok(Some(event)) => Ok(event),
        Err(e) => Err(E::custom(e)),
        Ok(None) => Err(E::custom("no decoder for this EventType")),
    }
}
