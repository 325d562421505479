//! The hostile-load benchmark (`scripts/bench --hostile`): an edge node process on loopback
//! under one attack at a time, from native clients in this process, while it measures the edge
//! node's peak RSS and CPU, the latency of `/metrics`, and the latency of an honest like from one
//! honest peer to another through the edge node (each honest peer on a thread of its own, as
//! on machines of their own). One row per attack (after an idle baseline).
#![cfg_attr(target_arch = "wasm32", allow(unused))]

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
#[path = "../tests/common/mod.rs"]
mod common;
#[cfg(not(target_arch = "wasm32"))]
mod hostile {
    pub(crate) mod addressed;
    pub(crate) mod attacks;
    pub(crate) mod clients;
    pub(crate) mod honest;
    pub(crate) mod measure;
    pub(crate) mod poison;
    pub(crate) mod round2;
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::time::Duration;

    use std::time::Instant;

    use common::net::local;
    use hostile::attacks::{self, Attack};
    use hostile::honest::Honest;
    use hostile::measure::{Edge, Sampler, percentile};

    /// How long each attack (and the idle baseline) runs: long enough for the honest probes.
    const WINDOW: Duration = Duration::from_secs(15);
    /// How often the honest peer likes a tweet during a window.
    const LIKE_EVERY: Duration = Duration::from_millis(100);

    // `cargo bench --bench hostile -- light-clients`: one edge node serving 1,000 light
    // clients, alone (not an attack: not in the table).
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if only.iter().any(|o| o == "light-clients") {
        let dir = std::env::temp_dir().join(format!("warpnet-clients-{}", std::process::id()));
        // The clients all come from loopback: one address, given room for all of them.
        let room = ["--max-per-ip", "4096", "--max-watches-per-ip", "131072"];
        let mut edge = Edge::start_with(&dir, &room);
        local(hostile::clients::run(&mut edge));
        edge.terminate();
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let per_entry = hostile::measure::replica_bytes_per_entry(4, 6000);
    println!(
        "a replica's memory per entry (24,000 likes on distinct tweets): {per_entry:.0} bytes"
    );
    let dir = std::env::temp_dir().join(format!("warpnet-hostile-{}", std::process::id()));
    // A 3 MB file for the slow readers to ask for, beside the demo page.
    let www = dir.join("www");
    std::fs::create_dir_all(&www).expect("www made");
    std::fs::write(www.join("big.bin"), vec![0u8; 3 << 20]).expect("written");
    let www = www.to_str().expect("utf-8").to_owned();
    let difficulty = hostile::round2::DIFFICULTY.to_string();
    let flags = ["--difficulty", difficulty.as_str(), "--www", www.as_str()];
    // What the edge node holds before the attacks, handed over with room to take it at once;
    // then the edge node restarts on the same store with the default flags.
    let store = dir.join("store");
    let seeded = hostile::round2::seeded();
    {
        let room = [
            "--counters-per-peer",
            "1000000",
            "--counters-total",
            "1000000",
            "--checks-per-peer",
            "1000000",
            "--checks-total",
            "1000000",
            "--intake-per-peer",
            "256",
            "--intake-per-ip",
            "256",
            "--intake-total",
            "256",
        ];
        let mut edge = Edge::start_with(&store, &[&flags[..], &room[..]].concat());
        let tcp = edge.address("tcp");
        let started = Instant::now();
        local(async {
            let seeder = hostile::round2::hand_over(&tcp, hostile::round2::seed()).await;
            hostile::round2::until_held(&mut edge, seeded).await;
            seeder.stop().await;
        });
        println!("seeded {seeded} counters in {:.1} s", started.elapsed().as_secs_f64());
        edge.terminate();
    }
    let mut edge = Edge::start_with(&store, &flags);
    let (tcp, ws, http) = (edge.address("tcp"), edge.address("ws"), edge.http());
    println!(
        "edge node {} pid {}, {tcp}, {ws}, http://{http}",
        std::env::var("EDGE").unwrap_or_else(|_| "target/release/warpnet-stats-edge".into()),
        edge.pid()
    );
    println!(
        "| attack ({} s each) | peak RSS (MiB) | growth in the window | CPU | /metrics p50 / p99 / max (ms) | honest like p50 / p99 / max (ms), lost | light watch (ms) | cold sync of {seeded} (s) | alive |",
        WINDOW.as_secs()
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let honest = Honest::start(&tcp);
    // `cargo bench --bench hostile -- gossip-flood` runs that attack alone (after idle).
    let chosen = Attack::ALL.into_iter().filter(|attack| {
        only.is_empty() || *attack == Attack::Idle || only.iter().any(|o| o == attack.name())
    });
    for attack in chosen {
        let before = hostile::measure::rss_mib(edge.pid());
        let sampler = Sampler::start(edge.pid(), &http);
        let running = attacks::launch(attack, &tcp, &ws, &http, WINDOW);
        // The honest probes, a second into the attack, each on a thread of its own.
        let probe = |tcp: libp2p::Multiaddr, cold: bool| {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(1));
                local(async move {
                    if cold {
                        hostile::round2::cold_sync(&tcp, seeded).await
                    } else {
                        hostile::round2::light_watch(&tcp).await
                    }
                })
            })
        };
        let (light, cold) = (probe(tcp.clone(), false), probe(tcp.clone(), true));
        let (mut latencies, mut lost) = (Vec::new(), 0);
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < WINDOW {
            n += 1;
            let id = format!("{}-{n}", attack.name());
            let liked = Instant::now();
            match honest.like(&id, liked + Duration::from_secs(5)) {
                Some(arrived) => latencies.push(arrived - liked),
                None => lost += 1,
            }
            std::thread::sleep(LIKE_EVERY.saturating_sub(liked.elapsed()));
        }
        running.join();
        let report = sampler.stop();
        let (light, cold) = (light.join().expect("probe"), cold.join().expect("probe"));
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let seconds = |d: Option<Duration>| {
            d.map_or("not done".into(), |d| format!("{:.2}", d.as_secs_f64()))
        };
        let millis = |d: Option<Duration>| d.map_or("not done".into(), |d| format!("{:.0}", ms(d)));
        let (p50, p99, max) = percentile(&report.metrics);
        let (h50, h99, hmax) = percentile(&latencies);
        println!(
            "| {} | {:.0} | {:+.0} | {:.0} % | {:.1} / {:.1} / {:.1}{} | {:.1} / {:.1} / {:.1}, {lost} of {n} | {} | {} | {} |",
            attack.name(),
            report.peak_rss_mib,
            report.peak_rss_mib - before,
            report.cpu * 100.0,
            ms(p50),
            ms(p99),
            ms(max),
            if report.metrics_failed > 0 {
                format!(" ({} failed)", report.metrics_failed)
            } else {
                String::new()
            },
            ms(h50),
            ms(h99),
            ms(hmax),
            millis(light),
            seconds(cold),
            if edge.alive() { "yes" } else { "NO" },
        );
        println!("  (edge node so far: {})", edge.counters().join(", "));
        if !edge.alive() {
            break;
        }
    }
    honest.stop();
    if only.is_empty() || only.iter().any(|o| o == "poison") {
        match local(hostile::poison::catch_up_through(&tcp)) {
            Some(took) => println!(
                "poisoned leaf ({} entries in one digest leaf): a node holding part of it caught \
                 up through the edge node in {:.1} s",
                hostile::poison::POISON,
                took.as_secs_f64()
            ),
            None => println!("poisoned leaf: the catch-up did NOT complete in 120 s"),
        }
    }
    edge.terminate();
    let _ = std::fs::remove_dir_all(&dir);
}
