//! The auto-acknowledging stream, for consumers that take one message at a time.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;

use crate::consumer::delivery::Acker;
use crate::consumer::metrics::Stats;
use crate::consumer::source::Source;
use crate::consumer::stream::DeliveryStream;
use crate::ErrorChain;

/// Yields messages and acknowledges each one when the **next** item is asked for: asking
/// for the next is taken to mean the previous one is done. A consumer that stops or crashes
/// mid-message loses nothing; the source redelivers it.
///
/// That is right only for a consumer that finishes each message before it polls again: a
/// plain `while let Some(m) = stream.next().await { handle(m).await }` loop, `for_each`, or
/// `then`. Combinators that poll ahead (`for_each_concurrent`, `buffer_unordered`,
/// `buffered`, `ready_chunks`, `chunks`, `forward`, `peek`, `select`) ask for the next
/// item while earlier ones are still being worked on, and so acknowledge work that has not
/// finished: a crash then loses it. Use [`DeliveryStream`] with explicit acknowledgements for
/// those.
pub struct AutoAckStream<S: Source> {
    inner: DeliveryStream<S>,
    previous: Option<Acker<S>>,
}

impl<S: Source> Unpin for AutoAckStream<S> {}

impl<S: Source> fmt::Debug for AutoAckStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutoAckStream")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S: Source> AutoAckStream<S> {
    /// Wraps a delivery stream.
    pub fn new(inner: DeliveryStream<S>) -> Self {
        AutoAckStream {
            inner,
            previous: None,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// The source.
    pub fn source(&self) -> &S {
        self.inner.source()
    }

    /// Acknowledges the last message yielded (you asked to stop, so you are done with it),
    /// then shuts the stream down as [`DeliveryStream::shutdown`] does.
    pub async fn shutdown(mut self) -> Stats {
        if let Some(previous) = self.previous.take() {
            if let Err(e) = previous.ack_inner(true, None) {
                tracing::warn!(error = %ErrorChain(&e), "the last message was not acknowledged in time and will be redelivered");
            }
        }
        self.inner.shutdown().await
    }

    fn settle_previous(&mut self) {
        if let Some(previous) = self.previous.take() {
            let flush = previous.last_in_batch;
            if let Err(e) = previous.ack_inner(flush, None) {
                tracing::warn!(error = %ErrorChain(&e), "a message was not acknowledged in time and will be redelivered");
            }
        }
    }
}

impl<S: Source> Stream for AutoAckStream<S> {
    type Item = Result<S::Message, S::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Coming back for the next item is what acknowledges the previous one.
        self.settle_previous();
        match std::task::ready!(Pin::new(&mut self.inner).poll_next(cx)) {
            Some(Ok(delivery)) => {
                let (message, acker) = delivery.split();
                self.previous = Some(acker);
                Poll::Ready(Some(Ok(message)))
            }
            Some(Err(error)) => Poll::Ready(Some(Err(error))),
            None => Poll::Ready(None),
        }
    }
}
