//! `http-load`: a load generator for DynamoDB-compatible HTTP servers — strata, Dynoxide,
//! DynamoDB Local, moto — so they are measured with the same client in the same run.
//!
//! ```sh
//! cargo run --release -p strata-bench --bin http-load -- --endpoint http://127.0.0.1:8000 \
//!     --clients 1,16 --items 20000
//! ```
//!
//! Each client keeps one HTTP/1.1 connection and sends requests back to back (raw HTTP, no
//! SDK, so the client costs the same against every server). Workloads: PutItem and GetItem of
//! 1 KB items, UpdateItem (ADD), Query of 100-item partitions (each read ten times),
//! BatchWriteItem of 25 items.
//! Printed per workload and client count: requests/s and p50/p99 latency.
//!
//! The clients share one thread, an event loop (`--client-threads` sets how many), and every
//! request's bytes are built before the run starts, the way `wrk` drives a server: the
//! generator shares the machine with the server, and whatever it spends per request is taken
//! from the server being measured. `--blocking` runs the earlier generator instead — a thread
//! per client, each request built as it is sent — whose own cost (building the JSON, two
//! context switches per request, sixteen threads contending for the cores) was about half of
//! the machine at 16 clients, and whose thread scheduling delays showed up in p99.

use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser, Debug)]
#[command(about = "HTTP load generator for DynamoDB-compatible servers")]
struct Args {
    /// The server, e.g. http://127.0.0.1:8000.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    endpoint: String,
    /// Comma-separated concurrent client counts.
    #[arg(long, default_value = "1,16")]
    clients: String,
    /// Items written (and read) per workload.
    #[arg(long, default_value_t = 20_000)]
    items: u64,
    /// Comma-separated workloads: put, get, update, query, batchwrite.
    #[arg(long, default_value = "put,get,update,query,batchwrite")]
    workloads: String,
    /// Threads of the clients' event loop.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// A blocking thread per client, building each request as it sends it (the generator
    /// before 2026-12-07, for comparison with earlier results).
    #[arg(long)]
    blocking: bool,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The histogram of one client's latencies (nanoseconds), and how many answers were not 200.
type ClientResult = Result<(Histogram<u64>, u64), Error>;

fn histogram() -> Result<Histogram<u64>, Error> {
    Ok(Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?)
}

/// A request's HTTP/1.1 bytes: `POST /` of operation `op` with JSON `body`, with the
/// headers an SDK sends (a signature no server here checks).
fn http_request(host: &str, op: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.{op}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\nX-Amz-Date: 20240101T000000Z\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What the head of a response says about it.
struct Head {
    status: u16,
    /// Bytes of the status line and headers, with the blank line.
    len: usize,
    body: BodyLength,
    /// The server closes the connection after this response.
    close: bool,
}

enum BodyLength {
    Fixed(usize),
    Chunked,
    /// Until the server closes the connection (no length, no chunking).
    ToClose,
}

/// Parses the head of the response at the start of `buf`; `None` until it is complete.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, Error> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end])?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
    let mut head = Head {
        status,
        len: end + 4,
        body: BodyLength::ToClose,
        close: status_line.starts_with("HTTP/1.0"),
    };
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("content-length") {
            head.body = BodyLength::Fixed(v.parse()?);
        } else if k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked") {
            head.body = BodyLength::Chunked;
        } else if k.eq_ignore_ascii_case("connection") {
            head.close = v.eq_ignore_ascii_case("close");
        }
    }
    Ok(Some(head))
}

/// The length of the chunked body at the start of `buf` (through its last chunk's CRLF);
/// `None` until it is complete. Trailers are not expected.
fn chunked_len(buf: &[u8]) -> Result<Option<usize>, Error> {
    let mut at = 0;
    loop {
        let Some(eol) = buf[at..].windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&buf[at..at + eol])?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)?;
        at += eol + 2 + size + 2;
        if at > buf.len() {
            return Ok(None);
        }
        if size == 0 {
            return Ok(Some(at));
        }
    }
}

/// One keep-alive connection, driven by the event loop.
struct AsyncConn {
    stream: tokio::net::TcpStream,
    /// Bytes read and not yet used.
    buf: Vec<u8>,
    addr: String,
}

impl AsyncConn {
    async fn open(addr: &str) -> Result<AsyncConn, Error> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(AsyncConn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            addr: addr.to_owned(),
        })
    }

    /// Reads more of the response; false at the end of the connection.
    async fn fill(&mut self) -> Result<bool, Error> {
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            self.stream.read_buf(&mut self.buf),
        )
        .await
        .map_err(|_| "the server did not answer for 60 s")??;
        Ok(read > 0)
    }

    /// Sends one request and reads its whole response; returns its status. Follows the
    /// server's `Connection: close` (moto's development server closes every connection) by
    /// reconnecting for the next request.
    async fn call(&mut self, request: &[u8]) -> Result<u16, Error> {
        self.stream.write_all(request).await?;
        let head = loop {
            if let Some(head) = parse_head(&self.buf)? {
                break head;
            }
            if !self.fill().await? {
                return Err("the server closed the connection".into());
            }
        };
        let total = loop {
            let body = &self.buf[head.len..];
            let complete = match head.body {
                BodyLength::Fixed(n) => (body.len() >= n).then_some(n),
                BodyLength::Chunked => chunked_len(body)?,
                BodyLength::ToClose => None,
            };
            if let Some(n) = complete {
                break head.len + n;
            }
            if !self.fill().await? {
                match head.body {
                    BodyLength::ToClose => break self.buf.len(),
                    _ => return Err("the server closed the connection mid-response".into()),
                }
            }
        };
        self.buf.drain(..total);
        if head.close || matches!(head.body, BodyLength::ToClose) {
            *self = AsyncConn::open(&self.addr).await?;
        }
        Ok(head.status)
    }
}

/// One blocking keep-alive connection (setup, and the `--blocking` generator).
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Conn {
    fn open(addr: &str) -> std::io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        // A server that stops answering fails the run instead of hanging it.
        s.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
        Ok(Conn {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
            host: addr.to_owned(),
        })
    }

    /// Sends one request and reads the response; returns (status, body). Follows the
    /// server's `Connection: close` by reconnecting for the next request, and reads chunked
    /// bodies.
    fn call(&mut self, op: &str, body: &Value) -> std::io::Result<(u16, Vec<u8>)> {
        self.writer.write_all(&http_request(&self.host, op, body))?;
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        let mut chunked = false;
        let mut close = line.starts_with("HTTP/1.0");
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let v = v.trim();
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = v.eq_ignore_ascii_case("chunked");
                } else if k.eq_ignore_ascii_case("connection") {
                    close = v.eq_ignore_ascii_case("close");
                }
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size =
                    usize::from_str_radix(line.trim_end().split(';').next().unwrap_or(""), 16)
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                let start = out.len();
                out.resize(start + size + 2, 0);
                self.reader.read_exact(&mut out[start..])?;
                out.truncate(start + size);
                if size == 0 {
                    break;
                }
            }
        } else {
            out.resize(len, 0);
            self.reader.read_exact(&mut out)?;
        }
        if close {
            *self = Conn::open(&self.host)?;
        }
        Ok((status, out))
    }
}

fn request(workload: &str, i: u64, value: &str) -> (&'static str, Value) {
    let pk = format!("p{:08}", i / 100);
    let sk = (i % 100).to_string();
    match workload {
        "put" => (
            "PutItem",
            json!({"TableName": "load", "Item": {"pk": {"S": pk}, "sk": {"N": sk}, "v": {"S": value}}}),
        ),
        "get" => (
            "GetItem",
            json!({"TableName": "load", "Key": {"pk": {"S": pk}, "sk": {"N": sk}}}),
        ),
        "update" => (
            "UpdateItem",
            json!({"TableName": "load", "Key": {"pk": {"S": pk}, "sk": {"N": sk}},
            "UpdateExpression": "ADD hits :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}),
        ),
        "query" => (
            "Query",
            json!({"TableName": "load", "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": pk}}}),
        ),
        _ => {
            let base = (i * 25) % 1_000_000_000;
            let items: Vec<Value> = (0..25)
                .map(|j| {
                    json!({"PutRequest": {"Item": {"pk": {"S": format!("b{:08}", (base + j) / 100)},
                    "sk": {"N": ((base + j) % 100).to_string()}, "v": {"S": value}}}})
                })
                .collect();
            ("BatchWriteItem", json!({"RequestItems": {"load": items}}))
        }
    }
}

/// The item number of client `c`'s `n`-th request, of `per` requests each.
fn item_of(workload: &str, c: u64, n: u64, per: u64, items: u64) -> u64 {
    match workload {
        "query" => (c * per + n) * 100 % items.max(100),
        _ => c * per + n,
    }
}

/// Runs `per` requests on each of `clients` connections, each client on a thread of its
/// own, building each request as it sends it.
fn run_blocking(addr: &str, workload: &str, clients: u64, per: u64, a: &Args) -> Vec<ClientResult> {
    let value = "x".repeat(1000);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let value = &value;
                s.spawn(move || -> ClientResult {
                    let mut conn = Conn::open(addr)?;
                    let mut h = histogram()?;
                    let mut errors = 0;
                    for n in 0..per {
                        let (op, body) =
                            request(workload, item_of(workload, c, n, per, a.items), value);
                        let t = Instant::now();
                        let (status, _) = conn.call(op, &body)?;
                        let _ = h.record(t.elapsed().as_nanos().max(1) as u64);
                        if status != 200 {
                            errors += 1;
                        }
                    }
                    Ok((h, errors))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a client thread panicked".into()))
            })
            .collect()
    })
}

/// Runs the prepared requests, `requests[c]` on client `c`'s connection, all clients on an
/// event loop of `threads` threads; returns the time from the first request to the last
/// answer, and each client's result.
fn run_event_loop(
    addr: &str,
    requests: Vec<Vec<Vec<u8>>>,
    threads: usize,
) -> Result<(std::time::Duration, Vec<ClientResult>), Error> {
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(async {
        // Connect every client before the first request, so connecting is not measured.
        let mut conns = Vec::new();
        for _ in 0..requests.len() {
            conns.push(AsyncConn::open(addr).await?);
        }
        let start = Instant::now();
        let mut tasks = Vec::new();
        for (mut conn, mine) in conns.into_iter().zip(requests) {
            tasks.push(tokio::spawn(async move {
                let mut h = histogram()?;
                let mut errors = 0;
                for request in &mine {
                    let t = Instant::now();
                    let status = conn.call(request).await?;
                    let _ = h.record(t.elapsed().as_nanos().max(1) as u64);
                    if status != 200 {
                        errors += 1;
                    }
                }
                Ok((h, errors))
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(
                task.await
                    .unwrap_or_else(|_| Err("a client task panicked".into())),
            );
        }
        Ok((start.elapsed(), results))
    })
}

fn main() -> Result<(), Error> {
    let args = Args::parse();
    let addr = args
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut setup = Conn::open(&addr)?;
    let (status, body) = setup.call("CreateTable", &json!({"TableName": "load",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST"}))?;
    if status != 200 && !String::from_utf8_lossy(&body).contains("ResourceInUse") {
        return Err(format!(
            "CreateTable failed: {status} {}",
            String::from_utf8_lossy(&body)
        )
        .into());
    }
    let value = Arc::new("x".repeat(1000));
    println!("| workload | clients | requests/s | p50 µs | p99 µs | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    for clients in args
        .clients
        .split(',')
        .filter_map(|c| c.trim().parse::<u64>().ok())
    {
        for workload in args.workloads.split(',').map(str::trim) {
            let total = match workload {
                // Each 100-item partition is read ten times: at one query per partition a run
                // was a couple of hundred requests, too short to measure anything but ramp-up.
                "query" => (args.items / 10).max(clients),
                "batchwrite" => (args.items / 25).max(clients),
                _ => args.items,
            };
            let per = total / clients;
            let (elapsed, results) = if args.blocking {
                let start = Instant::now();
                let results = run_blocking(&addr, workload, clients, per, &args);
                (start.elapsed(), results)
            } else {
                let requests = (0..clients)
                    .map(|c| {
                        (0..per)
                            .map(|n| {
                                let i = item_of(workload, c, n, per, args.items);
                                let (op, body) = request(workload, i, &value);
                                http_request(&addr, op, &body)
                            })
                            .collect()
                    })
                    .collect();
                run_event_loop(&addr, requests, args.client_threads)?
            };
            let mut hist = histogram()?;
            let mut errors = 0;
            for r in results {
                let (h, e) = r?;
                hist.add(&h)?;
                errors += e;
            }
            println!(
                "| {workload} | {clients} | {:.0} | {:.0} | {:.0} | {errors} |",
                (per * clients) as f64 / elapsed.as_secs_f64(),
                hist.value_at_quantile(0.5) as f64 / 1000.0,
                hist.value_at_quantile(0.99) as f64 / 1000.0
            );
        }
    }
    Ok(())
}
