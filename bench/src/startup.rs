//! `mart up` from cold to ready, and what the shop and one service weigh when idle: the
//! release binaries run as real processes, the way a newcomer or a pod runs them.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// How long the processes idle before their memory is read.
const SETTLE: Duration = Duration::from_secs(3);

/// A binary built next to this one (`cargo build --release --workspace --bins`).
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let here = std::env::current_exe()?;
    let path = here.parent().ok_or_else(|| anyhow::anyhow!("no directory"))?.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build it first with `cargo build --release --workspace --bins`",
        path.display()
    );
    Ok(path)
}

/// Resident memory of `pid` in MiB, from `/proc`.
fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for {pid}"))?;
    Ok(kib / 1024.0)
}

/// Asks `child` to stop as Ctrl-C would, and waits.
async fn terminate(mut child: Child) -> anyhow::Result<std::process::ExitStatus> {
    if let Some(pid) = child.id() {
        Command::new("kill").args(["-TERM", &pid.to_string()]).status().await?;
    }
    Ok(tokio::time::timeout(Duration::from_secs(15), child.wait()).await??)
}

/// Starts `mart up` on `data_dir`; the process and how long until its ready line.
async fn mart_up(mart: &Path, data_dir: &Path) -> anyhow::Result<(Child, Duration)> {
    let started = Instant::now();
    let mut child = Command::new(mart)
        .args(["up", "--data-dir", &data_dir.display().to_string(), "--http-addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?).lines();
    loop {
        let line = lines.next_line().await?.ok_or_else(|| anyhow::anyhow!("mart up ended before it was ready"))?;
        if line.starts_with("mart: ready on") {
            let ready = started.elapsed();
            // Keep reading so the pipe never fills.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok((child, ready));
        }
    }
}

/// A free port on loopback.
fn free_addr() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// The figures, next to their targets.
#[allow(clippy::print_stdout, reason = "the report is the program's output")]
pub async fn bench() -> anyhow::Result<()> {
    let mart = sibling("mart")?;
    let inventory = sibling("svc-inventory")?;
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("shop");

    let (first, cold) = mart_up(&mart, &data_dir).await?;
    tokio::time::sleep(SETTLE).await;
    let shop_rss = rss_mib(first.id().ok_or_else(|| anyhow::anyhow!("mart up exited"))?)?;
    anyhow::ensure!(terminate(first).await?.success(), "mart up did not stop cleanly");
    let (again, warm) = mart_up(&mart, &data_dir).await?;
    anyhow::ensure!(terminate(again).await?.success(), "mart up did not stop cleanly the second time");

    // One service on its own, as a pod runs it: its own SQLite file and event log.
    let addr = free_addr()?;
    let service_dir = dir.path().join("one");
    let service = Command::new(&inventory)
        .env("MART_DATA_DIR", &service_dir)
        .env("MART_GRPC_ADDR", addr.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    std::fs::create_dir_all(&service_dir)?;
    mart_platform::test_util::wait_until_serving(addr).await;
    tokio::time::sleep(SETTLE).await;
    let service_rss = rss_mib(service.id().ok_or_else(|| anyhow::anyhow!("svc-inventory exited"))?)?;
    anyhow::ensure!(terminate(service).await?.success(), "svc-inventory did not stop cleanly");

    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!("mart up and one service as release processes (empty data directory, then a restart on it)");
    println!("{:<44} {:>10} {:>12} {:>8}", "figure", "value", "target", "");
    println!(
        "{:<44} {:>8} ms {:>12} {:>8}",
        "mart up, empty data dir → ready",
        cold.as_millis(),
        "< 2000 ms",
        verdict(cold < Duration::from_secs(2))
    );
    println!(
        "{:<44} {:>8} ms {:>12} {:>8}",
        "mart up, restart on its data → ready",
        warm.as_millis(),
        "< 2000 ms",
        verdict(warm < Duration::from_secs(2))
    );
    println!("{:<44} {:>7.1} MiB {:>12} {:>8}", "mart up idle RSS", shop_rss, "< 150 MB", verdict(shop_rss < 150.0));
    println!(
        "{:<44} {:>7.1} MiB {:>12} {:>8}",
        "svc-inventory idle RSS",
        service_rss,
        "< 30 MB",
        verdict(service_rss < 30.0)
    );
    Ok(())
}
