//! Native benchmarks of the core (criterion): `cargo bench --bench core`.
//! Medians are summarised by `scripts/bench-summary`.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
    use warpnet_stats::{
        Action, Difficulty, EntryKey, Generation, Minter, NodeState, Replica, StatKind,
        light::{LightRequest, LightResponse, SignedTallies},
        seal::Sealed,
        sync::{SyncRequest, SyncResponse, SyncSession},
        wire::SealedBatch,
    };

    use crate::common::*;

    fn local_like(c: &mut Criterion) {
        let mut group = c.benchmark_group("local");
        group.throughput(Throughput::Elements(1));
        // Each iteration is a like by a user who has not liked the tweet yet.
        group.bench_function("like", |b| {
            b.iter_custom(|iters| {
                let users = users(iters as usize);
                let mut node = NodeState::from_replica(replica(1));
                let t = tweet(0);
                let likes: Vec<Action> = users.into_iter().map(Action::Like).collect();
                let start = Instant::now();
                for like in &likes {
                    black_box(node.apply(&t, like).expect("within bounds"));
                }
                start.elapsed()
            })
        });
        group.bench_function("view", |b| {
            let mut node = NodeState::from_replica(replica(1));
            let t = tweet(0);
            b.iter(|| black_box(node.apply(&t, &Action::View).expect("within bounds").count))
        });
        group.finish();
    }

    fn signing(c: &mut Criterion) {
        let mut group = c.benchmark_group("sign");
        for n in [1usize, 100] {
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new("changed_entries", n), &n, |b, &n| {
                let mut r = replica(1);
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let keys: Vec<EntryKey> = (0..n)
                            .map(|t| {
                                r.increment(&tweet(t), StatKind::Likes).expect("within bounds").key
                            })
                            .collect();
                        let start = Instant::now();
                        black_box(r.sealed(&keys));
                        total += start.elapsed();
                    }
                    total
                })
            });
        }
        group.finish();
    }

    fn merging(c: &mut Criterion) {
        let mut group = c.benchmark_group("merge");
        // New entries, verified: one seal per writer and batch (one signature check each, in
        // one batch verification), one leaf hash per entry. The receiver already knows the
        // writers (their keys are cached), as in steady-state gossip. The last is a catch-up
        // response: 2,048 entries of one writer.
        for (writers, per_writer) in [(1u64, 1usize), (4, 16), (8, 32), (1, 2048)] {
            let n = writers as usize * per_writer;
            let name =
                if writers == 1 && n > 1 { "new_verified_one_writer" } else { "new_verified" };
            let batches = rounds(writers, per_writer, 2);
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new(name, n), &batches, |b, batches| {
                b.iter_batched(
                    || {
                        let mut r = replica(100);
                        r.merge(&namespace(), batches[0].clone());
                        (r, batches[1].clone())
                    },
                    |(mut r, entries)| {
                        let report = r.merge(&namespace(), entries);
                        assert_eq!(report.changed.len(), n);
                        r
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        // Entries already held under the same seal: its signature is not checked again.
        let held = rounds(8, 125, 1).remove(0);
        let mut r = replica(100);
        r.merge(&namespace(), held.clone());
        let count: usize = held.iter().map(|g| g.leaves.len()).sum();
        group.throughput(Throughput::Elements(count as u64));
        group.bench_function(BenchmarkId::new("already_held", count), |b| {
            b.iter_batched(
                || held.clone(),
                |entries| {
                    let report = r.merge(&namespace(), entries);
                    assert_eq!(report.stale, 1000);
                },
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }

    fn stats(c: &mut Criterion) {
        let mut group = c.benchmark_group("stats");
        for writers in [1usize, 100, 10_000] {
            let replica = tweet_with_writers(writers);
            let t = tweet(0);
            assert_eq!(replica.stats(&t).likes, writers as u64);
            group.bench_with_input(BenchmarkId::new("writers", writers), &replica, |b, r| {
                b.iter(|| black_box(r.stats(black_box(&t))))
            });
        }
        group.finish();
    }

    fn codec(c: &mut Criterion) {
        let mut group = c.benchmark_group("codec");
        let sealed = rounds(8, 125, 1).remove(0);
        let batch = SealedBatch { namespace: namespace(), sealed };
        let bytes = batch.encode().expect("fits a message");
        group.throughput(Throughput::Elements(1000));
        group.bench_function("encode_1000", |b| b.iter(|| black_box(batch.encode())));
        group.bench_function("decode_1000", |b| {
            b.iter(|| black_box(SealedBatch::decode(black_box(&bytes)).expect("valid")))
        });
        group.finish();
        println!("codec: a 1000-entry batch is {} bytes", bytes.len());
    }

    /// A whole catch-up, every message encoded and decoded, fetched entries verified and
    /// merged: returns the bytes exchanged.
    fn pull(into: &mut Replica, from: &mut Replica) -> usize {
        let (mut session, mut request) = SyncSession::start();
        let mut bytes = 0;
        loop {
            let asked = request.encode(&namespace());
            bytes += asked.len();
            let (_, asked) = SyncRequest::decode(&asked).expect("decodes");
            let answer = asked.answer_from(from).expect("answers").encode(&namespace());
            bytes += answer.len();
            let response = SyncResponse::decode(&answer).expect("decodes");
            let step = session.handle(into, response).expect("accepted");
            into.merge(&namespace(), step.fetched);
            match step.next {
                Some(next) => request = next,
                None => return bytes,
            }
        }
    }

    /// Catch-up of 100 missing entries among 100,000, and a cold sync of all 100,000.
    fn catch_up(c: &mut Criterion) {
        let mut group = c.benchmark_group("catch_up");
        group.sample_size(10);
        // Ten writers, 10,000 counters each, sealed as their writers serve them; the probe
        // lacks 100 of writer 1's.
        let writers = writers_with(10, 10_000);
        let all: Vec<Sealed> = writers.iter().flat_map(|(node, keys)| node.sealed(keys)).collect();
        let (first, keys) = &writers[0];
        let mut rest: Vec<Sealed> = first.sealed(&keys[100..]);
        rest.extend(writers[1..].iter().flat_map(|(node, keys)| node.sealed(keys)));
        let holding = |sealed: &[Sealed]| {
            let mut replica = replica(99);
            replica.merge(&namespace(), sealed.to_vec());
            replica
        };
        let mut full = holding(&all);
        let mut probe = holding(&rest);
        println!("catch_up: 100 of 100,000 exchange {} bytes", pull(&mut probe, &mut full));
        group.bench_function("missing_100_of_100000", |b| {
            b.iter_batched(
                || holding(&rest),
                |mut behind| pull(&mut behind, &mut full),
                BatchSize::PerIteration,
            )
        });
        group.throughput(Throughput::Elements(full.len() as u64));
        group.bench_function("cold_100000", |b| {
            b.iter_batched(
                || replica(98),
                |mut empty| pull(&mut empty, &mut full),
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }

    /// The light-node pattern: one tweet's entries from 1,000 writers, one leaf each with its
    /// proof, from seals of 1 to 4,096 leaves: bytes per entry and verify + merge time.
    fn light_node(c: &mut Criterion) {
        let mut group = c.benchmark_group("light_node");
        group.sample_size(10);
        for leaves in [1, 16, 256, 4096] {
            let batch = light_node_batch(1000, leaves);
            let bytes = SealedBatch { namespace: namespace(), sealed: batch.clone() }
                .encode()
                .expect("fits a message");
            println!(
                "light_node: seals of {leaves} leaves, {} bytes per entry",
                bytes.len() / 1000
            );
            group.throughput(Throughput::Elements(1000));
            group.bench_with_input(
                BenchmarkId::new("merge_1000_writers", leaves),
                &batch,
                |b, batch| {
                    b.iter_batched(
                        || (replica(100), batch.clone()),
                        |(mut r, batch)| {
                            assert_eq!(r.merge(&namespace(), batch).changed.len(), 1000)
                        },
                        BatchSize::PerIteration,
                    )
                },
            );
        }
        group.finish();
    }

    /// An edge node's answer to a light node's `Watch` of 50 tweets: of 10 writers each (500
    /// entries sent, with their proofs) and of 10,000 writers each (50 signed tallies), per
    /// entry and per tally writer: what the answer allowance charges them.
    fn watch_answer(c: &mut Criterion) {
        let mut group = c.benchmark_group("watch_answer");
        group.sample_size(10);
        let asker = replica(5).local_writer();
        let watch = |tweets: &[warpnet_stats::TweetId]| LightRequest::Watch {
            node: None,
            generation: Generation([5; 16]),
            tweets: tweets.iter().map(|t| (t.clone(), 0)).collect(),
        };
        for (name, writers) in [("entries", 10u64), ("tallies", 10_000)] {
            let tweets: Vec<_> = (0..50).map(tweet).collect();
            let mut edge = replica(1);
            for w in 0..writers {
                let mut writer = replica(100 + w);
                let keys: Vec<_> = tweets
                    .iter()
                    .map(|t| writer.increment(t, StatKind::Likes).expect("ok").key)
                    .collect();
                edge.merge(&namespace(), writer.sealed(&keys));
            }
            edge.sync_digest();
            let request = watch(&tweets);
            let answer = request.answer_from(&edge, asker.node, &mut SignedTallies::default());
            let LightResponse::Tweets { entries, tallies, .. } = &answer else { panic!("tweets") };
            println!(
                "watch_answer/{name}: {} sealed, {} tallies, {} bytes",
                entries.len(),
                tallies.len(),
                answer.encode(&namespace()).len()
            );
            group.throughput(Throughput::Elements(50 * writers));
            group.bench_function(name, |b| {
                b.iter(|| {
                    // A fresh cache: every tally signed, as for a tweet that changed.
                    let mut signed = SignedTallies::default();
                    black_box(
                        request.answer_from(&edge, asker.node, &mut signed).encode(&namespace()),
                    )
                })
            });
        }
        group.finish();
    }

    /// The signature primitive alone, as a baseline for the merge figures.
    fn primitive(c: &mut Criterion) {
        let mut group = c.benchmark_group("ed25519");
        let raw = RawSignatures::new(64);
        group.throughput(Throughput::Elements(64));
        group.bench_function("verify_batch/64", |b| b.iter(|| raw.verify_batch()));
        group.bench_function("verify_each/64", |b| b.iter(|| raw.verify_each()));
        group.finish();
    }

    /// Identity proofs: checking one (what every receiver does once per writer), and the
    /// attempt rate of minting (2^difficulty attempts on average per identity).
    fn identity(c: &mut Criterion) {
        let mut group = c.benchmark_group("identity");
        let writer = replica(1).local_writer();
        let mut minter = Minter::new(&namespace(), &writer, Difficulty(12), 0);
        let proof = minter.step(u64::MAX).expect("found");
        group.bench_function("check", |b| {
            b.iter(|| black_box(proof.holds(&namespace(), &writer, Difficulty(12))))
        });
        group.throughput(Throughput::Elements(10_000));
        group.bench_function("mint_attempts/10000", |b| {
            // Difficulty 64: no attempt succeeds, every one is counted.
            let mut minter = Minter::new(&namespace(), &writer, Difficulty(64), 0);
            b.iter(|| black_box(minter.step(10_000)))
        });
        group.finish();
    }

    pub(crate) fn main() {
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .configure_from_args();
        local_like(&mut c);
        signing(&mut c);
        merging(&mut c);
        stats(&mut c);
        codec(&mut c);
        primitive(&mut c);
        catch_up(&mut c);
        light_node(&mut c);
        watch_answer(&mut c);
        identity(&mut c);
        c.final_summary();
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::main();
}
