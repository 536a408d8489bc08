//! Render benchmarks on the 100-host synthetic fleet (5,000 containers, 30,000 processes), and
//! the local-networks trie against a linear scan.
//!
//! Budgets (2 cores, release): containers view <= 100 ms, processes view <= 200 ms, trie >= 10x
//! faster than the scan at 500 networks.

/// The same allocator as the `scope` binary, so the figures are the app's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeSet;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use scope_render::{LinearNetworks, LocalNetworks, Options, View, summaries};
use scope_report::synthetic;

fn render(c: &mut Criterion) {
    let report = synthetic::fleet(100, 1_700_000_000_000);
    let nets = LocalNetworks::from_report(&report);
    let opts = Options::default();
    let mut g = c.benchmark_group("render");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    for (name, view) in [
        ("containers", View::Containers),
        ("processes", View::Processes),
        ("hosts", View::Hosts),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(summaries(black_box(&report), view, &opts, &nets)))
        });
    }
    g.finish();
}

/// A deterministic xorshift, so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
}

fn networks(c: &mut Criterion) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Prefix mix like real fleets: many /32 interface addresses, some subnets.
    let lens = [32u8, 32, 32, 32, 24, 24, 16, 28, 20, 8];
    let mut set = BTreeSet::new();
    while set.len() < 500 {
        let len = lens[rng.next() as usize % lens.len()];
        set.insert(format!("{}/{len}", Ipv4Addr::from(rng.next())));
    }
    let trie = LocalNetworks::from_set(&set);
    let linear = LinearNetworks::from_set(&set);
    // 10,000 endpoint addresses as render classifies them: only endpoints without a process
    // are looked up, and those are mostly remote peers. One in five is inside a table network,
    // the rest uniformly random (and so almost all outside).
    let nets: Vec<&String> = set.iter().collect();
    let ips: Vec<IpAddr> = (0..10_000)
        .map(|i| {
            if i % 5 == 0 {
                let base = nets[rng.next() as usize % nets.len()];
                let addr: Ipv4Addr = base.split('/').next().unwrap().parse().unwrap();
                IpAddr::V4(addr)
            } else {
                IpAddr::V4(Ipv4Addr::from(rng.next()))
            }
        })
        .collect();
    let mut g = c.benchmark_group("networks");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("trie_500", |b| {
        b.iter(|| {
            ips.iter()
                .filter(|&&ip| trie.contains(black_box(ip)))
                .count()
        })
    });
    g.bench_function("linear_500", |b| {
        b.iter(|| {
            ips.iter()
                .filter(|&&ip| linear.contains(black_box(ip)))
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, render, networks);
criterion_main!(benches);
