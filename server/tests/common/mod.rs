//! Starts a strata server on an ephemeral port for an integration test.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]
#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::sync::Arc;

/// A server running on its own runtime thread; dropping it shuts the server down.
pub struct Running {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A server with any credentials accepted.
pub fn start() -> Running {
    start_with(None)
}

/// A server; with `creds`, requests must carry a valid SigV4 signature.
pub fn start_with(creds: Option<strata_server::sigv4::Credentials>) -> Running {
    start_configured(creds, served())
}

/// The table-layer options `strata serve` runs with on disk: every write fsynced before it
/// is acknowledged, the wait for the fsync deferred to the event loop.
pub fn served() -> strata_table::DatabaseOptions {
    strata_table::DatabaseOptions::new()
        .sync_writes(true)
        .defer_sync_wait(true)
}

/// A server over a database with table-layer `options`.
pub fn start_configured(
    creds: Option<strata_server::sigv4::Credentials>,
    options: strata_table::DatabaseOptions,
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let db = strata_table::Database::open_with(dir.path(), Default::default(), options);
    let db = Arc::new(db.unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            port_tx.send(listener.local_addr().unwrap().port()).unwrap();
            let mut server = strata_server::Server::new(db, "us-east-1");
            if let Some(c) = creds {
                server = server.with_credentials(c);
            }
            let server = Arc::new(server);
            server
                .run(listener, async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
    });
    Running {
        port: port_rx.recv().unwrap(),
        stop: Some(tx),
        thread: Some(thread),
        _dir: dir,
    }
}
