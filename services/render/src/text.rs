//! [`Text`]: the immutable, cheaply cloned string of summaries.
//!
//! A 30,000-process view repeats the same few names, commands, hosts and ids thousands of times
//! (every edge names its target). Sharing one allocation per distinct value, instead of one per
//! use, halves the allocations of a render and the page faults that come with them.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::fxhash::FxHashMap;

/// An immutable string; clones share it. Compares, hashes and orders as `str`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

impl Text {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Arc::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Arc::from(s))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.as_str().to_owned()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One [`Text`] per distinct string borrowed from the report, for the life of one render.
pub(crate) struct Interner<'r> {
    map: FxHashMap<&'r str, Text>,
    empty: Text,
}

impl<'r> Interner<'r> {
    pub fn new() -> Interner<'r> {
        Interner {
            map: FxHashMap::default(),
            empty: Text::from(""),
        }
    }

    /// The shared copy of `s`.
    pub fn get(&mut self, s: &'r str) -> Text {
        if s.is_empty() {
            return self.empty.clone();
        }
        self.map.entry(s).or_insert_with(|| Text::from(s)).clone()
    }

    /// The empty string, without allocating.
    pub fn empty(&self) -> Text {
        self.empty.clone()
    }
}
