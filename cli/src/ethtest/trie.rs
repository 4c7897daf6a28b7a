//! TrieTests: Merkle-Patricia roots of key/value sets, computed twice with the state crate: by
//! the reference [`parallax_state::trie_root`] / [`parallax_state::secure_trie_root`] over the
//! final contents, and by the incremental [`parallax_state::Trie`] applying the operations in
//! order (deletions included). Both must give the fixture's root.
//!
//! `in` is either a list of `[key, value]` insertions applied in order (a `null` or empty value
//! deletes the key) or an object of key/value pairs in any order. Keys and values starting with
//! `0x` are hex, anything else is raw UTF-8. Files whose name mentions `secureTrie` hash keys.

use std::path::Path;

use alloy_primitives::B256;
use serde_json::Value;

use super::{hex_or_raw, CaseResult, Suite};

/// Runs every test of a TrieTests file.
pub(crate) fn run_suite(file: &Path, tests: Suite) -> Vec<CaseResult> {
    let secure = file
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.to_ascii_lowercase().contains("securetrie"));
    tests
        .into_iter()
        .map(|(name, test)| {
            if test.get("tests").is_some() {
                return CaseResult::skipped(
                    file,
                    name,
                    "trie iteration (next/prev) tests are out of scope: no iterator API",
                );
            }
            match run_test(&test, secure) {
                Ok(()) => CaseResult::passed(file, name),
                Err(reason) => CaseResult::failed(file, name, reason),
            }
        })
        .collect()
}

fn run_test(test: &Value, secure: bool) -> Result<(), String> {
    let expected: B256 = test
        .get("root")
        .and_then(Value::as_str)
        .ok_or("malformed fixture: no root")?
        .parse()
        .map_err(|error| format!("malformed fixture: root: {error}"))?;
    let pairs = pairs(test.get("in").ok_or("malformed fixture: no `in`")?)?;
    let mut incremental = parallax_state::Trie::new();
    for (key, value) in &pairs {
        let key = if secure {
            alloy_primitives::keccak256(key).to_vec()
        } else {
            key.clone()
        };
        incremental.insert(&key, value.clone());
    }
    let root = if secure {
        parallax_state::secure_trie_root(pairs)
    } else {
        parallax_state::trie_root(pairs)
    };
    if root != expected {
        return Err(format!("root {root} != expected {expected}"));
    }
    if incremental.root() != expected {
        return Err(format!(
            "incremental trie root {} != expected {expected}",
            incremental.root()
        ));
    }
    Ok(())
}

/// Key/value insertions, in order.
pub type Insertions = Vec<(Vec<u8>, Vec<u8>)>;

/// The insertions of a test, in order; an empty value is a deletion.
pub fn pairs(input: &Value) -> Result<Insertions, String> {
    let value_bytes = |value: &Value| match value {
        Value::Null => Ok(Vec::new()),
        Value::String(text) => hex_or_raw(text),
        other => Err(format!("malformed fixture: value {other} is not a string")),
    };
    match input {
        Value::Array(items) => items
            .iter()
            .map(|item| match item.as_array().map(Vec::as_slice) {
                Some([Value::String(key), value]) => Ok((hex_or_raw(key)?, value_bytes(value)?)),
                _ => Err(format!(
                    "malformed fixture: insertion {item} is not [key, value]"
                )),
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| Ok((hex_or_raw(key)?, value_bytes(value)?)))
            .collect(),
        other => Err(format!("malformed fixture: `in` is {other}")),
    }
}
