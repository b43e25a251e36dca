//! Ctrl-C: by default the command is dropped (its sandboxes and private stack stop with it).
//! A command that can wrap up cleanly (bench prints what it measured so far) claims the first
//! Ctrl-C with [`claim`] and polls [`stop_requested`]; a second Ctrl-C stops it anyway.

use std::sync::atomic::{AtomicBool, Ordering};

static CLAIMED: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);

/// This command handles the first Ctrl-C itself.
pub fn claim() {
    CLAIMED.store(true, Ordering::SeqCst);
}

pub fn claimed() -> bool {
    CLAIMED.load(Ordering::SeqCst)
}

pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
