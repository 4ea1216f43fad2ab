//! The database's background threads (index backfills, the time-to-live sweeper): started
//! with a weak reference to the database's core, stopped and joined when it is dropped.

use parking_lot::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Background threads and their stop signal.
#[derive(Default)]
pub struct Workers {
    stopped: Mutex<bool>,
    wake: Condvar,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Workers {
    /// Starts `work` on a thread named `name`, unless the database is closing.
    pub fn spawn(&self, name: &str, work: impl FnOnce() + Send + 'static) {
        if *self.stopped.lock() {
            return;
        }
        match std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(work)
        {
            Ok(h) => {
                let mut handles = self.handles.lock();
                handles.retain(|h| !h.is_finished());
                handles.push(h);
            }
            Err(e) => tracing::error!("could not start background thread {name}: {e}"),
        }
    }

    /// Whether the database is closing.
    pub fn stopping(&self) -> bool {
        *self.stopped.lock()
    }

    /// Sleeps up to `d`, or until the database closes (then returns `false`) or
    /// [`Workers::nudge`] is called.
    pub fn sleep(&self, d: Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if *stopped {
            return false;
        }
        self.wake.wait_for(&mut stopped, d);
        !*stopped
    }

    /// Wakes sleeping workers early (e.g. to sweep now).
    pub fn nudge(&self) {
        self.wake.notify_all();
    }

    /// Tells every worker to stop and waits for them.
    pub fn stop_and_join(&self) {
        *self.stopped.lock() = true;
        self.wake.notify_all();
        let handles = std::mem::take(&mut *self.handles.lock());
        for h in handles {
            let _ = h.join();
        }
    }
}
