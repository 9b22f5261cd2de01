//! Deserializers that turn a wrong-typed value into `None` instead of an error.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn whole(value: &Value) -> Option<u64> {
    if let Value::Number(n) = value {
        if let Some(v) = n.as_u64() {
            return Some(v);
        }
    }
    let v = number(value)?;
    // `as` saturates; only finite, non-negative values get here.
    (v.is_finite() && v >= 0.0).then(|| v.round() as u64)
}

pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(number(&Value::deserialize(d)?).filter(|v| v.is_finite()))
}

pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(whole(&Value::deserialize(d)?))
}

pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(whole(&Value::deserialize(d)?).and_then(|v| u32::try_from(v).ok()))
}

pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Value::deserialize(d)?;
    if let Value::Number(n) = &value {
        if let Some(v) = n.as_i64() {
            return Ok(Some(v));
        }
    }
    // `as` saturates on out-of-range floats.
    Ok(number(&value).filter(|v| v.is_finite()).map(|v| v.round() as i64))
}

pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        _ => None,
    })
}

/// A list whose items that do not fit `T` are skipped.
pub fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<Vec<T>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => Some(items.into_iter().filter_map(|item| serde_json::from_value(item).ok()).collect()),
        _ => None,
    })
}
