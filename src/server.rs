//! Serving a tower service on a socket that faces the internet (feature `server`): what
//! `guichet serve` and the portal example run on.
//!
//! A bare `hyper` accept loop lets a client hold a connection for ever by sending its headers
//! one byte a minute, or by opening connections until the process runs out of file
//! descriptors. [`serve`] closes those doors with the limits of [`ServerConfig`]:
//!
//! - a **header-read timeout**: the headers of each request must arrive within
//!   `header_read_timeout` (10 s), counted from the connection's opening or from the end of the
//!   previous response, so an idle keep-alive connection is also closed then;
//! - an **idle timeout**: a connection on which nothing is read or written for `idle_timeout`
//!   (60 s) is closed, whatever it was doing (a body that stopped coming);
//! - a **connection cap**: beyond `max_connections`, new connections wait in the kernel's accept
//!   queue instead of being served;
//! - a **graceful shutdown**: when the `shutdown` future completes, no new connection is taken,
//!   and those open get `drain_timeout` to finish their requests.
//!
//! Request bodies are bounded by the flows themselves (a few kilobytes per form); services of
//! your own behind [`serve`] bound theirs.
//!
//! ```no_run
//! # async fn run(guichet: guichet::Guichet) -> std::io::Result<()> {
//! use tower_layer::Layer;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! let desk = guichet.session_layer().layer(guichet.flows());
//! let limits = guichet.config().server.clone();
//! guichet::server::serve(listener, desk, &limits, guichet::server::shutdown_signal()).await
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower_service::Service;

pub use crate::config::ServerConfig;
use crate::limit::PeerAddr;

/// Serves `service` on `listener` (HTTP/1.1) with the limits of `limits`, until `shutdown`
/// completes; then drains the open connections for at most `limits.drain_timeout`.
///
/// Returns when the connections are drained (or the drain time is up). Accept errors (out of
/// file descriptors, a connection reset before it was taken) are logged and retried after a
/// short pause, never fatal.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    limits: &ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Idle::new(stream, limits.idle_timeout));
        let service = WithPeer {
            inner: service.clone(),
            peer: PeerAddr(peer),
        };
        let connection = http.serve_connection(io, TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain_timeout) => {
            tracing::warn!("connections still open after the drain timeout: closing them");
        }
    }
    Ok(())
}

/// Hands the connection's peer address to every request ([`PeerAddr`]), for per-address limits
/// and the trusted-proxy check.
#[derive(Clone)]
struct WithPeer<S> {
    inner: S,
    peer: PeerAddr,
}

impl<S, B> Service<Request<B>> for WithPeer<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> S::Future {
        request.extensions_mut().insert(self.peer);
        self.inner.call(request)
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C): the `shutdown` future of [`serve`] for a process
/// run by systemd, Docker or Kubernetes.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// A connection that fails with `TimedOut` once nothing was read or written on it for the
/// idle timeout. The timer is re-armed only when bytes move, so a busy connection pays one
/// timer reset per read or write.
struct Idle<T> {
    io: T,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl<T> Idle<T> {
    fn new(io: T, timeout: Duration) -> Self {
        Self {
            io,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            timeout,
        }
    }

    /// After a poll of the inner stream: moved bytes re-arm the timer; a pending poll checks it.
    fn after<R>(
        &mut self,
        cx: &mut Context<'_>,
        moved: bool,
        poll: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match poll {
            Poll::Ready(result) => {
                if moved {
                    self.deadline.as_mut().reset(Instant::now() + self.timeout);
                }
                Poll::Ready(result)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection idle for too long",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Idle<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.io).poll_read(cx, buf);
        let moved = buf.filled().len() > before;
        this.after(cx, moved, poll)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Idle<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        let moved = matches!(poll, Poll::Ready(Ok(n)) if n > 0);
        this.after(cx, moved, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        let moved = matches!(poll, Poll::Ready(Ok(n)) if n > 0);
        this.after(cx, moved, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
