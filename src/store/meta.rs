//! Typed values in the store's meta space: one JSON document per key
//! (command intents, advisory records, credit consents). A value that no
//! longer decodes is reported as corrupt under its key, never skipped.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Store, StoreError};

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(key.to_string(), e.to_string()))
}

/// The value under `key`, if any.
pub fn load<T: DeserializeOwned>(store: &dyn Store, key: &str) -> Result<Option<T>, StoreError> {
    store.meta_get(key)?.map(|v| decode(key, &v)).transpose()
}

/// Every value whose key starts with `prefix`, in key order.
pub fn scan<T: DeserializeOwned>(store: &dyn Store, prefix: &str) -> Result<Vec<T>, StoreError> {
    store
        .meta_scan(prefix)?
        .iter()
        .map(|(k, v)| decode(k, v))
        .collect()
}

/// Writes `value` under `key`; `synced` right before a side effect.
pub fn save<T: Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
    synced: bool,
) -> Result<(), StoreError> {
    // The values are structs of strings, numbers and dates: serialising
    // them cannot fail.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    store.meta_put(key, &bytes, synced)
}
