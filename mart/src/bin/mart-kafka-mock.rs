//! `mart-kafka-mock`: librdkafka's mock cluster (the Kafka protocol over TCP on 127.0.0.1)
//! in a process of its own, for running the service binaries on `MART_EVENT_BUS=kafka`
//! without a Kafka installation: the distributed test starts it, and a developer can too.
//!
//! The mock has no CreateTopics, so this creates every domain topic and its `<topic>.dlq`
//! (`MART_EVENT_PARTITIONS` partitions) itself; the services then run with
//! `MART_KAFKA_TOPICS=external`. It prints `BROKERS <bootstrap servers>` on stdout once
//! ready, and runs until stdin closes, SIGTERM or Ctrl-C.

use anyhow::Context as _;
use mart_platform::{
    bus::{dlq_topic, kafka::MockKafka},
    config::{self, Service},
    events::TOPICS,
    server::shutdown_signal,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // Only the partitions matter here; read them as the services do.
    let partitions = config::load_as_or_exit::<()>("mart-kafka-mock", Service::User).events.partitions;
    let partitions = i32::try_from(partitions).context("MART_EVENT_PARTITIONS")?;
    let mock = MockKafka::start(1).await.context("starting the kafka mock cluster")?;
    for topic in TOPICS {
        for name in [topic.to_owned(), dlq_topic(topic)] {
            mock.create_topic(&name, partitions).await.with_context(|| format!("creating topic {name}"))?;
        }
    }

    let mut stdout = tokio::io::stdout();
    stdout.write_all(format!("BROKERS {}\n", mock.bootstrap_servers()).as_bytes()).await?;
    stdout.flush().await?;

    // Whoever started this holds its stdin: when that parent goes, so does the cluster.
    let stdin_closed = async {
        let mut stdin = tokio::io::stdin();
        let mut buffer = [0_u8; 256];
        while matches!(stdin.read(&mut buffer).await, Ok(n) if n > 0) {}
    };
    tokio::select! {
        () = stdin_closed => {}
        () = shutdown_signal() => {}
    }
    Ok(())
}
