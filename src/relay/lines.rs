//! A sink that writes one line per event.

use std::io::Write;
use std::sync::Mutex;

use futures::future::BoxFuture;

use super::{Outgoing, Sink, SinkError, Stored};

/// Writes each event's payload and a newline to `W`, and flushes once per batch: an event is
/// taken once the flush returned. What `poll` does with stdout.
///
/// The writes are blocking: meant for stdout, a pipe or a file, which keep up with any
/// source here. After a failed write or flush, every later batch fails too (the output is
/// gone, and a half-written line must not be followed by more).
#[derive(Debug)]
pub struct LinesSink<W> {
    out: Mutex<Lines<W>>,
}

#[derive(Debug)]
struct Lines<W> {
    writer: W,
    broken: bool,
}

impl<W: Write + Send> LinesSink<W> {
    /// A sink writing to `writer` (wrap an unbuffered writer in a `BufWriter`).
    pub fn new(writer: W) -> Self {
        LinesSink {
            out: Mutex::new(Lines {
                writer,
                broken: false,
            }),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .writer
    }

    fn write_all(&self, batch: &[Outgoing<'_>]) -> std::io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if out.broken {
            return Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "an earlier write to this output failed",
            ));
        }
        let result = (|| {
            for event in batch {
                let (before, after) = event.payload();
                out.writer.write_all(before)?;
                out.writer.write_all(after)?;
                out.writer.write_all(b"\n")?;
            }
            out.writer.flush()
        })();
        if result.is_err() {
            out.broken = true;
        }
        result
    }
}

impl<W: Write + Send> Sink for LinesSink<W> {
    fn send_batch<'a>(
        &'a self,
        batch: &'a [Outgoing<'a>],
    ) -> BoxFuture<'a, Vec<Result<Stored, SinkError>>> {
        let results = match self.write_all(batch) {
            Ok(()) => batch.iter().map(|_| Ok(Stored::New)).collect(),
            Err(e) => {
                let kind = e.kind();
                let message = e.to_string();
                let mut first = Some(e);
                batch
                    .iter()
                    .map(|_| {
                        Err(SinkError::Write(first.take().unwrap_or_else(|| {
                            std::io::Error::new(kind, message.clone())
                        })))
                    })
                    .collect()
            }
        };
        Box::pin(std::future::ready(results))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::events::decode_event_json;

    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn event(id: &str) -> crate::tencent::ReceivedEvent {
        decode_event_json(&format!(
            r#"{{"EventHandle":"h-{id}","EventType":"NewFileUpload","FileUploadEvent":{{"FileId":"{id}"}}}}"#
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn writes_each_payload_as_a_line_without_the_handle() {
        let (a, b) = (event("1"), event("2"));
        let sink = LinesSink::new(Vec::new());
        let results = sink
            .send_batch(&[Outgoing::new(&a), Outgoing::new(&b)])
            .await;
        assert!(results.iter().all(|r| matches!(r, Ok(Stored::New))));
        let text = String::from_utf8(sink.into_inner()).unwrap();
        assert_eq!(
            text,
            "{\"EventType\":\"NewFileUpload\",\"FileUploadEvent\":{\"FileId\":\"1\"}}\n\
             {\"EventType\":\"NewFileUpload\",\"FileUploadEvent\":{\"FileId\":\"2\"}}\n"
        );
    }

    #[tokio::test]
    async fn a_failed_write_fails_every_event_of_the_batch_and_every_later_batch() {
        let a = event("1");
        let sink = LinesSink::new(Broken);
        let batch = [Outgoing::new(&a), Outgoing::new(&a)];
        let results = sink.send_batch(&batch).await;
        assert_eq!(results.len(), 2);
        assert!(results
            .iter()
            .all(|r| r.as_ref().is_err_and(|e| !e.is_retryable())));
        assert!(sink.send_batch(&batch[..1]).await[0].is_err());
    }
}
