//! Throughput and latency figures from a set of timed calls: what every load scenario
//! prints as one row.

use std::time::{Duration, Instant};

/// Throughput and latency of `clients` workers calling as fast as they can for a while.
pub(crate) struct Measured {
    pub(crate) per_second: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
}

impl Measured {
    /// Runs `worker(n)` for each client; each returns the latencies of its calls.
    pub(crate) async fn run<F, Fut>(clients: usize, worker: F) -> anyhow::Result<Self>
    where
        F: Fn(usize) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Vec<Duration>>>,
    {
        let started = Instant::now();
        let results = futures::future::join_all((0..clients).map(worker)).await;
        let elapsed = started.elapsed();
        let mut latencies = Vec::new();
        for result in results {
            latencies.extend(result?);
        }
        Self::of(latencies, elapsed)
    }

    /// The figures of `latencies`, calls that all finished within `elapsed`.
    pub(crate) fn of(mut latencies: Vec<Duration>, elapsed: Duration) -> anyhow::Result<Self> {
        anyhow::ensure!(!latencies.is_empty(), "no call finished");
        latencies.sort();
        Ok(Self {
            per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
            p50: quantile(&latencies, 0.50),
            p99: quantile(&latencies, 0.99),
        })
    }

    /// The mean of several runs of one scenario (of each figure).
    pub(crate) fn mean(runs: &[Measured]) -> Measured {
        let n = runs.len().max(1) as u32;
        Measured {
            per_second: runs.iter().map(|run| run.per_second).sum::<f64>() / f64::from(n),
            p50: runs.iter().map(|run| run.p50).sum::<Duration>() / n,
            p99: runs.iter().map(|run| run.p99).sum::<Duration>() / n,
        }
    }

    pub(crate) fn row(&self, name: &str, clients: usize) -> String {
        format!(
            "{name:<34} {clients:>8} {:>10.0} {:>7.2}ms {:>7.2}ms",
            self.per_second,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3
        )
    }
}

/// The `q` quantile (0..=1) of `sorted`, which must not be empty.
pub(crate) fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}
