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

use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

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
}

/// One keep-alive connection.
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
    /// server's `Connection: close` (moto's development server closes every connection) by
    /// reconnecting for the next request, and reads chunked bodies.
    fn call(&mut self, op: &str, body: &Value) -> std::io::Result<(u16, Vec<u8>)> {
        let body = body.to_string();
        let req = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.{op}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\nX-Amz-Date: 20240101T000000Z\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.writer.write_all(req.as_bytes())?;
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    let value = "x".repeat(1000);
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
            let start = Instant::now();
            let results: Vec<_> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..clients)
                    .map(|c| {
                        let addr = &addr;
                        let value = &value;
                        s.spawn(move || -> Result<(Histogram<u64>, u64), String> {
                            let mut conn = Conn::open(addr).map_err(|e| e.to_string())?;
                            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
                                .map_err(|e| e.to_string())?;
                            let mut errors = 0;
                            for n in 0..per {
                                let i = match workload {
                                    "query" => (c * per + n) * 100 % args.items.max(100),
                                    _ => c * per + n,
                                };
                                let (op, body) = request(workload, i, value);
                                let t = Instant::now();
                                let (status, _) =
                                    conn.call(op, &body).map_err(|e| e.to_string())?;
                                let _ = h.record(t.elapsed().as_nanos().max(1) as u64);
                                if status != 200 {
                                    errors += 1;
                                }
                            }
                            Ok((h, errors))
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join()).collect()
            });
            let elapsed = start.elapsed().as_secs_f64();
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
            let mut errors = 0;
            for r in results {
                let (h, e) = r.map_err(|_| "a client thread panicked")??;
                hist.add(&h)?;
                errors += e;
            }
            println!(
                "| {workload} | {clients} | {:.0} | {:.0} | {:.0} | {errors} |",
                (per * clients) as f64 / elapsed,
                hist.value_at_quantile(0.5) as f64 / 1000.0,
                hist.value_at_quantile(0.99) as f64 / 1000.0
            );
        }
    }
    Ok(())
}
