//! Polling briefly while a fast server's answer is on its way.
//!
//! A server on the same machine answers a request within tens of
//! microseconds. Blocking the event loop for so short a wait can cost more
//! than the wait: where an idle CPU halts and is slow to wake (virtual
//! machines without guest halt-polling, such as the ones Gatehouse's
//! benchmarks run on), each block and wake-up adds about 50 µs to a call
//! (`docs/BENCHMARKS.md`, "HTTP gateway"). So while a request is out to a
//! server whose last answer came within [`BUDGET`], a task keeps yielding,
//! which makes the runtime poll its IO without blocking, until the answer
//! is in or the budget is spent. A server slower than that, any server
//! across a network, is not polled for: one slow answer turns polling off
//! until the server answers quickly again.
//!
//! Other tasks are never held up: a yielding task goes to the back of the
//! runtime's queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[cfg(test)]
use tokio::task::JoinHandle;

/// The longest one request is polled for.
pub(super) const BUDGET: Duration = Duration::from_micros(200);

/// What the bridge knows of its server's speed.
#[derive(Debug)]
pub(super) struct Brisk {
    budget: Duration,
    /// The last answer came within the budget (or none came yet).
    quick: AtomicBool,
}

impl Brisk {
    /// Polls for at most `budget` per request; zero never polls.
    pub(super) fn with_budget(budget: Duration) -> Self {
        Brisk {
            budget,
            quick: AtomicBool::new(true),
        }
    }

    /// Whether the next request will be polled for.
    pub(super) fn is_quick(&self) -> bool {
        !self.budget.is_zero() && self.quick.load(Ordering::Relaxed)
    }

    /// A request goes out now: polls for its answer if the server is
    /// quick. Dropping the guard stops the polling.
    pub(super) fn begin(&self) -> Exchange<'_> {
        let start = Instant::now();
        let (stop, _task) = if self.is_quick() {
            let stop = Arc::new(AtomicBool::new(false));
            let task = tokio::spawn(poll_until(stop.clone(), start + self.budget));
            (Some(stop), Some(task))
        } else {
            (None, None)
        };
        Exchange {
            brisk: self,
            start,
            stop,
            #[cfg(test)]
            task: _task,
        }
    }
}

/// One request's wait; see [`Brisk::begin`].
pub(super) struct Exchange<'a> {
    brisk: &'a Brisk,
    start: Instant,
    /// Set to end the polling.
    stop: Option<Arc<AtomicBool>>,
    /// The polling task, for the tests to await (it ends by itself).
    #[cfg(test)]
    task: Option<JoinHandle<u32>>,
}

impl Exchange<'_> {
    /// The answer came: whether it came within the budget decides whether
    /// the next request is polled for. A request that failed says nothing
    /// of the server's speed and is simply dropped.
    pub(super) fn answered(self) {
        let quick = self.start.elapsed() <= self.brisk.budget;
        self.brisk.quick.store(quick, Ordering::Relaxed);
    }
}

impl Drop for Exchange<'_> {
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
    fn poller(exchange: &mut Exchange<'_>) -> Option<JoinHandle<u32>> {
        exchange.task.take()
    }

    #[tokio::test]
    async fn a_quick_server_is_polled_for_until_its_answer_comes() {
        let brisk = Brisk::with_budget(Duration::from_secs(30));
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
        let brisk = Brisk::with_budget(Duration::from_millis(2));
        let mut exchange = brisk.begin();
        let task = poller(&mut exchange).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(task.is_finished(), "the poller gave up at its deadline");
        exchange.answered();
        assert!(!brisk.is_quick(), "the answer took longer than the budget");
    }

    #[tokio::test]
    async fn a_slow_server_is_not_polled_for_until_it_answers_quickly_again() {
        let brisk = Brisk::with_budget(Duration::from_millis(2));
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

    #[tokio::test]
    async fn a_zero_budget_never_polls() {
        let brisk = Brisk::with_budget(Duration::ZERO);
        let mut exchange = brisk.begin();
        assert!(poller(&mut exchange).is_none());
        exchange.answered();
        assert!(!brisk.is_quick());
    }

    #[tokio::test]
    async fn a_failed_request_stops_polling_and_teaches_nothing() {
        let brisk = Brisk::with_budget(Duration::from_secs(30));
        let mut exchange = brisk.begin();
        let task = poller(&mut exchange).unwrap();
        drop(exchange);
        task.await.unwrap();
        assert!(brisk.is_quick(), "unchanged");
    }
}
