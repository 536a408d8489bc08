use proptest::prelude::*;

use crate::delta::{apply, diff};
use crate::*;

fn arb_node_id() -> impl Strategy<Value = NodeId> {
    "[a-c];[0-3]".prop_map(NodeId::from_raw)
}

fn arb_node(kind: Kind) -> impl Strategy<Value = Node> {
    (
        arb_node_id(),
        prop::collection::btree_map("[k-m]", (0i64..4, "[x-z]{0,2}"), 0..3),
        prop::collection::btree_map("[s-t]", prop::collection::btree_set("[p-r]", 0..3), 0..2),
        prop::collection::btree_set(arb_node_id(), 0..3),
        prop::collection::btree_set(arb_node_id(), 0..2),
        prop::collection::btree_map(
            "[u-v]",
            prop::collection::btree_map(0i64..5, 0u8..10, 0..3),
            0..2,
        ),
    )
        .prop_map(move |(id, latest, sets, adjacency, parents, metrics)| {
            let mut n = Node::new(id, kind);
            for (k, (ts, v)) in latest {
                n.set_latest(&k, ts, v);
            }
            n.sets = sets;
            n.adjacency = adjacency;
            if !parents.is_empty() {
                n.parents.insert(Kind::Host, parents);
            }
            for (k, samples) in metrics {
                n.metrics.insert(
                    k,
                    Metric {
                        samples: samples
                            .into_iter()
                            .map(|(timestamp, v)| Sample {
                                timestamp,
                                value: v as f64,
                            })
                            .collect(),
                        min: 0.0,
                        max: 10.0,
                    },
                );
            }
            n
        })
}

fn arb_report() -> impl Strategy<Value = Report> {
    (
        0i64..3,
        prop::collection::vec(arb_node(Kind::Process), 0..4),
        prop::collection::vec(arb_node(Kind::Container), 0..3),
        prop::collection::btree_map("[1-2]", prop::collection::btree_set("[f-g]", 0..2), 0..2),
    )
        .prop_map(|(ts, procs, containers, dns)| {
            let mut r = Report::new(ts);
            for n in procs.into_iter().chain(containers) {
                r.add_node(n);
            }
            for (ip, fw) in dns {
                r.dns.insert(
                    ip,
                    DnsRecord {
                        forward: fw,
                        reverse: Default::default(),
                    },
                );
            }
            r
        })
}

fn merged(a: &Report, b: &Report) -> Report {
    let mut out = a.clone();
    out.merge_from(b);
    out
}

proptest! {
    #[test]
    fn merge_is_commutative(a in arb_report(), b in arb_report()) {
        prop_assert_eq!(merged(&a, &b), merged(&b, &a));
    }

    #[test]
    fn merge_is_associative(a in arb_report(), b in arb_report(), c in arb_report()) {
        prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
    }

    #[test]
    fn merge_is_idempotent(a in arb_report()) {
        prop_assert_eq!(merged(&a, &a), a);
    }

    #[test]
    fn merge_owned_matches_merge_from(a in arb_report(), b in arb_report()) {
        let mut owned = a.clone();
        owned.merge_owned(b.clone());
        prop_assert_eq!(owned, merged(&a, &b));
    }

    #[test]
    fn delta_applied_to_base_gives_full(base in arb_report(), full in arb_report()) {
        let d = diff(&base, &full);
        prop_assert_eq!(apply(&base, &d), full);
    }

    #[test]
    fn wire_round_trip(r in arb_report()) {
        let wire = scope_proto::v1::Report::from(&r);
        prop_assert_eq!(Report::try_from(wire).unwrap(), r);
    }
}

#[test]
fn newer_latest_wins_and_sets_union() {
    let a = Node::new(NodeId::process("h", 1), Kind::Process).with_latest("name", 1, "old");
    let mut b = Node::new(NodeId::process("h", 1), Kind::Process).with_latest("name", 2, "new");
    b.add_to_set("s", ["x"]);
    let mut m = a.clone();
    m.merge_from(&b);
    assert_eq!(m.get("name"), Some("new"));
    let mut m2 = b.clone();
    m2.merge_from(&a);
    assert_eq!(m2.get("name"), Some("new"));
    assert!(m.sets["s"].contains("x"));
}

#[test]
fn metric_samples_interleave() {
    let mut a = Metric {
        samples: vec![
            Sample {
                timestamp: 1,
                value: 1.0,
            },
            Sample {
                timestamp: 3,
                value: 3.0,
            },
        ],
        min: 0.0,
        max: 5.0,
    };
    let b = Metric {
        samples: vec![
            Sample {
                timestamp: 2,
                value: 2.0,
            },
            Sample {
                timestamp: 3,
                value: 3.0,
            },
        ],
        min: 0.0,
        max: 9.0,
    };
    a.merge_from(&b);
    let ts: Vec<_> = a.samples.iter().map(|s| s.timestamp).collect();
    assert_eq!(ts, vec![1, 2, 3]);
    assert_eq!(a.max, 9.0);
    a.trim_before(2);
    assert_eq!(a.samples.len(), 2);
}

#[test]
fn delta_lists_removed_and_changed_only() {
    let base = synthetic::host_report(0, synthetic::HostShape::fleet_member(2), 100);
    let mut full = base.clone();
    let victim = full.nodes(Kind::Container).next().unwrap().id.clone();
    full.topology_mut(Kind::Container).nodes.remove(&victim);
    let changed = full.nodes(Kind::Process).next().unwrap().id.clone();
    std::sync::Arc::make_mut(
        full.topology_mut(Kind::Process)
            .nodes
            .get_mut(&changed)
            .unwrap(),
    )
    .set_latest(keys::NAME, 200, "renamed");
    let d = diff(&base, &full);
    assert_eq!(d.removed[&Kind::Container], vec![victim]);
    assert_eq!(d.report.node_count(), 1);
    assert_eq!(apply(&base, &d), full);
}

#[test]
fn invalid_wire_reports_are_rejected() {
    use scope_proto::v1 as pb;
    let bad_topology = pb::Report {
        topologies: vec![pb::Topology {
            name: "pods".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        Report::try_from(bad_topology),
        Err(convert::ConvertError::UnknownTopology("pods".into()))
    );
    let empty_id = pb::Report {
        topologies: vec![pb::Topology {
            name: "process".into(),
            nodes: vec![pb::Node::default()],
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        Report::try_from(empty_id),
        Err(convert::ConvertError::EmptyId("process"))
    );
    let nan = pb::Report {
        topologies: vec![pb::Topology {
            name: "process".into(),
            nodes: vec![pb::Node {
                id: "h;1".into(),
                metrics: vec![pb::Metric {
                    key: "cpu".into(),
                    samples: vec![pb::Sample {
                        timestamp_ms: 1,
                        value: f64::NAN,
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    assert!(matches!(
        Report::try_from(nan),
        Err(convert::ConvertError::NonFiniteMetric(..))
    ));
}

#[test]
fn synthetic_fleet_has_expected_size() {
    let r = synthetic::fleet(4, 1);
    assert_eq!(r.nodes(Kind::Host).count(), 4);
    assert_eq!(r.nodes(Kind::Container).count(), 200);
    assert_eq!(r.nodes(Kind::Process).count(), 1200);
    let one = synthetic::sized_host_report(300, 1);
    let n = one.node_count();
    assert!((250..=350).contains(&n), "sized report has {n} nodes");
}
