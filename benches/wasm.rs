//! The core's hot paths compiled to wasm32 and run under Node:
//! `scripts/bench --wasm` (cargo bench --target wasm32-unknown-unknown --bench wasm).
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;

use warpnet_stats::{Action, Difficulty, Minter, NodeState};
use wasm_bindgen_test::{Criterion, Instant, wasm_bindgen_bench};

/// Times merging one batch of new entries from `writers` nodes (`per_writer` each) into a
/// replica that already knows those nodes, as in steady-state gossip.
fn verified_merge(c: &mut Criterion, writers: u64, per_writer: usize) {
    let batches = rounds(writers, per_writer, 2);
    let n = batches[1].len();
    let name = if writers == 1 && n > 1 { "new_verified_one_writer" } else { "new_verified" };
    c.bench_function(&format!("wasm merge/{name}/{n}"), |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let mut r = replica(100);
                r.merge(&namespace(), batches[0].clone());
                let entries = batches[1].clone();
                let start = Instant::now();
                let report = r.merge(&namespace(), entries);
                total += start.elapsed();
                assert_eq!(report.changed.len(), n);
            }
            total
        })
    });
}

#[wasm_bindgen_bench]
fn verified_merge_single(c: &mut Criterion) {
    verified_merge(c, 1, 1);
}

#[wasm_bindgen_bench]
fn verified_merge_batch_of_64(c: &mut Criterion) {
    verified_merge(c, 4, 16);
}

/// A catch-up response: 2,048 entries of one writer.
#[wasm_bindgen_bench]
fn verified_merge_catch_up_response(c: &mut Criterion) {
    verified_merge(c, 1, 2048);
}

#[wasm_bindgen_bench]
fn already_held(c: &mut Criterion) {
    let held = rounds(8, 125, 1).remove(0);
    let mut r = replica(100);
    r.merge(&namespace(), held.clone());
    c.bench_function("wasm merge/already_held/1000", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let entries = held.clone();
                let start = Instant::now();
                r.merge(&namespace(), entries);
                total += start.elapsed();
            }
            total
        })
    });
}

#[wasm_bindgen_bench]
fn local_like(c: &mut Criterion) {
    c.bench_function("wasm local/like", |b| {
        b.iter_custom(|iters| {
            let likes: Vec<Action> = users(iters as usize).into_iter().map(Action::Like).collect();
            let mut node = NodeState::from_replica(replica(1));
            let t = tweet(0);
            let start = Instant::now();
            for like in &likes {
                node.apply(&t, like).expect("within bounds");
            }
            start.elapsed()
        })
    });
}

/// The signature primitive alone in wasm, as a baseline for the merge figures.
#[wasm_bindgen_bench]
fn primitive(c: &mut Criterion) {
    let raw = RawSignatures::new(64);
    c.bench_function("wasm ed25519/verify_batch/64", |b| b.iter(|| raw.verify_batch()));
    c.bench_function("wasm ed25519/verify_each/64", |b| b.iter(|| raw.verify_each()));
    // A catch-up response carries up to 2,048 entries, verified as one batch.
    let raw = RawSignatures::new(2048);
    c.bench_function("wasm ed25519/verify_batch/2048", |b| b.iter(|| raw.verify_batch()));
}

/// The attempt rate of minting an identity proof in wasm (2^difficulty attempts on average per
/// identity): what sets the default difficulty.
#[wasm_bindgen_bench]
fn identity_mint(c: &mut Criterion) {
    let writer = replica(1).local_writer();
    // Difficulty 64: no attempt succeeds, every one is counted.
    let mut minter = Minter::new(&namespace(), &writer, Difficulty(64), 0);
    c.bench_function("wasm identity/mint_attempts/10000", |b| {
        b.iter(|| std::hint::black_box(minter.step(10_000)))
    });
}

/// The light-node pattern: one tweet's entries from 1,000 writers, one leaf each with its
/// proof, out of seals of 1 and of 4,096 leaves (verify + merge).
#[wasm_bindgen_bench]
fn light_node(c: &mut Criterion) {
    for leaves in [1, 4096] {
        let batch = light_node_batch(1000, leaves);
        c.bench_function(&format!("wasm light_node/merge_1000_writers/{leaves}"), |b| {
            b.iter_custom(|iters| {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    let (mut r, entries) = (replica(100), batch.clone());
                    let start = Instant::now();
                    assert_eq!(r.merge(&namespace(), entries).changed.len(), 1000);
                    total += start.elapsed();
                }
                total
            })
        });
    }
}
