//! Prometheus metrics for `/metrics`, one registry per process, with per-tenant series.
//!
//! The recording calls are on hot paths (every report, every HTTP request): an existing series
//! costs hashing the label values, a read lock and an atomic add, with no allocation. Only the
//! first sample of a new label set takes the write lock.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt::{Display, Write as _};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{LazyLock, PoisonError, RwLock};

/// `Content-Type` of [`Metrics::render_prometheus`] output (text exposition format 0.0.4).
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Render times: a cached topology renders in well under a millisecond, a large uncached one
/// in seconds.
const RENDER_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Prometheus' conventional HTTP latency buckets.
const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's registry.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// All of Scope's application metrics. Use [`metrics()`]; separate instances exist for tests.
#[derive(Debug)]
pub struct Metrics {
    reports_received: Family<1, Counter>,
    report_bytes_received: Family<1, Counter>,
    reports_rejected: Family<2, Counter>,
    probes_connected: Family<1, Gauge>,
    viewers: Family<1, Gauge>,
    render_seconds: Family<2, Histogram>,
    http_requests: Family<3, Counter>,
    http_request_seconds: Family<1, Histogram>,
    signin_attempts: Family<1, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            reports_received: Family::new(["tenant"], Counter::default),
            report_bytes_received: Family::new(["tenant"], Counter::default),
            reports_rejected: Family::new(["tenant", "reason"], Counter::default),
            probes_connected: Family::new(["tenant"], Gauge::default),
            viewers: Family::new(["tenant"], Gauge::default),
            render_seconds: Family::new(["tenant", "topology"], || Histogram::new(RENDER_BUCKETS)),
            http_requests: Family::new(["route", "method", "status"], Counter::default),
            http_request_seconds: Family::new(["route"], || Histogram::new(HTTP_BUCKETS)),
            signin_attempts: Family::new(["result"], Counter::default),
        }
    }

    /// A report of `bytes` (as received, before decoding) was accepted for `tenant`.
    pub fn reports_received(&self, tenant: &str, bytes: u64) {
        self.reports_received.with([tenant], |c| c.add(1));
        self.report_bytes_received.with([tenant], |c| c.add(bytes));
    }

    /// A report was refused. `tenant` is `"unknown"` (or similar) when authentication failed.
    pub fn reports_rejected(&self, tenant: &str, reason: &str) {
        self.reports_rejected.with([tenant, reason], |c| c.add(1));
    }

    pub fn probe_connected(&self, tenant: &str) {
        self.probes_connected.with([tenant], |g| g.add(1));
    }

    pub fn probe_disconnected(&self, tenant: &str) {
        self.probes_connected.with([tenant], |g| g.add(-1));
    }

    /// Counts a probe connection until the guard drops, so every exit path decrements.
    pub fn probe_guard(&self, tenant: &str) -> ConnectionGuard<'_> {
        self.probe_connected(tenant);
        ConnectionGuard {
            gauge: &self.probes_connected,
            tenant: tenant.to_owned(),
        }
    }

    pub fn viewer_opened(&self, tenant: &str) {
        self.viewers.with([tenant], |g| g.add(1));
    }

    pub fn viewer_closed(&self, tenant: &str) {
        self.viewers.with([tenant], |g| g.add(-1));
    }

    /// Counts an open viewer WebSocket until the guard drops.
    pub fn viewer_guard(&self, tenant: &str) -> ViewerGuard<'_> {
        self.viewer_opened(tenant);
        ConnectionGuard {
            gauge: &self.viewers,
            tenant: tenant.to_owned(),
        }
    }

    pub fn render_observed(&self, tenant: &str, topology: &str, seconds: f64) {
        self.render_seconds
            .with([tenant, topology], |h| h.observe(seconds));
    }

    /// `route` must be the route template (`/api/topology/{id}`), not the raw path, or every
    /// distinct URL becomes a series.
    pub fn http_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut digits = [0u8; 3];
        let status = status_str(status, &mut digits);
        self.http_requests
            .with([route, method, status], |c| c.add(1));
        self.http_request_seconds
            .with([route], |h| h.observe(seconds));
    }

    /// `result`: a small fixed set such as `ok`, `bad_password`, `unknown_user`, `locked`.
    pub fn signin_attempt(&self, result: &str) {
        self.signin_attempts.with([result], |c| c.add(1));
    }

    /// All series in the Prometheus text exposition format 0.0.4, families in a fixed order and
    /// series sorted by label values so that scrapes diff cleanly.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        header(
            &mut out,
            "scope_build_info",
            "Scope build; the value is always 1.",
            "gauge",
        );
        sample(
            &mut out,
            "scope_build_info",
            &["version"],
            &[env!("CARGO_PKG_VERSION")],
            None,
            1,
        );
        self.reports_received.render(
            &mut out,
            "scope_reports_received_total",
            "Reports accepted from probes.",
        );
        self.report_bytes_received.render(
            &mut out,
            "scope_report_bytes_received_total",
            "Bytes of accepted probe reports, as received.",
        );
        self.reports_rejected.render(
            &mut out,
            "scope_reports_rejected_total",
            "Reports refused, by reason.",
        );
        self.probes_connected.render(
            &mut out,
            "scope_probes_connected",
            "Probes currently connected to this replica.",
        );
        self.viewers.render(
            &mut out,
            "scope_viewers",
            "Open viewer WebSockets on this replica.",
        );
        self.render_seconds.render(
            &mut out,
            "scope_render_seconds",
            "Time to render a topology.",
        );
        self.http_requests.render(
            &mut out,
            "scope_http_requests_total",
            "HTTP requests served, by route template, method and status.",
        );
        self.http_request_seconds.render(
            &mut out,
            "scope_http_request_seconds",
            "HTTP request latency by route template.",
        );
        self.signin_attempts.render(
            &mut out,
            "scope_signin_attempts_total",
            "Sign-in attempts by result.",
        );
        out
    }
}

/// Three ASCII digits for a real HTTP status without allocating; anything else is `"other"`
/// (only a broken caller produces it, and it must not mint unbounded series).
fn status_str(status: u16, buf: &mut [u8; 3]) -> &str {
    if !(100..=999).contains(&status) {
        return "other";
    }
    *buf = [
        b'0' + (status / 100) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ];
    // ASCII digits by construction, so the fallback is never taken.
    std::str::from_utf8(buf).unwrap_or("other")
}

/// Decrements its gauge for its tenant when dropped.
#[derive(Debug)]
#[must_use = "the gauge is decremented as soon as the guard drops"]
pub struct ConnectionGuard<'a> {
    gauge: &'a Family<1, Gauge>,
    tenant: String,
}

/// Returned by [`Metrics::viewer_guard`].
pub type ViewerGuard<'a> = ConnectionGuard<'a>;

impl Drop for ConnectionGuard<'_> {
    fn drop(&mut self) {
        self.gauge.with([&self.tenant], |g| g.add(-1));
    }
}

#[derive(Debug, Default)]
struct Counter(AtomicU64);

impl Counter {
    fn add(&self, n: u64) {
        // Relaxed: each counter is independent and only its total matters.
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

#[derive(Debug, Default)]
struct Gauge(AtomicI64);

impl Gauge {
    fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Histogram {
    /// Upper bounds, ascending; the +Inf bucket is implicit.
    bounds: &'static [f64],
    /// Per-bucket (not cumulative) counts, one more than `bounds` for +Inf. Cumulated when
    /// rendered, and `_count` is their total, so `le="+Inf"` always equals `_count`.
    counts: Box<[AtomicU64]>,
    /// f64 bits, added with a compare-and-swap loop.
    sum: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    fn observe(&self, seconds: f64) {
        // A NaN would poison _sum forever and a negative duration is a clock bug; neither is a
        // latency.
        if !seconds.is_finite() || seconds < 0.0 {
            return;
        }
        // Buckets are `le` (inclusive): the first bound >= seconds.
        let index = self.bounds.partition_point(|&bound| bound < seconds);
        self.counts[index].fetch_add(1, Ordering::Relaxed);
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + seconds).to_bits())
            });
    }
}

/// A value per label set. Values live in the map; the map only grows (Prometheus series are
/// not deleted while the process runs).
#[derive(Debug)]
struct Family<const N: usize, V> {
    label_names: [&'static str; N],
    make: fn() -> V,
    hasher: RandomState,
    /// Keyed by the hash of the label values so a lookup needs only `&str`s; the bucket vector
    /// resolves (rare) hash collisions.
    series: RwLock<HashMap<u64, Vec<Series<N, V>>>>,
}

#[derive(Debug)]
struct Series<const N: usize, V> {
    labels: [String; N],
    value: V,
}

impl<const N: usize, V> Series<N, V> {
    fn has_labels(&self, labels: &[&str; N]) -> bool {
        self.labels.iter().zip(labels).all(|(a, b)| a == b)
    }
}

impl<const N: usize, V> Family<N, V> {
    fn new(label_names: [&'static str; N], make: fn() -> V) -> Self {
        Self {
            label_names,
            make,
            hasher: RandomState::new(),
            series: RwLock::new(HashMap::new()),
        }
    }

    fn with<R>(&self, labels: [&str; N], f: impl FnOnce(&V) -> R) -> R {
        let hash = self.hasher.hash_one(labels);
        {
            // A panic elsewhere cannot leave the map half-updated (inserts are single pushes),
            // so a poisoned lock is still safe to use.
            let map = self.series.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(series) = map
                .get(&hash)
                .and_then(|bucket| bucket.iter().find(|s| s.has_labels(&labels)))
            {
                return f(&series.value);
            }
        }
        let mut map = self.series.write().unwrap_or_else(PoisonError::into_inner);
        let bucket = map.entry(hash).or_default();
        // Another thread may have inserted the series between the two locks.
        let index = match bucket.iter().position(|s| s.has_labels(&labels)) {
            Some(index) => index,
            None => {
                bucket.push(Series {
                    labels: labels.map(str::to_owned),
                    value: (self.make)(),
                });
                bucket.len() - 1
            }
        };
        f(&bucket[index].value)
    }

    /// The series' label values and a snapshot of each value, sorted by labels.
    fn snapshot<T>(&self, read: impl Fn(&V) -> T) -> Vec<([String; N], T)> {
        let map = self.series.read().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<_> = map
            .values()
            .flatten()
            .map(|s| (s.labels.clone(), read(&s.value)))
            .collect();
        drop(map);
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    fn label_values(labels: &[String; N]) -> [&str; N] {
        std::array::from_fn(|i| labels[i].as_str())
    }
}

impl<const N: usize> Family<N, Counter> {
    fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, help, "counter");
        for (labels, value) in self.snapshot(|c| c.0.load(Ordering::Relaxed)) {
            sample(
                out,
                name,
                &self.label_names,
                &Self::label_values(&labels),
                None,
                value,
            );
        }
    }
}

impl<const N: usize> Family<N, Gauge> {
    fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, help, "gauge");
        for (labels, value) in self.snapshot(|g| g.0.load(Ordering::Relaxed)) {
            sample(
                out,
                name,
                &self.label_names,
                &Self::label_values(&labels),
                None,
                value,
            );
        }
    }
}

impl<const N: usize> Family<N, Histogram> {
    fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, help, "histogram");
        let bucket_name = format!("{name}_bucket");
        let sum_name = format!("{name}_sum");
        let count_name = format!("{name}_count");
        let snapshot = self.snapshot(|h| {
            let counts: Vec<u64> = h.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
            (
                h.bounds,
                counts,
                f64::from_bits(h.sum.load(Ordering::Relaxed)),
            )
        });
        for (labels, (bounds, counts, sum)) in snapshot {
            let values = Self::label_values(&labels);
            let mut cumulative = 0u64;
            for (i, count) in counts.iter().enumerate() {
                cumulative += count;
                let le = match bounds.get(i) {
                    Some(bound) => bound.to_string(),
                    None => "+Inf".to_owned(),
                };
                sample(
                    out,
                    &bucket_name,
                    &self.label_names,
                    &values,
                    Some(("le", &le)),
                    cumulative,
                );
            }
            sample(out, &sum_name, &self.label_names, &values, None, sum);
            sample(
                out,
                &count_name,
                &self.label_names,
                &values,
                None,
                cumulative,
            );
        }
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    // HELP text escapes only backslash and newline (format 0.0.4).
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\n');
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(
    out: &mut String,
    name: &str,
    label_names: &[&str],
    label_values: &[&str],
    extra: Option<(&str, &str)>,
    value: impl Display,
) {
    out.push_str(name);
    let labels = label_names
        .iter()
        .copied()
        .zip(label_values.iter().copied())
        .chain(extra);
    let mut first = true;
    for (label, value) in labels {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(label);
        out.push_str("=\"");
        escape_label_value(out, value);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values escape backslash, double quote and newline (format 0.0.4).
fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    /// One parsed sample: metric name, labels, value.
    #[derive(Debug, Clone, PartialEq)]
    struct Sample {
        name: String,
        labels: BTreeMap<String, String>,
        value: f64,
    }

    #[derive(Debug, Default)]
    struct Exposition {
        help: HashMap<String, String>,
        types: HashMap<String, String>,
        samples: Vec<Sample>,
    }

    impl Exposition {
        fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
            let want: BTreeMap<String, String> = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            self.samples
                .iter()
                .find(|s| s.name == name && s.labels == want)
                .map(|s| s.value)
        }
    }

    /// A strict parser for the subset of format 0.0.4 we emit; panics on anything malformed,
    /// and checks that every sample follows the TYPE line of its family.
    fn parse(text: &str) -> Exposition {
        let mut exp = Exposition::default();
        assert!(text.ends_with('\n'), "exposition must end with a newline");
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP name text");
                assert!(
                    exp.help.insert(name.into(), help.into()).is_none(),
                    "dup HELP {name}"
                );
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                assert!(
                    ["counter", "gauge", "histogram"].contains(&kind),
                    "kind {kind}"
                );
                assert!(
                    exp.types.insert(name.into(), kind.into()).is_none(),
                    "dup TYPE {name}"
                );
            } else {
                assert!(
                    !line.starts_with('#') && !line.is_empty(),
                    "stray line {line:?}"
                );
                let sample = parse_sample(line);
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| {
                        sample
                            .name
                            .strip_suffix(suffix)
                            .filter(|base| exp.types.get(*base).is_some_and(|t| t == "histogram"))
                    })
                    .unwrap_or(&sample.name)
                    .to_owned();
                assert!(
                    exp.types.contains_key(&family),
                    "sample before TYPE: {line}"
                );
                exp.samples.push(sample);
            }
        }
        exp
    }

    fn parse_sample(line: &str) -> Sample {
        let name_end = line.find(['{', ' ']).expect("name");
        let name = line[..name_end].to_owned();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad name {name}"
        );
        let mut labels = BTreeMap::new();
        let mut chars = line[name_end..].chars().peekable();
        if chars.peek() == Some(&'{') {
            chars.next();
            loop {
                let mut label = String::new();
                for c in chars.by_ref() {
                    if c == '=' {
                        break;
                    }
                    label.push(c);
                }
                assert_eq!(chars.next(), Some('"'), "label value must be quoted");
                let mut value = String::new();
                loop {
                    match chars.next().expect("unterminated label value") {
                        '\\' => match chars.next().expect("dangling escape") {
                            '\\' => value.push('\\'),
                            '"' => value.push('"'),
                            'n' => value.push('\n'),
                            c => panic!("invalid escape \\{c}"),
                        },
                        '"' => break,
                        '\n' => panic!("raw newline in label value"),
                        c => value.push(c),
                    }
                }
                assert!(labels.insert(label, value).is_none(), "duplicate label");
                match chars.next() {
                    Some(',') => continue,
                    Some('}') => break,
                    other => panic!("unexpected {other:?} after label"),
                }
            }
        }
        assert_eq!(chars.next(), Some(' '), "space before value");
        let value: String = chars.collect();
        let value = match value.as_str() {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value {v:?}")),
        };
        Sample {
            name,
            labels,
            value,
        }
    }

    #[test]
    fn counters_render_and_parse_back() {
        let m = Metrics::new();
        m.reports_received("acme", 1000);
        m.reports_received("acme", 24);
        m.reports_received("globex", 7);
        m.reports_rejected("unknown", "bad_token");
        m.reports_rejected("acme", "too_large");
        m.reports_rejected("acme", "too_large");
        m.http_request("/api/topology/{id}", "GET", 200, 0.003);
        m.http_request("/api/topology/{id}", "GET", 200, 0.3);
        m.http_request("/api/report", "POST", 413, 0.001);
        m.signin_attempt("ok");
        m.signin_attempt("bad_password");
        m.signin_attempt("bad_password");

        let exp = parse(&m.render_prometheus());
        assert_eq!(exp.types["scope_reports_received_total"], "counter");
        assert_eq!(exp.types["scope_report_bytes_received_total"], "counter");
        assert_eq!(
            exp.get("scope_reports_received_total", &[("tenant", "acme")]),
            Some(2.0)
        );
        assert_eq!(
            exp.get("scope_report_bytes_received_total", &[("tenant", "acme")]),
            Some(1024.0)
        );
        assert_eq!(
            exp.get("scope_report_bytes_received_total", &[("tenant", "globex")]),
            Some(7.0)
        );
        assert_eq!(
            exp.get(
                "scope_reports_rejected_total",
                &[("tenant", "acme"), ("reason", "too_large")]
            ),
            Some(2.0)
        );
        assert_eq!(
            exp.get(
                "scope_reports_rejected_total",
                &[("tenant", "unknown"), ("reason", "bad_token")]
            ),
            Some(1.0)
        );
        assert_eq!(
            exp.get(
                "scope_http_requests_total",
                &[
                    ("route", "/api/topology/{id}"),
                    ("method", "GET"),
                    ("status", "200")
                ]
            ),
            Some(2.0)
        );
        assert_eq!(
            exp.get(
                "scope_http_requests_total",
                &[
                    ("route", "/api/report"),
                    ("method", "POST"),
                    ("status", "413")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            exp.get("scope_signin_attempts_total", &[("result", "bad_password")]),
            Some(2.0)
        );
        assert_eq!(exp.types["scope_build_info"], "gauge");
        assert_eq!(
            exp.get(
                "scope_build_info",
                &[("version", env!("CARGO_PKG_VERSION"))]
            ),
            Some(1.0)
        );
        // Every family has HELP and TYPE even before its first sample.
        for family in [
            "scope_probes_connected",
            "scope_viewers",
            "scope_render_seconds",
            "scope_http_request_seconds",
        ] {
            assert!(exp.help.contains_key(family) && exp.types.contains_key(family));
        }
    }

    #[test]
    fn gauges_and_guards() {
        let m = Metrics::new();
        m.probe_connected("acme");
        m.probe_connected("acme");
        m.probe_disconnected("acme");
        let probe = m.probe_guard("globex");
        let v1 = m.viewer_guard("acme");
        let v2 = m.viewer_guard("acme");
        m.viewer_opened("globex");
        let exp = parse(&m.render_prometheus());
        assert_eq!(exp.types["scope_probes_connected"], "gauge");
        assert_eq!(exp.types["scope_viewers"], "gauge");
        assert_eq!(
            exp.get("scope_probes_connected", &[("tenant", "acme")]),
            Some(1.0)
        );
        assert_eq!(
            exp.get("scope_probes_connected", &[("tenant", "globex")]),
            Some(1.0)
        );
        assert_eq!(exp.get("scope_viewers", &[("tenant", "acme")]), Some(2.0));
        drop((v1, v2, probe));
        m.viewer_closed("globex");
        let exp = parse(&m.render_prometheus());
        assert_eq!(exp.get("scope_viewers", &[("tenant", "acme")]), Some(0.0));
        assert_eq!(exp.get("scope_viewers", &[("tenant", "globex")]), Some(0.0));
        assert_eq!(
            exp.get("scope_probes_connected", &[("tenant", "globex")]),
            Some(0.0)
        );
    }

    #[test]
    fn histogram_buckets_sum_and_count() {
        let m = Metrics::new();
        // On a bound (inclusive), between bounds, and past the last bound.
        for s in [0.001, 0.003, 0.003, 7.0] {
            m.render_observed("acme", "containers", s);
        }
        m.render_observed("acme", "containers", f64::NAN);
        m.render_observed("acme", "containers", -1.0);
        let exp = parse(&m.render_prometheus());
        assert_eq!(exp.types["scope_render_seconds"], "histogram");
        let bucket = |le: &str| {
            exp.get(
                "scope_render_seconds_bucket",
                &[("tenant", "acme"), ("topology", "containers"), ("le", le)],
            )
        };
        assert_eq!(bucket("0.0005"), Some(0.0));
        assert_eq!(bucket("0.001"), Some(1.0));
        assert_eq!(bucket("0.0025"), Some(1.0));
        assert_eq!(bucket("0.005"), Some(3.0));
        assert_eq!(bucket("5"), Some(3.0));
        assert_eq!(bucket("+Inf"), Some(4.0));
        let labels = [("tenant", "acme"), ("topology", "containers")];
        assert_eq!(exp.get("scope_render_seconds_count", &labels), Some(4.0));
        let sum = exp.get("scope_render_seconds_sum", &labels).unwrap();
        assert!((sum - 7.007).abs() < 1e-9, "sum {sum}");

        // Buckets are cumulative and ascending in `le`.
        let buckets: Vec<(f64, f64)> = exp
            .samples
            .iter()
            .filter(|s| s.name == "scope_render_seconds_bucket")
            .map(|s| (parse_le(&s.labels["le"]), s.value))
            .collect();
        assert_eq!(buckets.len(), RENDER_BUCKETS.len() + 1);
        assert!(
            buckets
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
        );

        m.http_request("/metrics", "GET", 200, 0.02);
        let exp = parse(&m.render_prometheus());
        assert_eq!(exp.types["scope_http_request_seconds"], "histogram");
        assert_eq!(
            exp.get(
                "scope_http_request_seconds_bucket",
                &[("route", "/metrics"), ("le", "0.025")]
            ),
            Some(1.0)
        );
        assert_eq!(
            exp.get("scope_http_request_seconds_count", &[("route", "/metrics")]),
            Some(1.0)
        );
    }

    fn parse_le(le: &str) -> f64 {
        if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap()
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        let nasty = "a\\b\"c\nd}e,f=g";
        m.reports_received(nasty, 1);
        m.reports_rejected(nasty, "quote\"reason");
        let text = m.render_prometheus();
        assert!(
            text.contains(r#"scope_reports_received_total{tenant="a\\b\"c\nd}e,f=g"} 1"#),
            "{text}"
        );
        // No raw newline leaked into a sample line: every line is HELP, TYPE or a sample.
        let exp = parse(&text);
        assert_eq!(
            exp.get("scope_reports_received_total", &[("tenant", nasty)]),
            Some(1.0)
        );
        assert_eq!(
            exp.get(
                "scope_reports_rejected_total",
                &[("tenant", nasty), ("reason", "quote\"reason")]
            ),
            Some(1.0)
        );
        let mut help = String::new();
        header(&mut help, "x", "back\\slash\nnewline \"quotes\"", "gauge");
        assert_eq!(
            help,
            "# HELP x back\\\\slash\\nnewline \"quotes\"\n# TYPE x gauge\n"
        );
    }

    #[test]
    fn odd_status_codes_do_not_mint_series() {
        let m = Metrics::new();
        m.http_request("/", "GET", 42, 0.0);
        m.http_request("/", "GET", 1000, 0.0);
        m.http_request("/", "GET", 599, 0.0);
        let exp = parse(&m.render_prometheus());
        let get = |status| {
            exp.get(
                "scope_http_requests_total",
                &[("route", "/"), ("method", "GET"), ("status", status)],
            )
        };
        assert_eq!(get("other"), Some(2.0));
        assert_eq!(get("599"), Some(1.0));
    }

    #[test]
    fn concurrent_recording_is_exact() {
        const THREADS: usize = 8;
        const PER_THREAD: u64 = 5_000;
        let m = Arc::new(Metrics::new());
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let m = Arc::clone(&m);
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        // Tenants shared between threads, created concurrently on first use.
                        let tenant = format!("t{}", (t as u64 + i) % 3);
                        m.reports_received(&tenant, 10);
                        m.render_observed(&tenant, "hosts", 0.01);
                        let _viewer = m.viewer_guard(&tenant);
                        m.probe_connected(&tenant);
                        m.probe_disconnected(&tenant);
                    }
                })
            })
            .collect();
        // Scrapes during the writes must parse and never see +Inf != _count.
        for _ in 0..20 {
            let exp = parse(&m.render_prometheus());
            for s in exp
                .samples
                .iter()
                .filter(|s| s.name == "scope_render_seconds_count")
            {
                let mut labels: Vec<(&str, &str)> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                labels.push(("le", "+Inf"));
                assert_eq!(
                    exp.get("scope_render_seconds_bucket", &labels),
                    Some(s.value)
                );
            }
        }
        for h in handles {
            h.join().unwrap();
        }
        let exp = parse(&m.render_prometheus());
        let total = |name: &str| -> f64 {
            exp.samples
                .iter()
                .filter(|s| s.name == name)
                .map(|s| s.value)
                .sum()
        };
        let n = (THREADS as u64 * PER_THREAD) as f64;
        assert_eq!(total("scope_reports_received_total"), n);
        assert_eq!(total("scope_report_bytes_received_total"), n * 10.0);
        assert_eq!(total("scope_render_seconds_count"), n);
        assert_eq!(total("scope_viewers"), 0.0);
        assert_eq!(total("scope_probes_connected"), 0.0);
        assert_eq!(
            exp.samples
                .iter()
                .filter(|s| s.name == "scope_reports_received_total")
                .count(),
            3
        );
        let sum = total("scope_render_seconds_sum");
        assert!((sum - n * 0.01).abs() < 1e-6, "sum {sum}");
    }

    #[test]
    fn global_registry_is_one_instance() {
        assert!(std::ptr::eq(metrics(), metrics()));
        metrics().signin_attempt("global_test");
        assert!(
            metrics()
                .render_prometheus()
                .contains("scope_signin_attempts_total{result=\"global_test\"} 1\n")
        );
    }
}
