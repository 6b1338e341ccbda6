//! The README's tour, run as written, so it cannot rot: the real `mart up` binary on a
//! temporary data directory and a free port, and the tour's shell block run by bash with
//! curl and jq, exactly as a reader pastes it into a terminal.

use std::{
    fs::File,
    io::{BufRead, BufReader},
    net::TcpListener,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

/// How long the shop may take to get ready, and the tour to run.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const TOUR_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn the_readme_tour_runs_as_written() {
    for tool in ["curl", "jq", "bash"] {
        let found = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        assert!(
            found.is_ok_and(|s| s.success()),
            "the README's tour needs {tool}: install it (Debian/Ubuntu: apt-get install -y curl jq)"
        );
    }
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let tour = tour(&readme);
    // The edge refuses a JSON body that does not say so (415), and `curl -d` says
    // form-encoded unless told otherwise.
    for line in tour.lines().filter(|line| line.contains("curl ") && line.contains(" -d ")) {
        assert!(
            line.contains("-H 'content-type: application/json'"),
            "a tour line posts without the JSON type:\n{line}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let addr = free_address();

    let shop = Shop::start(dir.path(), &addr);
    let script = tour
        .replace("cargo run --release -p mart --", &shell_quote(env!("CARGO_BIN_EXE_mart")))
        .replace("127.0.0.1:8000", &addr);
    let (status, output) = run_tour(&script, dir.path());
    let stopped = shop.stop();
    assert!(status.success(), "the tour failed ({status}):\n{output}\n--- mart up said:\n{stopped}");

    // The order goes all the way to paid, and the customer hears about every step.
    let lines: Vec<&str> = output.lines().collect();
    assert!(lines.contains(&"ORDER_STATUS_PAID"), "the order is paid:\n{output}");
    let inbox = lines.iter().rposition(|l| *l == "ORDER_STATUS_PAID").map(|i| &lines[i + 1..]).unwrap_or_default();
    assert_eq!(inbox, ["Payment received", "We received your order", "Welcome to Online Mart"], "{output}");
    assert!(output.contains("\"amountMinor\": \"2500\""), "the cart's subtotal is shown:\n{output}");
    assert!(stopped.contains("mart: stopped"), "mart up stops cleanly:\n{stopped}");
}

/// The first `sh` block under "## A tour through the edge".
fn tour(readme: &str) -> String {
    let section = readme.split("\n## A tour through the edge\n").nth(1).expect("the README has the tour");
    let section = section.split("\n## ").next().unwrap_or(section);
    let block = section.split("```sh\n").nth(1).expect("the tour has a sh block");
    block.split("\n```").next().expect("the block ends").to_owned()
}

/// A loopback address nothing listens on right now.
fn free_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs `script` with `bash -euo pipefail`, in `dir`, as the tour's reader would; its
/// exit status and everything it printed (stdout, then stderr).
fn run_tour(script: &str, dir: &Path) -> (ExitStatus, String) {
    let (out, err) = (dir.join("tour.out"), dir.join("tour.err"));
    let mut bash = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        // `mart admin create` writes to the shop's databases, wherever the shop keeps them.
        .env("MART_DATA_DIR", dir)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .expect("bash starts");
    let printed = || std::fs::read_to_string(&out).unwrap() + &std::fs::read_to_string(&err).unwrap();
    let status = wait(&mut bash, TOUR_TIMEOUT).unwrap_or_else(|| {
        let _ = bash.kill();
        // An `until` line waiting for a step that never comes (a rejected order, say).
        panic!("the tour did not finish within {TOUR_TIMEOUT:?}; it printed:\n{}", printed());
    });
    (status, printed())
}

/// `child`'s exit status, or `None` when it is still running after `timeout`.
fn wait(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// `mart up` as a child process.
struct Shop {
    child: Child,
    /// The lines it prints on stdout, read by a thread so the pipe never fills.
    lines: mpsc::Receiver<String>,
    /// What it printed so far.
    printed: String,
    /// Where its logs (stderr) go, to show when something fails.
    log: std::path::PathBuf,
}

impl Shop {
    /// Starts `mart up` on `data_dir` and `addr`, and waits until it says it is ready.
    fn start(data_dir: &Path, addr: &str) -> Self {
        let log = data_dir.join("mart-up.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_mart"))
            .args(["up", "--data-dir"])
            .arg(data_dir)
            .args(["--http-addr", addr])
            // The tour creates its own admin; a bootstrap admin from the environment would
            // be a second one, and the reader's rate limits are the defaults.
            .env_remove("MART_BOOTSTRAP_ADMIN_EMAIL")
            .env_remove("MART_BOOTSTRAP_ADMIN_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("mart up starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut shop = Self { child, lines, printed: String::new(), log };
        let deadline = Instant::now() + READY_TIMEOUT;
        while !shop.printed.contains("mart: ready on ") {
            let left = deadline.saturating_duration_since(Instant::now());
            match shop.lines.recv_timeout(left) {
                Ok(line) => shop.printed += &(line + "\n"),
                Err(_) => {
                    let _ = shop.child.kill();
                    let _ = shop.child.wait();
                    panic!("mart up did not get ready within {READY_TIMEOUT:?}:\n{}", shop.output());
                }
            }
        }
        shop
    }

    /// Stops the shop with SIGTERM, as Ctrl-C or a supervisor would, and checks it exits 0;
    /// everything it printed.
    fn stop(mut self) -> String {
        let terminated = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        assert!(terminated.is_ok_and(|s| s.success()), "kill -TERM reaches mart up");
        let status = wait(&mut self.child, Duration::from_secs(30));
        if status.is_none() {
            let _ = self.child.kill();
        }
        // The reader thread ends with the child's stdout.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.printed += &(line + "\n");
        }
        let output = self.output();
        assert!(status.is_some_and(|s| s.success()), "mart up exits 0 on SIGTERM ({status:?}):\n{output}");
        output
    }

    /// Its stdout so far and its log.
    fn output(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        format!("{}--- its log:\n{log}", self.printed)
    }
}

impl Drop for Shop {
    /// A failing test must not leave the shop running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
