//! Gives the heap's free memory back to the system once large invocations have stopped coming.
//!
//! glibc keeps what large bodies used: after freeing a 1 MiB buffer it raises its mmap threshold (the
//! next large buffers come from the heap, without fresh pages to fault in) and trims the top of the
//! heap only past twice that, so about 3 MB stay resident after 1 MiB bodies, for good. That reuse is
//! what spares each large invocation its page faults, so the memory is kept while large invocations
//! keep coming, and returned with `malloc_trim` after [`QUIET_INVOCATIONS`] small ones in a row.

/// An invocation whose event or response is at least this large leaves large free chunks behind.
const LARGE: usize = 256 * 1024;

/// Small invocations in a row after which the large ones count as over.
const QUIET_INVOCATIONS: u32 = 16;

/// Follows the sizes of the invocations; trims the heap once after a large one, when it goes quiet.
#[derive(Debug)]
pub struct HeapKeeper {
    /// Small invocations since the last large one; `None` when nothing is left to give back.
    quiet: Option<u32>,
}

impl Default for HeapKeeper {
    /// Counts the start-up as large: what init freed (configuration, php-fpm's start) is given back
    /// after the first quiet run too.
    fn default() -> Self {
        Self { quiet: Some(0) }
    }
}

impl HeapKeeper {
    /// Called after each invocation with the bytes it moved (event and response; `usize::MAX` when
    /// unknown, as for a stream). Returns whether the heap was trimmed.
    pub fn after_invocation(&mut self, bytes: usize) -> bool {
        if bytes >= LARGE {
            self.quiet = Some(0);
            return false;
        }
        let Some(quiet) = self.quiet.as_mut() else {
            return false;
        };
        *quiet += 1;
        if *quiet < QUIET_INVOCATIONS {
            return false;
        }
        self.quiet = None;
        trim();
        true
    }
}

/// `malloc_trim(0)`: glibc returns the free pages of its heaps (with `madvise`) and shrinks the top.
/// The crate's one `unsafe` block: a libc call with no pointer argument and no precondition, made
/// from safe code only because Rust cannot call C without it. Other C libraries have no such call.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() {
    // SAFETY: malloc_trim takes an integer, returns an integer, and is thread-safe (it takes each
    // arena's lock); it may be called at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_after_a_quiet_run_following_a_large_invocation() {
        let mut heap = HeapKeeper::default();
        // Once after start-up.
        assert!((1..QUIET_INVOCATIONS).all(|_| !heap.after_invocation(1000)));
        assert!(heap.after_invocation(1000));
        assert!((0..100).all(|_| !heap.after_invocation(1000)));
        assert!(!heap.after_invocation(LARGE));
        // Large ones keep the memory; each restarts the count.
        assert!((1..QUIET_INVOCATIONS).all(|_| !heap.after_invocation(10)));
        assert!(!heap.after_invocation(usize::MAX));
        assert!((1..QUIET_INVOCATIONS).all(|_| !heap.after_invocation(10)));
        assert!(heap.after_invocation(10));
        // Once only.
        assert!((0..100).all(|_| !heap.after_invocation(10)));
    }
}
