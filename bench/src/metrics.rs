//! Process figures from the OS: CPU time, bytes written to disk, peak RSS, directory size.

use std::path::Path;

/// User + system CPU seconds used by this process so far (all threads).
pub fn cpu_seconds() -> f64 {
    // SAFETY-free: getrusage only writes the struct we pass.
    let mut usage: libc::rusage = unsafe_zeroed_rusage();
    let rc = get_rusage(&mut usage);
    if rc != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[allow(unsafe_code, reason = "libc::getrusage has no safe wrapper in std")]
fn get_rusage(usage: &mut libc::rusage) -> i32 {
    // SAFETY: `usage` is a valid, writable rusage struct.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, usage) }
}

#[allow(
    unsafe_code,
    reason = "rusage is plain old data; all-zero is a valid value"
)]
fn unsafe_zeroed_rusage() -> libc::rusage {
    // SAFETY: rusage consists of integers and timevals, for which zero is valid.
    unsafe { std::mem::zeroed() }
}

fn proc_field(file: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?.trim_start_matches(':').trim();
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Bytes this process caused to be written to storage (`/proc/self/io` write_bytes).
pub fn io_write_bytes() -> u64 {
    proc_field("/proc/self/io", "write_bytes").unwrap_or(0)
}

/// Peak resident set size in bytes since the last [`reset_peak_rss`].
pub fn peak_rss() -> u64 {
    proc_field("/proc/self/status", "VmHWM").unwrap_or(0) * 1024
}

/// Resets the peak RSS counter (Linux: write "5" to clear_refs).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Total size of the files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for e in entries.flatten() {
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            total += dir_bytes(&e.path());
        } else {
            total += meta.len();
        }
    }
    total
}
