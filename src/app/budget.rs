//! How long a script may run: the time left before the invocation's deadline, less a margin kept to
//! answer 504 before Lambda ends the sandbox.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::App;
use crate::lambda::InvocationInfo;

impl App {
    /// Time the script may run: until the deadline minus the margin, or the default without a deadline.
    pub(crate) fn budget(&self, invocation: &InvocationInfo) -> Duration {
        // A deadline before 2001 is not an epoch time (cargo-lambda sends the constant 600000).
        const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;
        match invocation.deadline_ms {
            Some(deadline) if deadline > PLAUSIBLE_EPOCH_MS => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                let remaining = Duration::from_millis(deadline.saturating_sub(now));
                let (budget, margin) = self.timeout_margin.budget(remaining);
                let scaled =
                    matches!(self.timeout_margin, TimeoutMargin::Scaled(cap) if margin < cap);
                if scaled && !SHORT_TIMEOUT_WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "the invocation had {remaining:?} left: too little for the default 1s timeout margin, which is scaled to {margin:?} (a tenth of the time left); a longer function timeout leaves PHP more time"
                    );
                }
                budget
            }
            _ => self.default_timeout,
        }
    }
}

/// Said once per process: a short function timeout is a set-up matter, not a per-request one.
static SHORT_TIMEOUT_WARNED: AtomicBool = AtomicBool::new(false);

/// How long before the deadline the runtime answers 504 and kills the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutMargin {
    /// The default: up to this much, but at most a tenth of the time left.
    Scaled(Duration),
    /// `LAMBDA_FPM_TIMEOUT_MARGIN_MS`, as the user set it.
    Fixed(Duration),
}

impl TimeoutMargin {
    /// (time the script may run, margin kept) for `remaining` until the deadline. The default 1 s
    /// margin would leave a function with a 1 s timeout no time at all (every request a 504), while
    /// killing the worker and posting the 504 takes milliseconds: it shrinks to a tenth of the time
    /// left. A margin the user chose is theirs. Pure.
    pub fn budget(self, remaining: Duration) -> (Duration, Duration) {
        let margin = match self {
            TimeoutMargin::Scaled(cap) => cap.min(remaining / 10),
            TimeoutMargin::Fixed(margin) => margin,
        };
        (remaining.saturating_sub(margin), margin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_scales_with_the_time_left() {
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        let budget = |remaining, cap| TimeoutMargin::Scaled(cap).budget(remaining);
        assert_eq!(budget(s(30), s(1)), (s(29), s(1)));
        assert_eq!(budget(s(10), s(1)), (s(9), s(1)));
        assert_eq!(budget(s(2), s(1)), (ms(1800), ms(200)));
        assert_eq!(budget(s(1), s(1)), (ms(900), ms(100)));
        assert_eq!(budget(ms(50), s(1)), (ms(45), ms(5)));
        assert_eq!(budget(ms(0), s(1)), (ms(0), ms(0)));
        // A margin the user set is kept as it is.
        let fixed = TimeoutMargin::Fixed(ms(2500));
        assert_eq!(fixed.budget(s(4)), (ms(1500), ms(2500)));
        assert_eq!(fixed.budget(s(2)), (ms(0), ms(2500)));
    }
}
