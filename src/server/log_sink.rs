//! Where log lines go: a buffer that a thread of its own writes out in batches.
//!
//! Every request logs a line. Writing it to stdout on the request's thread is a system call per
//! request; handing each line to a writer thread that sleeps between lines (what
//! `tracing-appender` does) is a thread wake-up per line, which on these machines cost about as
//! much as the system call. Here a request only appends its line to a shared buffer. The writer
//! thread is woken when the buffer goes from empty to not empty, waits a few milliseconds for
//! more lines to gather, and writes them all at once: when idle a line is out within
//! [`GATHER`], under load the thread wakes a few hundred times a second however many lines come.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;

/// How long the writer thread lets lines gather once the first is waiting.
pub const GATHER: Duration = Duration::from_millis(5);

/// Past this many bytes waiting (the output is stuck), new lines are counted and dropped
/// rather than held: logging must never take the server's memory.
const MAX_WAITING: usize = 8 * 1024 * 1024;

/// The writer handed to `tracing_subscriber`; cheap to clone.
#[derive(Clone)]
pub struct LogSink(Arc<Shared>);

/// Stops the writer thread once everything waiting is written; dropped at exit.
pub struct LogFlusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    waiting: Mutex<Waiting>,
    not_empty: Condvar,
}

#[derive(Default)]
struct Waiting {
    bytes: Vec<u8>,
    dropped_lines: u64,
    closing: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        // A panic while holding the lock leaves bytes, not a broken invariant: keep logging.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl LogSink {
    /// Starts the writer thread, writing to `out` (stdout in the server).
    pub fn spawn(out: impl Write + Send + 'static) -> std::io::Result<(LogSink, LogFlusher)> {
        let shared = Arc::new(Shared {
            waiting: Mutex::new(Waiting::default()),
            not_empty: Condvar::new(),
        });
        let thread = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn({
                let shared = shared.clone();
                move || write_batches(&shared, out)
            })?;
        Ok((
            LogSink(shared.clone()),
            LogFlusher {
                shared,
                thread: Some(thread),
            },
        ))
    }

    fn append(&self, line: &[u8]) {
        let mut waiting = self.0.lock();
        if waiting.bytes.len() + line.len() > MAX_WAITING {
            waiting.dropped_lines += 1;
            return;
        }
        let was_empty = waiting.bytes.is_empty();
        waiting.bytes.extend_from_slice(line);
        drop(waiting);
        if was_empty {
            self.0.not_empty.notify_one();
        }
    }
}

fn write_batches(shared: &Shared, mut out: impl Write) {
    // Two buffers, swapped: the requests fill one while this thread writes the other, and
    // neither is reallocated once grown.
    let mut batch = Vec::new();
    loop {
        let mut waiting = shared.lock();
        while waiting.bytes.is_empty() && !waiting.closing {
            waiting = shared
                .not_empty
                .wait(waiting)
                .unwrap_or_else(|e| e.into_inner());
        }
        if waiting.bytes.is_empty() && waiting.closing {
            return;
        }
        if !waiting.closing {
            drop(waiting);
            std::thread::sleep(GATHER);
            waiting = shared.lock();
        }
        std::mem::swap(&mut batch, &mut waiting.bytes);
        let dropped = std::mem::take(&mut waiting.dropped_lines);
        drop(waiting);
        // Nowhere to report a failed write to but the log itself: the lines are lost.
        let _ = out.write_all(&batch);
        if dropped > 0 {
            let _ = writeln!(
                out,
                "log: {dropped} lines dropped: the output was not keeping up"
            );
        }
        let _ = out.flush();
        batch.clear();
    }
}

impl Write for &LogSink {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.append(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogSink {
    type Writer = &'a LogSink;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl Drop for LogFlusher {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.not_empty.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A `Write` whose contents the test can read while the writer thread holds it.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn every_line_is_written_in_order_by_the_time_the_flusher_drops() {
        let out = Captured::default();
        let (sink, flusher) = LogSink::spawn(out.clone()).unwrap();
        let writers: Vec<_> = (0..4)
            .map(|thread| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    for n in 0..500 {
                        // One write per line, as `tracing_subscriber` does.
                        let line = format!("thread {thread} line {n}\n");
                        (&sink).write_all(line.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        drop(flusher);
        let text = out.text();
        assert_eq!(text.lines().count(), 2000);
        for thread in 0..4 {
            let numbers: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("thread {thread} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(numbers, (0..500).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_lone_line_goes_out_without_waiting_for_more() {
        let out = Captured::default();
        let (sink, _flusher) = LogSink::spawn(out.clone()).unwrap();
        writeln!(&sink, "started").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while out.text().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(out.text(), "started\n");
    }

    #[test]
    fn a_stuck_output_drops_lines_and_says_how_many() {
        let out = Captured::default();
        let (sink, flusher) = LogSink::spawn(out.clone()).unwrap();
        // Held by the test, the output is stuck: the writer thread takes a first line and then
        // waits on it, while the lines after it pile up.
        let held = out.0.lock().unwrap();
        (&sink).write_all(b"first\n").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !sink.0.lock().bytes.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let line = [vec![b'x'; 1024 * 1024 - 1], vec![b'\n']].concat();
        for _ in 0..12 {
            (&sink).write_all(&line).unwrap();
        }
        assert_eq!(sink.0.lock().dropped_lines, 4);
        drop(held);
        drop(flusher);
        let text = out.text();
        assert!(text.starts_with("first\n"));
        assert!(text.ends_with("log: 4 lines dropped: the output was not keeping up\n"));
        assert_eq!(text.lines().count(), 1 + 8 + 1);
    }
}
