//! An SMTP sink for tests: a small tokio SMTP server on a port-0 listener that keeps every
//! message it accepts (envelope and raw data) so a test can read what a user would receive.
//!
//! It speaks what a submitting client needs — EHLO/HELO, MAIL FROM, RCPT TO, DATA (with
//! dot-unstuffing), RSET, NOOP, QUIT — and no TLS or AUTH. [`SmtpSink::reject`] makes it
//! answer `451` (a temporary failure) to every MAIL FROM and [`SmtpSink::down`] makes it
//! hang up on every new connection, so a sender's retry paths can be exercised. [`Mail`] reads the headers and decodes the text and HTML parts of what
//! arrived (quoted-printable, base64, multipart), as a mail client would.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    task::JoinHandle,
};

use super::{eventually, listener};

/// One message as it arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// The envelope sender (MAIL FROM), without the angle brackets.
    pub from: String,
    /// The envelope recipients (RCPT TO), without the angle brackets.
    pub to: Vec<String>,
    /// The message as sent after DATA (headers and body), dot-unstuffed, CRLF line ends.
    pub data: String,
}

/// What the server shares with its connections.
#[derive(Default)]
struct State {
    /// Accepted messages, in arrival order.
    mails: Mutex<Vec<Mail>>,
    /// When set, MAIL FROM gets `451`.
    rejecting: AtomicBool,
    /// How many MAIL FROM were turned away.
    rejected: AtomicUsize,
    /// When set, new connections are closed before the greeting.
    down: AtomicBool,
    /// How many connections were closed that way.
    hung_up: AtomicUsize,
}

/// A running SMTP sink; stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl SmtpSink {
    /// Starts a sink on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = listener().await;
        let addr = listener.local_addr().expect("a bound listener has an address");
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                if shared.down.load(Ordering::SeqCst) {
                    shared.hung_up.fetch_add(1, Ordering::SeqCst);
                    drop(stream);
                    continue;
                }
                tokio::spawn(session(stream, Arc::clone(&shared)));
            }
        });
        Self { addr, state, task }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `smtp://host:port` URL a service's `SMTP_URL` should hold.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Turns the temporary-failure mode on (every MAIL FROM gets `451`) or off.
    pub fn reject(&self, rejecting: bool) {
        self.state.rejecting.store(rejecting, Ordering::SeqCst);
    }

    /// How many messages were turned away so far.
    pub fn rejected(&self) -> usize {
        self.state.rejected.load(Ordering::SeqCst)
    }

    /// Makes the server unreachable for mail (every new connection is closed at once, as
    /// by a server that is down), or reachable again. Open connections are not touched.
    pub fn down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    /// How many connections were closed while down.
    pub fn hung_up(&self) -> usize {
        self.state.hung_up.load(Ordering::SeqCst)
    }

    /// Every message accepted so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.state.mails.lock().map(|mails| mails.clone()).unwrap_or_default()
    }

    /// Waits (at most ten seconds) until `done` holds for what arrived; returns it.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Mail]) -> bool) -> Vec<Mail> {
        eventually(what, || {
            let mails = self.mails();
            let ready = done(&mails);
            async move { ready.then_some(mails) }
        })
        .await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection, until QUIT or the client goes away.
async fn session(stream: TcpStream, state: Arc<State>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    if write.write_all(b"220 sink.localhost ESMTP test sink\r\n").await.is_err() {
        return;
    }
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    while let Some(line) = read_line(&mut read).await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.localhost\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            to.clear();
            if state.rejecting.load(Ordering::SeqCst) {
                from = None;
                state.rejected.fetch_add(1, Ordering::SeqCst);
                b"451 4.3.0 Temporary failure, try again later\r\n"
            } else {
                from = Some(path(&line["MAIL FROM:".len()..]));
                b"250 2.1.0 OK\r\n"
            }
        } else if upper.starts_with("RCPT TO:") {
            if from.is_some() {
                to.push(path(&line["RCPT TO:".len()..]));
                b"250 2.1.5 OK\r\n"
            } else {
                b"503 5.5.1 MAIL first\r\n"
            }
        } else if upper == "DATA" {
            match (&from, to.is_empty()) {
                (Some(sender), false) => {
                    if write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await.is_err() {
                        return;
                    }
                    let Some(data) = read_data(&mut read).await else { return };
                    let mail = Mail { from: sender.clone(), to: std::mem::take(&mut to), data };
                    if let Ok(mut mails) = state.mails.lock() {
                        mails.push(mail);
                    }
                    from = None;
                    b"250 2.0.0 OK queued\r\n"
                }
                _ => b"503 5.5.1 MAIL and RCPT first\r\n",
            }
        } else if upper == "RSET" {
            from = None;
            to.clear();
            b"250 2.0.0 OK\r\n"
        } else if upper.starts_with("NOOP") {
            b"250 2.0.0 OK\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
            return;
        } else {
            b"502 5.5.2 Command not recognized\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// One line without its CRLF; `None` when the client closed the connection.
async fn read_line(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut bytes = Vec::new();
    match read.read_until(b'\n', &mut bytes).await {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                bytes.pop();
            }
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
    }
}

/// The lines after DATA up to the lone `.`, with the leading dot of stuffed lines removed.
async fn read_data(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut data = String::new();
    loop {
        let line = read_line(read).await?;
        if line == "." {
            return Some(data);
        }
        // RFC 5321 §4.5.2: a line starting with a dot was sent with one more.
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
        data.push_str("\r\n");
    }
}

/// The address in `<addr> PARAMS…`.
fn path(argument: &str) -> String {
    let argument = argument.trim();
    match (argument.find('<'), argument.find('>')) {
        (Some(start), Some(end)) if start < end => argument[start + 1..end].to_owned(),
        _ => argument.split_whitespace().next().unwrap_or_default().to_owned(),
    }
}

// === impl Mail ===

impl Mail {
    /// The value of the top-level header `name` (unfolded, encoded words decoded).
    pub fn header(&self, name: &str) -> Option<String> {
        header(split(&self.data).0, name)
    }

    /// The Subject.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject")
    }

    /// The decoded `text/plain` part (the whole body of a plain message), with `\n` line
    /// ends as a mail client shows it.
    pub fn text(&self) -> Option<String> {
        self.part("text/plain")
    }

    /// The decoded `text/html` part, with `\n` line ends.
    pub fn html(&self) -> Option<String> {
        self.part("text/html")
    }

    fn part(&self, content_type: &str) -> Option<String> {
        let mut found = Vec::new();
        leaves(&self.data, &mut found);
        found
            .into_iter()
            .find(|(kind, _)| kind.eq_ignore_ascii_case(content_type))
            .map(|(_, body)| body.replace("\r\n", "\n"))
    }
}

/// Splits an entity at the blank line: (headers, body).
fn split(entity: &str) -> (&str, &str) {
    entity.split_once("\r\n\r\n").or_else(|| entity.split_once("\n\n")).unwrap_or((entity, ""))
}

/// Header `name` of `headers`, unfolded and with RFC 2047 encoded words decoded.
fn header(headers: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in headers.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(value) = value.as_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((key, rest)) = line.split_once(':')
            && key.trim().eq_ignore_ascii_case(name)
        {
            value = Some(rest.trim().to_owned());
        }
    }
    value.map(|v| decode_words(&v))
}

/// The `key=value` parameter of a header value such as `multipart/alternative; boundary="x"`.
fn parameter(value: &str, key: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Every non-multipart part of `entity` as (content type, decoded body), depth first.
fn leaves(entity: &str, found: &mut Vec<(String, String)>) {
    let (headers, body) = split(entity);
    let content_type = header(headers, "Content-Type").unwrap_or_else(|| "text/plain".to_owned());
    let kind = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if kind.starts_with("multipart/") {
        let Some(boundary) = parameter(&content_type, "boundary") else { return };
        let delimiter = format!("--{boundary}");
        for part in body.split(delimiter.as_str()).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let part = part.strip_prefix("\r\n").unwrap_or(part);
            let part = part.strip_suffix("\r\n").unwrap_or(part);
            leaves(part, found);
        }
        return;
    }
    let encoding = header(headers, "Content-Transfer-Encoding").unwrap_or_default().to_ascii_lowercase();
    let decoded = match encoding.as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            String::from_utf8_lossy(&B64.decode(compact).unwrap_or_default()).into_owned()
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.to_owned(),
    };
    found.push((kind, decoded));
}

/// Decodes a quoted-printable body (RFC 2045 §6.7): `=XX` bytes and `=` soft line breaks.
fn quoted_printable(body: &str) -> String {
    let mut bytes = Vec::with_capacity(body.len());
    let input = body.as_bytes();
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'=' if input[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' if input[i + 1..].starts_with(b"\n") => i += 2,
            b'=' if i + 2 < input.len() => {
                match std::str::from_utf8(&input[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        bytes.push(byte);
                        i += 3;
                    }
                    None => {
                        bytes.push(b'=');
                        i += 1;
                    }
                }
            }
            byte => {
                bytes.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value;
/// whitespace between two adjacent encoded words is dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let Some(word) = encoded_word(&rest[start..]) else {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            after_word = false;
            continue;
        };
        let between = &rest[..start];
        if !(after_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        out.push_str(&word.0);
        rest = &rest[start + word.1..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

/// The decoded text of the encoded word at the start of `input`, and its length there.
fn encoded_word(input: &str) -> Option<(String, usize)> {
    let inner = input.strip_prefix("=?")?;
    let (_charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    let length = 2 + (input.len() - 2 - inner.len()) + end + 2;
    let decoded = match encoding.to_ascii_lowercase().as_str() {
        "b" => String::from_utf8_lossy(&B64.decode(text).ok()?).into_owned(),
        "q" => quoted_printable(&text.replace('_', " ")),
        _ => return None,
    };
    Some((decoded, length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_multipart_message() {
        let data = "From: a@x\r\nSubject: =?utf-8?b?SGVsbG8gIA==?= =?utf-8?q?w=C3=B6rld?=\r\n\
                    Content-Type: multipart/alternative;\r\n boundary=\"B\"\r\n\r\n\
                    --B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
                    caf=C3=A9 and a long=\r\n line\r\n\
                    --B\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                    PHA+aGk8L3A+\r\n--B--\r\n";
        let mail = Mail { from: "a@x".into(), to: vec!["b@y".into()], data: data.into() };
        assert_eq!(mail.subject().as_deref(), Some("Hello  wörld"));
        assert_eq!(mail.text().as_deref(), Some("café and a long line"));
        assert_eq!(mail.html().as_deref(), Some("<p>hi</p>"));
        assert_eq!(mail.header("From").as_deref(), Some("a@x"));
    }

    #[test]
    fn paths_lose_their_brackets_and_parameters() {
        assert_eq!(path("<a@x> SIZE=10"), "a@x");
        assert_eq!(path(" a@x"), "a@x");
    }
}
