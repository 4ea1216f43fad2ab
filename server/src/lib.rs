//! strata's server: DynamoDB's and DynamoDB Streams' JSON protocol over HTTP/1.1 (tokio +
//! hyper), on the table layer, so unmodified AWS SDKs work against it.
//!
//! Every request is `POST /` with `X-Amz-Target: DynamoDB_20120810.<Op>` (or
//! `DynamoDBStreams_20120810.<Op>`) and a JSON body; responses carry `x-amzn-RequestId` and
//! `x-amz-crc32` (the body's CRC32, which SDKs verify). Request bodies are limited in size and
//! may be gzip-compressed; large responses are gzip-compressed for clients that accept it.
//! Table operations run on tokio's blocking pool (the engine's calls block).

mod dispatch;
mod error;
pub mod sigv4;

pub use dispatch::{dispatch, DYNAMODB, STREAMS};
pub use error::WireError;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use strata_table::Database;
use tokio::net::TcpListener;

/// The largest request body accepted (DynamoDB's own limit is 16 MB for BatchWriteItem).
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Responses at least this large are gzip-compressed for clients that accept it.
const COMPRESS_FROM: usize = 4096;

/// What the server needs.
pub struct Server {
    db: Arc<Database>,
    region: String,
    /// With credentials, every request must carry a valid SigV4 signature.
    credentials: Option<sigv4::Credentials>,
}

impl Server {
    /// A server over `db`, reporting `region` in ARNs and endpoints.
    pub fn new(db: Arc<Database>, region: impl Into<String>) -> Self {
        Server {
            db,
            region: region.into(),
            credentials: None,
        }
    }

    /// Requires every request to be signed (AWS Signature Version 4) with one of `creds`.
    pub fn with_credentials(mut self, creds: sigv4::Credentials) -> Self {
        self.credentials = Some(creds);
        self
    }

    /// Serves connections on `listener` until `shutdown` resolves.
    pub async fn run(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::warn!("accept failed: {e}");
                            continue;
                        }
                    };
                    let server = self.clone();
                    tokio::spawn(async move {
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let service = hyper::service::service_fn(move |req| {
                            let server = server.clone();
                            async move { Ok::<_, std::convert::Infallible>(server.handle(req, peer).await) }
                        });
                        if let Err(e) = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(io, service)
                            .await
                        {
                            tracing::debug!("connection from {peer} ended: {e}");
                        }
                    });
                }
                () = &mut shutdown => return Ok(()),
            }
        }
    }

    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<Full<Bytes>> {
        let request_id = request_id();
        let accepts_gzip = header(&req, "accept-encoding").is_some_and(|v| v.contains("gzip"));
        let result = self.clone().process(req).await;
        let (status, body) = match result {
            Ok(bytes) => (200, bytes),
            Err(e) => {
                tracing::debug!(%peer, kind = %e.kind, "request failed: {}", e.message);
                (e.status, serde_json::to_vec(&e.body()).unwrap_or_default())
            }
        };
        let crc = crc32fast::hash(&body);
        let mut builder = Response::builder()
            .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-requestid", &request_id)
            .header("x-amz-crc32", crc.to_string());
        let body = if accepts_gzip && body.len() >= COMPRESS_FROM {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            use std::io::Write;
            match enc.write_all(&body).and_then(|()| enc.finish()) {
                Ok(z) => {
                    builder = builder.header("content-encoding", "gzip");
                    z
                }
                Err(_) => body,
            }
        } else {
            body
        };
        builder
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    }

    async fn process(self: Arc<Self>, req: Request<Incoming>) -> Result<Vec<u8>, WireError> {
        let target = header(&req, "x-amz-target").unwrap_or_default();
        let gzipped = header(&req, "content-encoding").is_some_and(|v| v.contains("gzip"));
        // What a signature covers, kept only when signatures are checked.
        let signed_parts = self.credentials.as_ref().map(|_| {
            let headers: std::collections::HashMap<String, String> = req
                .headers()
                .iter()
                .filter_map(|(k, v)| {
                    Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned()))
                })
                .collect();
            (
                req.method().as_str().to_owned(),
                req.uri().path().to_owned(),
                req.uri().query().unwrap_or_default().to_owned(),
                headers,
            )
        });
        let body = Limited::new(req.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|_| {
                WireError::validation(format!(
                    "Request body exceeds the maximum size of {MAX_BODY} bytes"
                ))
            })?
            .to_bytes();
        if let (Some(creds), Some((method, path, query, headers))) =
            (&self.credentials, &signed_parts)
        {
            let lookup = |name: &str| headers.get(name).cloned();
            sigv4::verify(
                creds,
                &sigv4::Signed {
                    method,
                    path,
                    query,
                    header: &lookup,
                    body: &body,
                },
            )?;
        }
        let body = if gzipped {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .take(MAX_BODY as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| WireError::validation("The request body is not valid gzip"))?;
            if out.len() > MAX_BODY {
                return Err(WireError::validation(format!(
                    "Request body exceeds the maximum size of {MAX_BODY} bytes"
                )));
            }
            Bytes::from(out)
        } else {
            body
        };
        let writes = writes_items(&target);
        // A write parks its thread until its fsync ends unless the database defers that wait
        // (then the write is only ordered here, and its durability awaited below); it may
        // also block while compaction is behind.
        let parks = writes
            && ((self.db.syncs_writes() && !self.db.defers_sync_wait())
                || self.db.writes_throttled());
        let out = if !parks && !runs_long(&target) {
            // Short CPU work: run it here; a hand-off to another thread would cost more
            // (two context switches) than the request itself.
            dispatch(&self.db, &target, &body, &self.region)
        } else {
            let server = self.clone();
            tokio::task::spawn_blocking(move || {
                dispatch(&server.db, &target, &body, &server.region)
            })
            .await
            .map_err(|e| WireError::internal(format!("the request handler failed: {e}")))?
        };
        if writes && self.db.defers_sync_wait() {
            // Nothing is acknowledged before it is durable. (Whatever the outcome: a failed
            // batch may have written part of its items.)
            self.db.durable().await?;
        }
        out
    }
}

/// Runs one request — operation `target` (the `X-Amz-Target` value) with JSON `body`, as
/// the server does once it has read, checked and decompressed the body — and returns the
/// HTTP status and the response body. For the fuzz targets; not part of the supported API.
#[doc(hidden)]
pub fn handle_request(db: &Database, target: &str, body: &[u8], region: &str) -> (u16, Vec<u8>) {
    match dispatch(db, target, body, region) {
        Ok(out) => (200, out),
        Err(e) => (e.status, e.body().to_string().into_bytes()),
    }
}

/// Whether operation `target` writes items: its outcome is acknowledged only once durable.
fn writes_items(target: &str) -> bool {
    let op = target.rsplit('.').next().unwrap_or(target);
    matches!(
        op,
        "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems"
    )
}

/// Whether operation `target` waits on the disk or runs long whatever the write options, and
/// so belongs on the blocking pool rather than an async worker: changes to tables and their
/// tags (catalog writes, always fsynced) and Scan (a page is up to 1 MB of items).
fn runs_long(target: &str) -> bool {
    let op = target.rsplit('.').next().unwrap_or(target);
    matches!(
        op,
        "CreateTable"
            | "UpdateTable"
            | "DeleteTable"
            | "UpdateTimeToLive"
            | "TagResource"
            | "UntagResource"
            | "Scan"
    )
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A request id in DynamoDB's style: 52 upper-case alphanumerics.
fn request_id() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    let mut id = String::with_capacity(52);
    // Three random u128s hold 3 × 24 base-36 digits (36^24 < 2^128): one draw per 24 chars.
    while id.len() < 52 {
        let mut bits: u128 = rng.gen();
        for _ in 0..24.min(52 - id.len()) {
            id.push(char::from(CHARS[(bits % 36) as usize]));
            bits /= 36;
        }
    }
    id
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_52_upper_case_alphanumerics_and_distinct() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| super::request_id()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 52, "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
                "{id}"
            );
        }
    }
}
