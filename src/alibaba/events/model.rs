//! The building blocks of the generated payload structs: unknown fields kept as sent
//! ([`Extra`]), remembered key spellings, the IMS envelope ([`ImsEvent`]) and the
//! `payload!` macro that `generated.rs` uses for every struct.
//!
//! The structs are not `#[derive(Deserialize)]`d: serde's `flatten` (the usual way to keep
//! unknown fields) buffers the object, loses the JSON path of an error and cannot hold raw
//! values, so big integers would not survive. The macro writes a plain map visitor instead.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::scalar::{same_json, LenientNumber};

/// Fields an object had that the model does not know, in the order they came, each value
/// exactly as sent (numbers of any size, escapes, nesting).
#[derive(Clone, Default)]
pub struct Extra(Vec<(String, Box<RawValue>)>);

impl Extra {
    /// The raw value of an unknown field.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| &**v)
    }

    /// The unknown fields in the order they came.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), &**v))
    }

    /// How many unknown fields there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds an unknown field (written after the known ones when serialised).
    pub fn push(&mut self, key: impl Into<String>, value: Box<RawValue>) {
        self.0.push((key.into(), value));
    }

    /// Writes the unknown fields into a map being serialised.
    pub(crate) fn serialize_into<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        self.0
            .iter()
            .try_for_each(|(k, v)| map.serialize_entry(k, v))
    }
}

impl PartialEq for Extra {
    fn eq(&self, other: &Self) -> bool {
        // Order does not matter (a map reader may reorder keys), JSON text up to whitespace.
        fn sorted(e: &Extra) -> Vec<&(String, Box<RawValue>)> {
            let mut v: Vec<&(String, Box<RawValue>)> = e.0.iter().collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        }
        self.0.len() == other.0.len()
            && sorted(self)
                .into_iter()
                .zip(sorted(other))
                .all(|(a, b)| a.0 == b.0 && same_json(a.1.get(), b.1.get()))
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v.get())))
            .finish()
    }
}

/// Keys that arrived spelled differently from the model (`JobId` for `jobId`, `"SourceURL "`
/// with a trailing space), so they are written back as they came.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Spellings(Vec<(&'static str, Box<str>)>);

impl Spellings {
    /// The key to write for the model's `wire` name.
    pub(crate) fn key(&self, wire: &'static str) -> &str {
        self.0
            .iter()
            .find(|(w, _)| *w == wire)
            .map_or(wire, |(_, sent)| sent)
    }

    /// Remembers that `wire` came as `sent`.
    pub(crate) fn note(&mut self, wire: &'static str, sent: &str) {
        if sent != wire {
            // Sorted by the model's name, so equal events compare equal whatever the order
            // their keys came in.
            self.0.retain(|(w, _)| *w != wire);
            let at = self.0.partition_point(|(w, _)| *w < wire);
            self.0.insert(at, (wire, sent.into()));
        }
    }
}

/// The model name a key stands for: the name itself, one of its accepted aliases, or the name
/// with stray whitespace around it (a VOD sample sends `"SourceURL "`).
pub(crate) fn canonical(
    key: &str,
    fields: &[(&'static str, &[&'static str])],
) -> Option<&'static str> {
    let find = |k: &str| {
        fields
            .iter()
            .find(|(wire, aliases)| *wire == k || aliases.contains(&k))
            .map(|(wire, _)| *wire)
    };
    find(key).or_else(|| {
        let trimmed = key.trim();
        if trimmed.len() == key.len() {
            None
        } else {
            find(trimmed)
        }
    })
}

/// An IMS payload: the `MessageBody` of one EventType.
pub trait ImsBody: Default {
    /// The EventType this body belongs to.
    const EVENT_TYPE: &'static str;
}

/// An IMS event: `{"EventType", "UserId", "EventTime", "MessageBody": {...}}`, the envelope
/// fields typed and the body `B` generated per EventType.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ImsEvent<B> {
    /// `UserId`: the Alibaba Cloud account (a 16-digit integer; a number or a string).
    pub user_id: Option<LenientNumber>,
    /// `EventTime`: when the event happened, UTC (`2022-07-15T08:48:14Z`).
    pub event_time: Option<String>,
    /// `MessageBody`: the event's own fields.
    pub message_body: B,
    /// Top-level fields the model does not know, as sent.
    pub extra: Extra,
    /// The EventType as sent when it was an accepted alias of `B::EVENT_TYPE`.
    pub(crate) alias: Option<&'static str>,
    pub(crate) spellings: Spellings,
}

impl<B: ImsBody> ImsEvent<B> {
    /// The EventType as sent (an accepted alias, or `B::EVENT_TYPE`).
    pub fn event_type(&self) -> &'static str {
        self.alias.unwrap_or(B::EVENT_TYPE)
    }
}

const IMS_ENVELOPE: &[(&str, &[&str])] =
    &[("UserId", &[]), ("EventTime", &[]), ("MessageBody", &[])];

impl<B: ImsBody + Serialize> Serialize for ImsEvent<B> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("EventType", self.event_type())?;
        if let Some(v) = &self.user_id {
            map.serialize_entry(self.spellings.key("UserId"), v)?;
        }
        if let Some(v) = &self.event_time {
            map.serialize_entry(self.spellings.key("EventTime"), v)?;
        }
        map.serialize_entry(self.spellings.key("MessageBody"), &self.message_body)?;
        self.extra.serialize_into(&mut map)?;
        map.end()
    }
}

impl<'de, B: ImsBody + Deserialize<'de>> Deserialize<'de> for ImsEvent<B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<B>(PhantomData<B>);
        impl<'de, B: ImsBody + Deserialize<'de>> Visitor<'de> for V<B> {
            type Value = ImsEvent<B>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an IMS {} event object", B::EVENT_TYPE)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ImsEvent<B>, A::Error> {
                let mut out = ImsEvent::<B>::default();
                let mut body_seen = false;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "EventType" {
                        skip_value(&mut map)?;
                        continue;
                    }
                    let (extra, spellings) = (&mut out.extra, &mut out.spellings);
                    match canonical(&key, IMS_ENVELOPE) {
                        Some(wire @ "UserId") => {
                            read_field(&mut map, &mut out.user_id, spellings, wire, key, extra)?;
                        }
                        Some(wire @ "EventTime") => {
                            read_field(&mut map, &mut out.event_time, spellings, wire, key, extra)?;
                        }
                        Some("MessageBody") if !body_seen => {
                            body_seen = true;
                            out.message_body = map.next_value()?;
                            out.spellings.note("MessageBody", &key);
                        }
                        _ => out.extra.push(key, map.next_value()?),
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// Reads a known field's value into its slot unless the slot is already filled (then the
/// second occurrence is kept as an unknown field, so nothing is lost).
pub(crate) fn read_field<'de, A, T>(
    map: &mut A,
    slot: &mut Option<T>,
    spellings: &mut Spellings,
    wire: &'static str,
    key: String,
    extra: &mut Extra,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    if slot.is_some() {
        extra.push(key, map.next_value()?);
        return Ok(());
    }
    *slot = map.next_value()?;
    if slot.is_some() {
        // A `null` is written as absent, so its spelling does not matter.
        spellings.note(wire, &key);
    }
    Ok(())
}

/// Skips a top-level `EventType` (the variant says which it is), for the generated visitors.
pub(crate) fn skip_value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(drop)
}

/// The error for a generated struct that is not given an object.
pub(crate) fn expecting(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    write!(f, "a {name} object")
}

/// Defines one generated payload struct with its `Serialize` and `Deserialize`.
///
/// `vod "X"` marks a VOD event (the object is the whole event: `EventType` is written first
/// and skipped when reading); `ims "X"` marks the `MessageBody` of an IMS event.
macro_rules! payload {
    (
        $(#[$meta:meta])*
        $name:ident $(vod $vod:literal)? $(ims $ims:literal)? {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $wire:literal $(| $alias:literal)*;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: Option<$ty>,
            )*
            /// Fields the model does not know, as sent.
            pub extra: $crate::alibaba::events::Extra,
            spellings: $crate::alibaba::events::model::Spellings,
        }

        impl $name {
            const FIELDS: &'static [(&'static str, &'static [&'static str])] =
                &[$(($wire, &[$($alias),*])),*];
        }

        $(impl $crate::alibaba::events::ImsBody for $name {
            const EVENT_TYPE: &'static str = $ims;
        })?

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(None)?;
                $(map.serialize_entry("EventType", $vod)?;)?
                $(if let Some(v) = &self.$field {
                    map.serialize_entry(self.spellings.key($wire), v)?;
                })*
                self.extra.serialize_into(&mut map)?;
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        $crate::alibaba::events::model::expecting(f, stringify!($name))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        use $crate::alibaba::events::model::{canonical, read_field};
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<String>()? {
                            $(if key == "EventType" {
                                let _ = $vod;
                                $crate::alibaba::events::model::skip_value(&mut map)?;
                                continue;
                            })?
                            match canonical(&key, $name::FIELDS) {
                                $(Some($wire) => read_field(
                                    &mut map, &mut out.$field, &mut out.spellings, $wire, key, &mut out.extra,
                                )?,)*
                                _ => out.extra.push(key, map.next_value()?),
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

pub(crate) use payload;
