//! A process's mailbox: an unbounded FIFO with one consumer that takes all queued
//! events at once.
//!
//! It replaces a channel because an idle process must cost little (a channel allocates
//! a block of slots up front; this queue allocates nothing until the first event), and
//! because taking the whole queue under one lock acquisition keeps a busy process's
//! per-event cost to a push on the sender's side.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

/// An unbounded queue with one consumer.
pub(crate) struct Mailbox<T> {
    state: Mutex<State<T>>,
    ready: Notify,
}

struct State<T> {
    queue: VecDeque<T>,
    closed: bool,
}

impl<T> Mailbox<T> {
    pub(crate) fn new() -> Self {
        Mailbox {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                closed: false,
            }),
            ready: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .expect("a mailbox lock is never poisoned: nothing panics while holding it")
    }

    /// Queues an item; gives it back when the mailbox is closed.
    pub(crate) fn push(&self, item: T) -> Result<(), T> {
        let was_empty = {
            let mut state = self.state();
            if state.closed {
                return Err(item);
            }
            state.queue.push_back(item);
            state.queue.len() == 1
        };
        // Only the push that makes the queue non-empty needs to wake the consumer: it
        // takes everything queued after it in the same batch.
        if was_empty {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// Waits for items and moves all of them into `batch` (which must be empty);
    /// returns false once the mailbox is closed and empty.
    pub(crate) async fn take_all(&self, batch: &mut VecDeque<T>) -> bool {
        loop {
            {
                let mut state = self.state();
                if !state.queue.is_empty() {
                    std::mem::swap(&mut state.queue, batch);
                    return true;
                }
                if state.closed {
                    return false;
                }
            }
            self.ready.notified().await;
        }
    }

    /// Refuses further items and drops the queued ones.
    pub(crate) fn close(&self) {
        let dropped = {
            let mut state = self.state();
            state.closed = true;
            std::mem::take(&mut state.queue)
        };
        drop(dropped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_order_across_batches_and_refuses_after_close() {
        let mailbox = Mailbox::new();
        let mut batch = VecDeque::new();
        for i in 0..3 {
            mailbox.push(i).unwrap();
        }
        assert!(mailbox.take_all(&mut batch).await);
        assert_eq!(batch.drain(..).collect::<Vec<_>>(), [0, 1, 2]);
        mailbox.push(3).unwrap();
        assert!(mailbox.take_all(&mut batch).await);
        assert_eq!(batch.drain(..).collect::<Vec<_>>(), [3]);
        mailbox.close();
        assert_eq!(mailbox.push(4), Err(4));
        assert!(!mailbox.take_all(&mut batch).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_consumer_is_woken_by_another_thread() {
        let mailbox = std::sync::Arc::new(Mailbox::new());
        let producer = mailbox.clone();
        let handle = std::thread::spawn(move || {
            for i in 0..10_000u32 {
                producer.push(i).unwrap();
            }
        });
        let mut seen = Vec::new();
        let mut batch = VecDeque::new();
        while seen.len() < 10_000 {
            assert!(mailbox.take_all(&mut batch).await);
            seen.extend(batch.drain(..));
        }
        handle.join().unwrap();
        assert!(seen.iter().copied().eq(0..10_000));
    }
}
