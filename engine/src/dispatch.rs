//! Fair download slots: at most `max_running` jobs run at once, at most
//! `per_client` of them for one client, and a freed slot goes to the client
//! that was served least recently (round robin across clients with queued
//! jobs, FIFO within a client).
//!
//! A plain semaphore hands slots out in submission order, so one client's
//! six slow downloads hold every slot while another client's short video
//! waits behind them. Here a client that has just been given a slot goes to
//! the back of the line, and a client new to the queue goes to the front.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

/// Hands out running slots fairly. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    max_running: usize,
    per_client: usize,
    running: usize,
    closed: bool,
    next_ticket: u64,
    /// Bumped on every slot given out; a client's last value orders turns.
    turn: u64,
    clients: HashMap<String, Client>,
}

#[derive(Debug, Default)]
struct Client {
    running: usize,
    /// Waiting jobs in the order they came.
    queue: VecDeque<Waiter>,
    /// The turn this client was last given a slot in (0: never).
    last_served: u64,
}

#[derive(Debug)]
struct Waiter {
    ticket: u64,
    tx: oneshot::Sender<Slot>,
}

/// A running slot; dropping it frees it for the next job in line.
#[derive(Debug)]
pub struct Slot {
    state: Arc<Mutex<State>>,
    client: String,
    armed: bool,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every change under the lock is a few counter updates and queue
    // pushes that leave the state consistent, so a poisoned lock is fine.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Dispatcher {
    /// `max_running` slots in all (at least 1), at most `per_client` (at
    /// least 1, at most `max_running`) for one client.
    pub fn new(max_running: usize, per_client: usize) -> Dispatcher {
        let max_running = max_running.max(1);
        Dispatcher {
            state: Arc::new(Mutex::new(State {
                max_running,
                per_client: per_client.clamp(1, max_running),
                running: 0,
                closed: false,
                next_ticket: 0,
                turn: 0,
                clients: HashMap::new(),
            })),
        }
    }

    /// Waits for a slot for a job of `client`. `None` once the dispatcher
    /// is closed. Dropping the future leaves the queue at once.
    pub async fn acquire(&self, client: &str) -> Option<Slot> {
        let (tx, rx) = oneshot::channel();
        let ticket = {
            let mut state = lock(&self.state);
            if state.closed {
                return None;
            }
            state.next_ticket += 1;
            let ticket = state.next_ticket;
            state.clients.entry(client.to_owned()).or_default().queue.push_back(Waiter { ticket, tx });
            dispatch(&self.state, &mut state);
            ticket
        };
        let _leave = Leave { state: &self.state, client, ticket };
        rx.await.ok()
    }

    /// Refuses new waiters and wakes the queued ones with `None`.
    pub fn close(&self) {
        let mut state = lock(&self.state);
        state.closed = true;
        for client in state.clients.values_mut() {
            client.queue.clear();
        }
        state.clients.retain(|_, c| c.running > 0);
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        lock(&self.state).running
    }

    /// Jobs waiting now.
    pub fn queued(&self) -> usize {
        lock(&self.state).clients.values().map(|c| c.queue.len()).sum()
    }
}

/// Takes a waiter out of the queue when its future is dropped before it got
/// a slot (a cancelled queued job), so it does not hold a place in line.
struct Leave<'a> {
    state: &'a Mutex<State>,
    client: &'a str,
    ticket: u64,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let mut state = lock(self.state);
        if let Some(client) = state.clients.get_mut(self.client) {
            client.queue.retain(|w| w.ticket != self.ticket);
        }
        forget_idle(&mut state, self.client);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let state_arc = Arc::clone(&self.state);
        let mut state = lock(&state_arc);
        state.running = state.running.saturating_sub(1);
        if let Some(client) = state.clients.get_mut(&self.client) {
            client.running = client.running.saturating_sub(1);
        }
        forget_idle(&mut state, &self.client);
        dispatch(&state_arc, &mut state);
    }
}

/// A client with nothing running or queued is forgotten: when it comes
/// back it has been idle, so it rightly goes first.
fn forget_idle(state: &mut State, client: &str) {
    if state.clients.get(client).is_some_and(|c| c.running == 0 && c.queue.is_empty()) {
        state.clients.remove(client);
    }
}

/// Gives free slots to waiters: each time to the client under its limit
/// that was served least recently (ties: whose first waiter came first).
fn dispatch(arc: &Arc<Mutex<State>>, state: &mut State) {
    while state.running < state.max_running && !state.closed {
        let per_client = state.per_client;
        let next = state
            .clients
            .iter()
            .filter(|(_, c)| c.running < per_client)
            .filter_map(|(name, c)| c.queue.front().map(|w| ((c.last_served, w.ticket), name)))
            .min_by_key(|(key, _)| *key)
            .map(|(_, name)| name.clone());
        let Some(name) = next else { break };
        state.turn += 1;
        let turn = state.turn;
        let Some(client) = state.clients.get_mut(&name) else { break };
        let Some(waiter) = client.queue.pop_front() else { break };
        let slot = Slot { state: Arc::clone(arc), client: name.clone(), armed: true };
        match waiter.tx.send(slot) {
            Ok(()) => {
                client.running += 1;
                client.last_served = turn;
                state.running += 1;
            }
            // The waiter is gone (its job was cancelled just now); the slot
            // was never used, so it must not run the releasing drop, which
            // would take the lock held here.
            Err(mut slot) => slot.armed = false,
        }
        forget_idle(state, &name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Starts a waiter for `client` that records its label when it gets a
    /// slot and holds the slot until told to let go.
    fn job(
        d: &Dispatcher,
        client: &'static str,
        label: &'static str,
        log: &Arc<Mutex<Vec<&'static str>>>,
    ) -> (tokio::task::JoinHandle<()>, oneshot::Sender<()>) {
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let d = d.clone();
        let log = Arc::clone(log);
        let handle = tokio::spawn(async move {
            let Some(_slot) = d.acquire(client).await else { return };
            log.lock().unwrap_or_else(|e| e.into_inner()).push(label);
            let _ = done_rx.await;
        });
        (handle, done_tx)
    }

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    fn seen(log: &Arc<Mutex<Vec<&'static str>>>) -> Vec<&'static str> {
        log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    #[tokio::test]
    async fn one_client_cannot_take_every_slot() {
        let d = Dispatcher::new(3, 2);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut held = Vec::new();
        for label in ["a1", "a2", "a3", "a4"] {
            held.push(job(&d, "a", label, &log));
            settle().await;
        }
        assert_eq!(seen(&log), ["a1", "a2"]);
        assert_eq!((d.running(), d.queued()), (2, 2));
        held.push(job(&d, "b", "b1", &log));
        settle().await;
        assert_eq!(seen(&log), ["a1", "a2", "b1"], "the free slot goes to the other client");
    }

    #[tokio::test]
    async fn freed_slots_go_round_robin_and_fifo_within_a_client() {
        let d = Dispatcher::new(1, 1);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut release = VecDeque::new();
        for (client, label) in [("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1"), ("b", "b2"), ("c", "c1")] {
            let (_, done) = job(&d, client, label, &log);
            release.push_back(done);
            settle().await;
        }
        // Release whichever job holds the slot, one after another.
        for _ in 0..6 {
            let running = seen(&log).len();
            let label = seen(&log)[running - 1];
            let index = ["a1", "a2", "a3", "b1", "b2", "c1"].iter().position(|l| *l == label).unwrap_or(0);
            if let Some(done) = release.get_mut(index).map(|d| std::mem::replace(d, oneshot::channel().0)) {
                let _ = done.send(());
            }
            settle().await;
        }
        assert_eq!(seen(&log), ["a1", "b1", "c1", "a2", "b2", "a3"]);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_the_queue_at_once() {
        let d = Dispatcher::new(1, 1);
        let log = Arc::new(Mutex::new(Vec::new()));
        let (_h1, first) = job(&d, "a", "a1", &log);
        settle().await;
        let (waiting, _w) = job(&d, "b", "b1", &log);
        let (_h3, _third) = job(&d, "c", "c1", &log);
        settle().await;
        assert_eq!(d.queued(), 2);
        waiting.abort();
        settle().await;
        assert_eq!(d.queued(), 1, "the aborted waiter is gone");
        let _ = first.send(());
        settle().await;
        assert_eq!(seen(&log), ["a1", "c1"]);
        assert_eq!(d.running(), 1);
    }

    #[tokio::test]
    async fn close_wakes_waiters_with_none() {
        let d = Dispatcher::new(1, 1);
        let held = d.acquire("a").await;
        assert!(held.is_some());
        let d2 = d.clone();
        let waiter = tokio::spawn(async move { d2.acquire("b").await.is_none() });
        settle().await;
        d.close();
        assert!(waiter.await.unwrap_or(false));
        assert!(d.acquire("c").await.is_none());
        drop(held);
        assert_eq!(d.running(), 0);
    }
}
