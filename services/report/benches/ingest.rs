//! Ingest cost: decode a probe's protobuf report and merge it into a tenant's report.
//! Budget: >= 2,000 reports/s of 300-node reports on one core.

/// The same allocator as the `scope` binary, so the figures are the app's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use scope_proto::v1 as pb;
use scope_report::{Report, synthetic};

fn decode_and_merge(c: &mut Criterion) {
    let host = synthetic::sized_host_report(300, 1_000);
    let bytes = pb::Report::from(&host).encode_to_vec();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        BenchmarkId::new("decode_convert_merge_300_nodes", bytes.len()),
        |b| {
            let mut tenant = synthetic::fleet(10, 1_000);
            b.iter(|| {
                let wire = pb::Report::decode(bytes.as_slice()).expect("decode");
                let r = Report::try_from(wire).expect("valid");
                tenant.merge_from(&r);
            })
        },
    );
    g.bench_function("decode_300_nodes", |b| {
        b.iter(|| pb::Report::decode(bytes.as_slice()).expect("decode"))
    });
    let wire = pb::Report::decode(bytes.as_slice()).expect("decode");
    g.bench_function("convert_300_nodes", |b| {
        b.iter_batched(
            || wire.clone(),
            |w| Report::try_from(w).expect("valid"),
            criterion::BatchSize::SmallInput,
        )
    });
    g.bench_function("decode_convert_300_nodes", |b| {
        b.iter(|| {
            let wire = pb::Report::decode(bytes.as_slice()).expect("decode");
            Report::try_from(wire).expect("valid")
        })
    });
    g.finish();

    let mut g = c.benchmark_group("merge_tenant");
    g.sample_size(10);
    let hosts: Vec<Report> = (0..100)
        .map(|i| synthetic::host_report(i, synthetic::HostShape::fleet_member(100), 1_000))
        .collect();
    g.bench_function("merge_100_host_reports", |b| {
        b.iter(|| {
            let mut t = Report::new(0);
            for h in &hosts {
                t.merge_from(h);
            }
            t
        })
    });
    g.finish();
}

criterion_group!(benches, decode_and_merge);
criterion_main!(benches);
