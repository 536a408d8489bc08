//! The JSON the console reads, field for field as Weave Scope's API writes it
//! (`render/detailed/*.go`, `report/metadata_template.go`, `report/table.go`): camelCase keys
//! (`labelMinor`, `topologyId`, `dataType`), optional fields omitted when empty.

use std::sync::Arc;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use scope_report::Millis;

use crate::text::Text;

fn is_false(b: &bool) -> bool {
    !*b
}

fn no_parents(p: &Arc<[Parent]>) -> bool {
    p.is_empty()
}

/// A node as the topology view shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeSummary {
    /// Node id.
    pub id: Text,
    /// Main label.
    pub label: Text,
    /// Second label line.
    #[serde(rename = "labelMinor")]
    pub label_minor: Text,
    /// Layout key: nodes of equal rank are drawn together.
    pub rank: Text,
    /// "square", "hexagon", "circle", "cloud".
    pub shape: &'static str,
    /// Decoration (e.g. "camera"), when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Drawn as a stack: the node stands for several.
    #[serde(skip_serializing_if = "is_false")]
    pub stack: bool,
    /// Stands for no single reported thing (the Internet, uncontained processes).
    #[serde(skip_serializing_if = "is_false")]
    pub pseudo: bool,
    /// Metadata rows, by priority.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<MetadataRow>,
    /// Links to the node's parents; shared between nodes with the same parents (thousands of
    /// processes have the same container and host).
    #[serde(skip_serializing_if = "no_parents")]
    pub parents: Arc<[Parent]>,
    /// Metric rows, by priority.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricRow>,
    /// Tables (Docker labels).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<Table>,
    /// Ids of the nodes this one has edges to, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adjacency: Vec<Text>,
}

/// One metadata row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetadataRow {
    /// Key.
    pub id: &'static str,
    /// Label.
    pub label: &'static str,
    /// Value, as text.
    pub value: Text,
    /// Ordering; lower first.
    pub priority: u32,
    /// "number", "duration", "datetime", "ip" for sorting and formatting.
    #[serde(rename = "dataType", skip_serializing_if = "Option::is_none")]
    pub data_type: Option<&'static str>,
    /// Show only this many characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate: Option<u32>,
}

/// One metric row with its sparkline samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    /// Metric key.
    pub id: &'static str,
    /// Label.
    pub label: &'static str,
    /// "percent", "filesize", "integer"; omitted for plain numbers.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub format: &'static str,
    /// Rows of one group are drawn together (e.g. "load").
    #[serde(skip_serializing_if = "str::is_empty")]
    pub group: &'static str,
    /// The newest value.
    pub value: f64,
    /// Ordering; lower first.
    pub priority: u32,
    /// Samples, oldest first; only in node details (summaries carry the newest value only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<SampleRow>,
    /// Scale minimum.
    pub min: f64,
    /// Scale maximum (0 when unknown).
    pub max: f64,
}

/// One sample; `date` is written as RFC 3339 UTC, as Go's `time.Time` is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRow {
    /// Sample time, ms since the epoch.
    pub date: Millis,
    /// Value.
    pub value: f64,
}

impl Serialize for SampleRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Sample", 2)?;
        st.serialize_field("date", &rfc3339(self.date))?;
        st.serialize_field("value", &self.value)?;
        st.end()
    }
}

/// `ms` since the epoch as "2024-05-01T12:00:00.123Z".
pub fn rfc3339(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant), proleptic Gregorian.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// A link to a parent node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parent {
    /// Parent node id.
    pub id: Text,
    /// Its label.
    pub label: Text,
    /// The view it is shown in.
    #[serde(rename = "topologyId")]
    pub topology_id: &'static str,
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// Key of the cell in each row.
    pub id: &'static str,
    /// Header.
    pub label: &'static str,
    /// "number" etc. for sorting.
    #[serde(rename = "dataType", skip_serializing_if = "Option::is_none")]
    pub data_type: Option<&'static str>,
    /// The table is sorted by this column at first.
    #[serde(rename = "defaultSort", skip_serializing_if = "is_false")]
    pub default_sort: bool,
}

impl Column {
    pub(crate) const fn new(id: &'static str, label: &'static str) -> Column {
        Column {
            id,
            label,
            data_type: None,
            default_sort: false,
        }
    }

    pub(crate) const fn number(id: &'static str, label: &'static str) -> Column {
        Column {
            id,
            label,
            data_type: Some("number"),
            default_sort: false,
        }
    }
}

/// A property-list table (label/value rows), e.g. Docker labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    /// Table id (the latest-key prefix).
    pub id: &'static str,
    /// Title.
    pub label: &'static str,
    /// "property-list".
    #[serde(rename = "type")]
    pub table_type: &'static str,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows, sorted by id.
    pub rows: Vec<TableRow>,
}

/// One row of a property list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRow {
    /// `label_<key>`.
    pub id: String,
    /// The cells.
    pub entries: TableEntries,
}

/// The cells of a property-list row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableEntries {
    /// Property name.
    pub label: String,
    /// Property value.
    pub value: String,
}

/// The diff frames of the topology WebSocket: the first frame resets, later ones add, update
/// and remove.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diff {
    /// Replace everything the client has with `add`.
    pub reset: bool,
    /// New nodes.
    pub add: Vec<NodeSummary>,
    /// Changed nodes, whole.
    pub update: Vec<NodeSummary>,
    /// Ids of nodes gone.
    pub remove: Vec<String>,
}

impl Diff {
    /// Whether this frame changes nothing (such frames need not be sent).
    pub fn is_empty(&self) -> bool {
        !self.reset && self.add.is_empty() && self.update.is_empty() && self.remove.is_empty()
    }
}

impl Serialize for Diff {
    /// Empty lists are omitted, as Scope's `omitempty` does, except `add` on a reset: a reset
    /// to nothing must still say so.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Diff", 4)?;
        if self.reset {
            st.serialize_field("reset", &true)?;
        } else {
            st.skip_field("reset")?;
        }
        if self.reset || !self.add.is_empty() {
            st.serialize_field("add", &self.add)?;
        } else {
            st.skip_field("add")?;
        }
        if self.update.is_empty() {
            st.skip_field("update")?;
        } else {
            st.serialize_field("update", &self.update)?;
        }
        if self.remove.is_empty() {
            st.skip_field("remove")?;
        } else {
            st.serialize_field("remove", &self.remove)?;
        }
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_714_564_800_000), "2024-05-01T12:00:00.000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }
}
