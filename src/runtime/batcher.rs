//! Coalesces actions submitted together into one store transaction, without an executor of its
//! own: the first action to wait becomes the flusher. It yields once, so that every action
//! submitted in the same turn joins the queue, then runs batches until the queue is empty and
//! hands each caller the result of the batch that held its action.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_channel::oneshot;

use super::{Applied, Node};
use crate::core::{Action, TweetId};
use crate::storage::{Store, StoreError};

type Reply = oneshot::Sender<Result<Applied, StoreError>>;

/// Actions waiting for the next transaction.
#[derive(Debug, Default)]
pub(super) struct Queue {
    pending: RefCell<Vec<(TweetId, Action, Reply)>>,
    flushing: Cell<bool>,
}

pub(super) async fn submit<S: Store>(
    node: &Node<S>,
    tweet: TweetId,
    action: Action,
) -> Result<Applied, StoreError> {
    let (reply, result) = oneshot::channel();
    node.queue.pending.borrow_mut().push((tweet, action, reply));
    if !node.queue.flushing.replace(true) {
        YieldOnce(false).await;
        loop {
            let batch = std::mem::take(&mut *node.queue.pending.borrow_mut());
            if batch.is_empty() {
                break;
            }
            let (actions, replies): (Vec<(TweetId, Action)>, Vec<Reply>) =
                batch.into_iter().map(|(t, a, r)| ((t, a), r)).unzip();
            match node.act(&actions).await {
                Ok((applied, _)) => {
                    for (reply, applied) in replies.into_iter().zip(applied) {
                        let _ = reply.send(Ok(applied));
                    }
                }
                Err(error) => {
                    for reply in replies {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
            }
        }
        node.queue.flushing.set(false);
    }
    result.await.unwrap_or_else(|_| Err(StoreError::Write("the batch was dropped".into())))
}

/// Returns `Pending` once (waking itself at once), letting other tasks of this turn run (in a
/// browser, e.g. the connection tasks that write a request just queued).
#[derive(Debug, Default)]
pub(super) struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
