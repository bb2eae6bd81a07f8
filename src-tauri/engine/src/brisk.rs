//! Polling briefly for what is expected within microseconds, rather than
//! blocking for it.
//!
//! A server on the same machine answers a request within tens of
//! microseconds, and a client sending requests back to back sends the next
//! one as soon as it has read an answer. Blocking the event loop for so
//! short a wait can cost more than the wait: where an idle CPU halts and is
//! slow to wake (virtual machines without guest halt-polling, such as the
//! ones Gatehouse's benchmarks run on), each block and wake-up adds 25 to
//! 50 µs (`docs/BENCHMARKS.md`, "HTTP gateway"). So while something is
//! expected from a peer that was quick last time, a task keeps yielding,
//! which makes the runtime poll its IO without blocking, until it comes or
//! the budget is spent, as latency-minded servers poll before they sleep.
//! A peer slower than the budget (a server across a network, a client whose
//! requests are seconds apart) is not polled for: one slow wait turns
//! polling off until the peer is quick again, so polling costs at most the
//! budget once.
//!
//! The remote bridge polls for a server's answer (`remote.poll_micros`),
//! the gateway for a connection's next request (`gateway.poll_micros`).
//! Other tasks are never held up: a yielding task goes to the back of the
//! runtime's queue, and each round first offers the CPU to other processes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[cfg(test)]
use tokio::task::JoinHandle;

/// How long one wait is polled for unless a setting says otherwise.
pub(crate) const BUDGET: Duration = Duration::from_micros(200);

/// Polling longer than this would burn CPU for nothing a quick peer needs.
const MAX_BUDGET: Duration = Duration::from_millis(10);

/// The budget from the variable `env` if set, else the store's `setting`
/// (microseconds; 0 never polls), else [`BUDGET`].
pub(crate) fn budget(env: &str, setting: Option<String>) -> Duration {
    std::env::var(env)
        .ok()
        .or(setting)
        .and_then(|micros| micros.trim().parse::<u64>().ok())
        .map_or(BUDGET, |micros| {
            Duration::from_micros(micros).min(MAX_BUDGET)
        })
}

/// What is known of a peer's speed.
#[derive(Debug)]
pub(crate) struct Brisk {
    budget: Duration,
    /// The last wait ended within the budget (or there was none yet).
    quick: AtomicBool,
}

impl Brisk {
    /// Polls for at most `budget` per wait; zero never polls.
    pub(crate) fn with_budget(budget: Duration) -> Self {
        Brisk {
            budget,
            quick: AtomicBool::new(true),
        }
    }

    /// Whether the next wait will be polled.
    pub(crate) fn is_quick(&self) -> bool {
        !self.budget.is_zero() && self.quick.load(Ordering::Relaxed)
    }

    /// A wait starts now: polled if the peer is quick. Dropping the guard
    /// stops the polling.
    pub(crate) fn begin(self: &Arc<Self>) -> Exchange {
        let start = Instant::now();
        let (stop, _task) = if self.is_quick() {
            let stop = Arc::new(AtomicBool::new(false));
            let task = tokio::spawn(poll_until(stop.clone(), start + self.budget));
            (Some(stop), Some(task))
        } else {
            (None, None)
        };
        Exchange {
            brisk: self.clone(),
            start,
            stop,
            #[cfg(test)]
            task: _task,
        }
    }
}

/// One wait; see [`Brisk::begin`].
pub(crate) struct Exchange {
    brisk: Arc<Brisk>,
    start: Instant,
    /// Set to end the polling.
    stop: Option<Arc<AtomicBool>>,
    /// The polling task, for the tests to await (it ends by itself).
    #[cfg(test)]
    task: Option<JoinHandle<u32>>,
}

impl Exchange {
    /// What was waited for came: whether it came within the budget decides
    /// whether the next wait is polled. A wait that failed says nothing of
    /// the peer's speed: drop the guard instead.
    pub(crate) fn answered(self) {
        let quick = self.start.elapsed() <= self.brisk.budget;
        self.brisk.quick.store(quick, Ordering::Relaxed);
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if let Some(stop) = &self.stop {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

/// Yields until told to stop or `deadline`; how many times it yielded.
///
/// Each round first offers the CPU to any other process that is ready to
/// run on it (`sched_yield`): on a busy machine, or one whose server shares
/// the gateway's CPU, the server itself may be the one waiting for it.
/// With nothing else ready, that returns at once.
async fn poll_until(stop: Arc<AtomicBool>, deadline: Instant) -> u32 {
    let mut yields = 0;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        std::thread::yield_now();
        tokio::task::yield_now().await;
        yields += 1;
    }
    yields
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The polling task of `exchange`, taken out so the test can await it.
    fn poller(exchange: &mut Exchange) -> Option<JoinHandle<u32>> {
        exchange.task.take()
    }

    #[tokio::test]
    async fn a_quick_server_is_polled_for_until_its_answer_comes() {
        let brisk = Arc::new(Brisk::with_budget(Duration::from_secs(30)));
        let mut exchange = brisk.begin();
        let task = poller(&mut exchange).expect("a server not yet heard from is polled for");
        // Other tasks run while it polls.
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(!task.is_finished(), "it polls until the answer");
        exchange.answered();
        let yields = task.await.unwrap();
        assert!(yields > 0, "it polled");
        assert!(brisk.is_quick(), "answered within the budget");
    }

    #[tokio::test]
    async fn polling_stops_when_the_budget_is_spent() {
        let brisk = Arc::new(Brisk::with_budget(Duration::from_millis(2)));
        let mut exchange = brisk.begin();
        let task = poller(&mut exchange).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(task.is_finished(), "the poller gave up at its deadline");
        exchange.answered();
        assert!(!brisk.is_quick(), "the answer took longer than the budget");
    }

    #[tokio::test]
    async fn a_slow_server_is_not_polled_for_until_it_answers_quickly_again() {
        let brisk = Arc::new(Brisk::with_budget(Duration::from_millis(2)));
        let exchange = brisk.begin();
        tokio::time::sleep(Duration::from_millis(5)).await;
        exchange.answered();
        assert!(!brisk.is_quick());

        let mut exchange = brisk.begin();
        assert!(
            poller(&mut exchange).is_none(),
            "no polling for a slow server"
        );
        exchange.answered();
        assert!(brisk.is_quick(), "this answer came at once");
        let mut exchange = brisk.begin();
        assert!(poller(&mut exchange).is_some(), "polling again");
    }

    #[test]
    fn the_budget_comes_from_the_variable_else_the_setting() {
        let var = "GATEHOUSE_TEST_BRISK_BUDGET";
        assert_eq!(budget(var, None), BUDGET);
        assert_eq!(budget(var, Some("50".into())), Duration::from_micros(50));
        assert_eq!(budget(var, Some("0".into())), Duration::ZERO);
        assert_eq!(
            budget(var, Some("many".into())),
            BUDGET,
            "unreadable: the default"
        );
        assert_eq!(budget(var, Some("99999999".into())), MAX_BUDGET);
        // SAFETY: no other test reads this variable.
        unsafe { std::env::set_var(var, "7") };
        assert_eq!(budget(var, Some("50".into())), Duration::from_micros(7));
        unsafe { std::env::remove_var(var) };
    }

    #[tokio::test]
    async fn a_zero_budget_never_polls() {
        let brisk = Arc::new(Brisk::with_budget(Duration::ZERO));
        let mut exchange = brisk.begin();
        assert!(poller(&mut exchange).is_none());
        exchange.answered();
        assert!(!brisk.is_quick());
    }

    #[tokio::test]
    async fn a_failed_request_stops_polling_and_teaches_nothing() {
        let brisk = Arc::new(Brisk::with_budget(Duration::from_secs(30)));
        let mut exchange = brisk.begin();
        let task = poller(&mut exchange).unwrap();
        drop(exchange);
        task.await.unwrap();
        assert!(brisk.is_quick(), "unchanged");
    }
}
