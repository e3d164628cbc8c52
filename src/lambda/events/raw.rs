//! The serde shapes of every HTTP event, read in one pass and borrowing from the event where JSON has
//! no escapes. Maps are ordered pairs (never a `HashMap`): header and query order reach PHP as sent.
//!
//! Values are lenient where real events are: hand-written test events (SAM `local invoke`, Bref's
//! fixtures) give header values as JSON numbers or booleans (`"Content-Length": 13`), which are taken
//! as their text; `null` is skipped. An object or array where a value belongs is still an error, and
//! the error names the key.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawEvent<'a> {
    #[serde(borrow, default)]
    pub version: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub http_method: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub path: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub raw_path: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub raw_query_string: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub headers: Option<Pairs<'a>>,
    #[serde(borrow, default)]
    pub multi_value_headers: Option<MultiPairs<'a>>,
    #[serde(borrow, default)]
    pub query_string_parameters: Option<Pairs<'a>>,
    #[serde(borrow, default)]
    pub multi_value_query_string_parameters: Option<MultiPairs<'a>>,
    #[serde(borrow, default)]
    pub cookies: Option<Vec<Str<'a>>>,
    #[serde(borrow, default)]
    pub body: Option<Body<'a>>,
    #[serde(default)]
    pub is_base64_encoded: Option<bool>,
    #[serde(borrow, default)]
    pub request_context: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct RequestContext<'a> {
    #[serde(default)]
    pub elb: Option<de::IgnoredAny>,
    #[serde(borrow, default)]
    pub http: Option<ContextHttp<'a>>,
    #[serde(borrow, default)]
    pub identity: Option<Identity<'a>>,
    #[serde(borrow, default)]
    pub protocol: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub domain_name: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ContextHttp<'a> {
    #[serde(borrow, default)]
    pub method: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub source_ip: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub protocol: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Identity<'a> {
    #[serde(borrow, default)]
    pub source_ip: Option<Str<'a>>,
}

/// A string borrowed from the event when it has no escapes.
#[derive(Deserialize)]
pub(super) struct Str<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// The body string as bytes, borrowed from the event when it has no escapes. Read as bytes, serde_json
/// finds the string's end with memchr and checks neither UTF-8 nor stray control bytes: a 1.4 MB
/// base64 body took 250 µs with its strict string scan, and PHP gets bytes either way. (Lambda's
/// events are valid JSON; a malformed body string is passed on rather than refused.)
pub(super) struct Body<'a>(pub Cow<'a, [u8]>);

impl<'de: 'a, 'a> Deserialize<'de> for Body<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Body<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_bytes<E>(self, v: &'de [u8]) -> Result<Self::Value, E> {
                Ok(Body(Cow::Borrowed(v)))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(Body(Cow::Owned(v.to_vec())))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Body(Cow::Borrowed(v.as_bytes())))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Body(Cow::Owned(v.as_bytes().to_vec())))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// A JSON object of scalars, in document order; `null` values are skipped.
pub(super) struct Pairs<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);
/// A JSON object of scalar arrays (or lone scalars), in document order; `null`s are skipped.
pub(super) struct MultiPairs<'a>(pub Vec<(Cow<'a, str>, Vec<Cow<'a, str>>)>);

/// A value that stands where a string belongs: strings as they are, numbers and booleans as their
/// JSON text, `null` as nothing.
struct Scalar<'a>(Option<Cow<'a, str>>);

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Owned(v))))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Borrowed(if v {
            "true"
        } else {
            "false"
        }))))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar(None))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// The values under one key of a multi-value map: an array of scalars, or (hand-written events) one
/// scalar.
struct Many<'a>(Vec<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Many<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Many<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(Scalar(value)) = seq.next_element::<Scalar<'de>>()? {
                    values.extend(value);
                }
                Ok(Many(values))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Many(Vec::new()))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Many(vec![Cow::Borrowed(v)]))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Many(vec![Cow::Owned(v.to_owned())]))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Many(vec![Cow::Owned(v.to_string())]))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Many(vec![Cow::Owned(v.to_string())]))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Many(vec![Cow::Owned(v.to_string())]))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Many(vec![Cow::Borrowed(if v { "true" } else { "false" })]))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a JSON object as ordered pairs; a bad value's error names its key.
fn pairs<'de, M, T>(mut map: M) -> Result<Vec<(Cow<'de, str>, T)>, M::Error>
where
    M: MapAccess<'de>,
    T: Deserialize<'de>,
{
    let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(8));
    while let Some(key) = map.next_key::<Str<'de>>()? {
        let value = map
            .next_value::<T>()
            .map_err(|e| de::Error::custom(format_args!("{:?}: {e}", &*key)))?;
        pairs.push((key.0, value));
    }
    Ok(pairs)
}

impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                let pairs = pairs::<M, Scalar<'de>>(map)?;
                Ok(Pairs(
                    pairs
                        .into_iter()
                        .filter_map(|(k, Scalar(v))| v.map(|v| (k, v)))
                        .collect(),
                ))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for MultiPairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MultiPairs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string arrays")
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                let pairs = pairs::<M, Many<'de>>(map)?;
                Ok(MultiPairs(
                    pairs.into_iter().map(|(k, Many(v))| (k, v)).collect(),
                ))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_without_escapes_are_borrowed_from_the_event() {
        // serde's own `Option<Cow<str>>` always copies, whatever `#[serde(borrow)]` says: a 1.4 MB
        // base64 body was copied into a fresh String (and its pages faulted in) on every upload.
        let event = br#"{"version":"2.0","rawPath":"/a","body":"aGVsbG8=","requestContext":{"http":{"method":"POST","sourceIp":"1.2.3.4"}}}"#;
        let raw: RawEvent<'_> = serde_json::from_slice(event).expect("parses");
        for value in [&raw.version, &raw.raw_path] {
            assert!(matches!(value, Some(Str(Cow::Borrowed(_)))));
        }
        assert!(matches!(raw.body, Some(Body(Cow::Borrowed(b"aGVsbG8=")))));
        let context: RequestContext<'_> =
            serde_json::from_str(raw.request_context.expect("context").get()).expect("parses");
        let http = context.http.expect("http");
        assert!(matches!(http.method, Some(Str(Cow::Borrowed("POST")))));
        assert!(matches!(
            http.source_ip,
            Some(Str(Cow::Borrowed("1.2.3.4")))
        ));
        // With an escape, a copy is the only way.
        let raw: RawEvent<'_> =
            serde_json::from_slice(br#"{"body":"a\"b\u00e9"}"#).expect("parses");
        assert!(matches!(raw.body, Some(Body(Cow::Owned(ref b))) if b == "a\"bé".as_bytes()));
        // No body, and a body that is no string.
        let raw: RawEvent<'_> = serde_json::from_slice(br#"{"body":null}"#).expect("parses");
        assert!(raw.body.is_none());
        assert!(serde_json::from_slice::<RawEvent<'_>>(br#"{"body":{"a":1}}"#).is_err());
    }
}
