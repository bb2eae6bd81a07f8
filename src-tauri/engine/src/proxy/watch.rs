//! Keeping a running proxy's policy current. A thread checks the store a few
//! times a second (one pragma when nothing changed), swaps in a fresh
//! snapshot when the policies change, and wakes the proxy so it can tell its
//! client. If the store cannot be read, the policy becomes an error and
//! every call is refused until it can: Gatehouse fails closed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::Notify;

use super::PolicyState;
use crate::{ChangeWatcher, Store, Topic};

/// How often the store is checked: well within the one second a policy
/// change may take to reach a running proxy.
const TICK: Duration = Duration::from_millis(200);

/// Starts the watcher thread for `server`. It stops once the proxy has
/// dropped both `policy` and `changed`: the gateway opens and closes many
/// sessions in one process.
pub fn spawn_policy_watcher(
    database: PathBuf,
    server: String,
    policy: Arc<ArcSwap<PolicyState>>,
    changed: Arc<Notify>,
) {
    std::thread::Builder::new()
        .name("policy-watch".into())
        .spawn(move || {
            // Weak: the thread must not keep a finished proxy's state alive.
            let (policy_ref, changed_ref) = (Arc::downgrade(&policy), Arc::downgrade(&changed));
            drop((policy, changed));
            let mut watcher = None;
            loop {
                std::thread::sleep(TICK);
                let (Some(policy), Some(changed)) = (policy_ref.upgrade(), changed_ref.upgrade())
                else {
                    return;
                };
                let changes = match watcher.as_mut() {
                    None => ChangeWatcher::open(&database).map(|w| {
                        watcher = Some(w);
                        vec![Topic::Policies]
                    }),
                    Some(w) => w.changed(),
                };
                let reload = match changes {
                    Ok(topics) => topics.iter().any(|t| {
                        matches!(
                            t,
                            Topic::Policies | Topic::Servers | Topic::Tools | Topic::Pins
                        )
                    }),
                    Err(e) => {
                        watcher = None;
                        fail_closed(&policy, &changed, format!("the store is unreadable ({e})"));
                        continue;
                    }
                };
                if reload || policy.load().is_err() {
                    let fresh = Store::open_path(&database)
                        .and_then(|store| store.policy_snapshot(&server))
                        .map_err(|e| e.to_string());
                    if **policy.load() != fresh {
                        policy.store(Arc::new(fresh));
                        changed.notify_one();
                    }
                }
            }
        })
        .expect("spawning a thread");
}

fn fail_closed(policy: &ArcSwap<PolicyState>, changed: &Notify, reason: String) {
    if policy.load().as_ref().as_ref().err() != Some(&reason) {
        policy.store(Arc::new(Err(reason)));
        changed.notify_one();
    }
}
