//! Coalesces work submitted together into one store transaction, without an executor of its
//! own: the first caller to wait becomes the writer. It may yield once first, so that
//! everything submitted in the same turn joins the batch, then writes batches until the queue
//! is empty and hands each caller the result for its own item.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_channel::oneshot;

use warpnet_stats_store::StoreError;

type Reply<O> = oneshot::Sender<Result<O, StoreError>>;

/// Items waiting for the next transaction, each with whom to tell its result.
#[derive(Debug)]
pub(super) struct Batcher<I, O> {
    pending: RefCell<Vec<(I, Reply<O>)>>,
    writing: Cell<bool>,
}

impl<I, O> Default for Batcher<I, O> {
    fn default() -> Self {
        Self { pending: RefCell::default(), writing: Cell::new(false) }
    }
}

/// Marks the batcher as not writing any more, even if the writer is dropped midway (its
/// batch's callers then get [`StoreError::Abandoned`] rather than waiting forever).
struct Writing<'a>(&'a Cell<bool>);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl<I, O> Batcher<I, O> {
    /// Queues `item` and resolves with its result. If no batch is being written, this caller
    /// writes (after yielding once if `gather`): `write` gets every queued item and returns one
    /// result per item, in order; a failed write fails every item of its batch.
    pub(super) async fn submit<W, F>(
        &self,
        item: I,
        gather: bool,
        write: W,
    ) -> Result<O, StoreError>
    where
        W: Fn(Vec<I>) -> F,
        F: Future<Output = Result<Vec<O>, StoreError>>,
    {
        let (reply, result) = oneshot::channel();
        self.pending.borrow_mut().push((item, reply));
        if !self.writing.replace(true) {
            let _writing = Writing(&self.writing);
            if gather {
                YieldOnce::default().await;
            }
            loop {
                let batch = std::mem::take(&mut *self.pending.borrow_mut());
                if batch.is_empty() {
                    break;
                }
                let (items, replies): (Vec<I>, Vec<Reply<O>>) = batch.into_iter().unzip();
                match write(items).await {
                    Ok(outputs) => {
                        for (reply, output) in replies.into_iter().zip(outputs) {
                            let _ = reply.send(Ok(output));
                        }
                    }
                    Err(error) => {
                        for reply in replies {
                            let _ = reply.send(Err(error.clone()));
                        }
                    }
                }
            }
        }
        result.await.unwrap_or(Err(StoreError::Abandoned))
    }
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
