//! The short form of the load test, against the real `quarry serve` on loopback: 50
//! conversations at once (first questions from the demo set, follow-ups, feedback) for
//! 40 s, the second half judged, with zero errors and the server's memory flat; and wrk's script of
//! the throughput benchmark answered without errors.
//!
//! The wrk part needs `wrk` (`apt-get install wrk`); without it it is skipped with a
//! message, unless `REQUIRE_WRK=1` (set by CI) turns that into a failure. The full runs and
//! their figures are `quarry-load conversations` and `quarry-load throughput` (release build).

#[allow(dead_code)] // This binary starts servers itself; it does not run the `quarry` command helper.
mod common;

use std::time::Duration;

use quarry_load::conversations::{self, ConversationOptions};
use quarry_load::questions::{first_questions, questions_path};
use quarry_load::server::{SpawnOptions, SpawnedServer};
use quarry_load::throughput::{self, ThroughputOptions, Workload};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")
}

async fn start_server() -> SpawnedServer {
    let mut options = SpawnOptions::new(assert_cmd::cargo::cargo_bin("quarry"));
    options.snapshots = Some(common::home().join("snapshots"));
    SpawnedServer::start(&options).await.expect("quarry serve starts")
}

#[test]
fn fifty_concurrent_conversations_get_no_errors_and_the_servers_memory_stays_flat() {
    runtime().block_on(async {
        let server = start_server().await;
        let pool = first_questions(&questions_path(None)).expect("the demo question set");
        // One run: the first half fills the allocator's arenas and the page caches and brings
        // all 50 users in flight (a debug build answers in seconds), and is not judged (its
        // errors are). A separate warm-up run would leave a lull before the judged part, after
        // which memory ramps up again and reads as growth.
        let mut options = ConversationOptions::new(server.url(), 50, Duration::from_secs(40), pool);
        options.flat_rule.warmup_fraction = 0.5;
        options.pid = Some(server.pid());
        options.seed = 7;
        options.progress_every = Some(Duration::from_secs(5));
        let report = conversations::run(options).await.expect("the load run runs");
        eprintln!("{}", report.render());
        assert!(report.pass, "{}\nserver log:\n{}", report.render(), server.log_tail(20));
        for kind in ["first", "follow_up", "feedback"] {
            let requests = report.requests.get(kind).map_or(0, |r| r.ok);
            assert!(requests > 0, "no {kind} requests answered:\n{}", report.render());
        }
        let memory = report.memory.as_ref().expect("the server's memory was sampled");
        assert!(memory.samples >= 15 && memory.rss_end_mib > 0.0, "{memory:?}");
    });
}

#[test]
fn the_wrk_script_asks_repeated_and_fresh_questions_without_errors() {
    let wrk_installed = std::process::Command::new("wrk").arg("--version").output().is_ok();
    if !wrk_installed {
        if std::env::var("REQUIRE_WRK").as_deref() == Ok("1") {
            panic!("wrk is not installed (apt-get install wrk) and REQUIRE_WRK=1");
        }
        eprintln!("skipped: wrk is not installed (apt-get install wrk); set REQUIRE_WRK=1 to make this a failure");
        return;
    }
    runtime().block_on(async {
        let server = start_server().await;
        for workload in [Workload::Repeated, Workload::Fresh] {
            let mut options = ThroughputOptions::new(server.url(), workload);
            options.duration = Duration::from_secs(3);
            options.connections = 2;
            options.pid = Some(server.pid());
            let report = throughput::run(&options).await.expect("wrk runs");
            eprintln!("{}", report.render());
            assert!(report.requests > 0 && report.clean(), "{}\nserver log:\n{}", report.render(), server.log_tail(20));
            assert!(report.peak_hwm_mib.is_some_and(|mib| mib > 0.0), "{report:?}");
        }
    });
}
