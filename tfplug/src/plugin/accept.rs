//! The accept loop in front of the gRPC server, for both h2c and AutoMTLS.
//!
//! Two ways a listener goes wrong under load, both seen with a provider out of file descriptors: `accept` failing
//! at once, every time (EMFILE), which a loop that retries immediately turns into a busy core and a flood of log
//! lines; and clients that connect but never finish the TLS handshake, each holding a descriptor forever. So accept
//! errors back off the way Go's `net/http` `Server.Serve` does for temporary errors (5 ms, doubling, at most 1 s,
//! reset by the next success), and each handshake runs in its own task under a deadline, with a bounded number in
//! flight, so one slow or hostile client neither blocks the others nor keeps its connection.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_stream::wrappers::ReceiverStream;

/// Bounds of the accept loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// How long a connection may take to complete its handshake before it is dropped.
    pub handshake: Duration,
    /// Handshakes in flight at once; further connections wait in the kernel's backlog.
    pub handshakes_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake: Duration::from_secs(10),
            handshakes_in_flight: 64,
        }
    }
}

/// First pause after a failed accept, and the longest (Go's `net/http` values).
const FIRST_PAUSE: Duration = Duration::from_millis(5);
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// The pause after one more failed accept.
fn next_pause(previous: Duration) -> Duration {
    if previous.is_zero() {
        FIRST_PAUSE
    } else {
        previous.saturating_mul(2).min(LONGEST_PAUSE)
    }
}

/// A source of connections: the TCP listener, or a fake in tests.
pub(crate) trait Accept: Send + 'static {
    type Conn: Send + 'static;
    fn accept(&mut self) -> impl Future<Output = io::Result<Self::Conn>> + Send;
}

impl Accept for TcpListener {
    type Conn = TcpStream;
    async fn accept(&mut self) -> io::Result<TcpStream> {
        TcpListener::accept(self).await.map(|(tcp, _)| tcp)
    }
}

/// Accepts connections and completes `handshake` on each in its own task; the stream yields the connections whose
/// handshake finished in time. Ends when the receiver is dropped.
pub(crate) fn incoming<A, H, F, S>(
    mut listener: A,
    handshake: H,
    limits: Limits,
) -> ReceiverStream<Result<S, io::Error>>
where
    A: Accept,
    H: Fn(A::Conn) -> F + Send + Sync + 'static,
    F: Future<Output = io::Result<S>> + Send + 'static,
    S: Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        let in_flight = Arc::new(Semaphore::new(limits.handshakes_in_flight.max(1)));
        let mut pause = Duration::ZERO;
        while !tx.is_closed() {
            let conn = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    pause = next_pause(pause);
                    tracing::warn!(error = %e, retry_in = ?pause, "accepting a connection failed");
                    tokio::time::sleep(pause).await;
                    continue;
                }
            };
            pause = Duration::ZERO;
            let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
                return;
            };
            let done = handshake(conn);
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(limits.handshake, done).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "handshake failed; connection dropped")
                    }
                    Err(_) => tracing::warn!(
                        timeout = ?limits.handshake,
                        "handshake not completed in time; connection dropped"
                    ),
                }
                drop(permit);
            });
        }
    });
    ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::AsyncReadExt;
    use tokio_stream::StreamExt;

    use super::*;

    /// A listener out of file descriptors: every accept fails at once. After 1,000 failures it stops answering,
    /// so a loop without a pause shows up as 1,000 attempts instead of hanging the test.
    struct Exhausted(Arc<AtomicUsize>);

    impl Accept for Exhausted {
        type Conn = ();
        async fn accept(&mut self) -> io::Result<()> {
            if self.0.fetch_add(1, Ordering::SeqCst) >= 1000 {
                std::future::pending::<()>().await;
            }
            tokio::task::yield_now().await;
            Err(io::Error::from_raw_os_error(24)) // EMFILE
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failing_accepts_back_off_instead_of_spinning() {
        let calls = Arc::new(AtomicUsize::new(0));
        let stream = incoming(
            Exhausted(Arc::clone(&calls)),
            |()| async { Ok(()) },
            Limits::default(),
        );
        // Ten seconds of (virtual) time: 5+10+...+640 ms, then one attempt a second.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let n = calls.load(Ordering::SeqCst);
        assert!((10..=25).contains(&n), "{n} accept attempts in 10 s");
        drop(stream);
    }

    #[test]
    fn the_pause_doubles_from_5_ms_to_at_most_1_s() {
        let mut p = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..10 {
            p = next_pause(p);
            seen.push(p.as_millis());
        }
        assert_eq!(seen, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    }

    #[tokio::test]
    async fn a_client_that_never_completes_its_handshake_is_disconnected() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits {
            handshake: Duration::from_millis(200),
            handshakes_in_flight: 4,
        };
        // A handshake that waits for a byte the client never sends.
        let mut stream = incoming(
            listener,
            |mut tcp: TcpStream| async move {
                let mut b = [0u8; 1];
                tcp.read_exact(&mut b).await?;
                Ok(tcp)
            },
            limits,
        );
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 1];
        // A guard against a hang, not a speed check: without the deadline the read never returns.
        let read = tokio::time::timeout(Duration::from_secs(30), silent.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "the server closed the silent connection: {read:?}"
        );
        // A client that does finish is served.
        let mut good = TcpStream::connect(addr).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut good, b"x")
            .await
            .unwrap();
        let served = tokio::time::timeout(Duration::from_secs(30), stream.next()).await;
        assert!(matches!(served, Ok(Some(Ok(_)))), "{served:?}");
    }
}
