//! Listeners and connections. The caller binds the sockets (tests bind `127.0.0.1:0` and
//! never race for ports) and passes a shutdown future; [`run`] serves until it resolves and
//! then lets in-flight requests finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::http::{Body, ConnInfo, Surface};
use crate::router;
use crate::state::{AppState, Listening, SandboxConfig, StartError};
use crate::tls::PeerCert;

/// Raises the soft limit of open files to the hard one (`serve` at start): each connection
/// is a file, and the usual soft limit of 1,024 is what idle clients exhausted. Returns the
/// limit now in force.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    rlimit::increase_nofile_limit(hard)
}

/// The answer to a plain-HTTP connection past the cap.
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// The sockets a sandbox serves.
#[derive(Debug)]
pub struct Listeners {
    /// HTTPS: the merchant APIs (WeChat paths; client certificate requested).
    pub api: TcpListener,
    /// Plain HTTP on loopback: the JSON admin API.
    pub admin: TcpListener,
    /// Optional plain HTTP for the merchant APIs, for clients that cannot change scheme.
    pub http: Option<TcpListener>,
}

/// Serves until `shutdown` resolves, then waits for open connections to finish.
pub async fn run(
    listeners: Listeners,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    state.set_listening(Listening {
        api: listeners.api.local_addr()?,
        http: listeners
            .http
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()?,
        admin: listeners.admin.local_addr()?,
    });
    let graceful = GracefulShutdown::new();
    // Delivers notifications as they fall due; stopped with the server.
    let notifier = tokio::spawn(crate::notify::run(state.clone()));
    let acceptor = TlsAcceptor::from(state.tls.clone());
    let limits = state.config.connections;
    let api_slots = Arc::new(Semaphore::new(limits.max_connections));
    let admin_slots = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            r = listeners.api.accept() => r.map(|c| (c, Surface::ApiTls)),
            r = listeners.admin.accept() => r.map(|c| (c, Surface::Admin)),
            r = accept_optional(listeners.http.as_ref()) => r.map(|c| (c, Surface::ApiPlain)),
        };
        let ((stream, peer), surface) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: keep serving the others.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slots = if surface == Surface::Admin {
            &admin_slots
        } else {
            &api_slots
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "connection refused: at the connection cap");
            if surface != Surface::ApiTls {
                tokio::spawn(refuse(stream));
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            serve_connection(stream, peer, surface, state, acceptor, watcher).await;
            drop(slot);
        });
    }
    drop(listeners);
    notifier.abort();
    // Open event streams would otherwise keep their connections, and the shutdown, waiting.
    state.events.close();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("connections still open after 10 s; closing anyway");
        }
    }
    Ok(())
}

/// Tells a plain-HTTP client past the cap to come back later, and closes.
async fn refuse(mut stream: TcpStream) {
    use tokio::io::AsyncWriteExt;
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
    let _ = stream.shutdown().await;
}

async fn accept_optional(
    listener: Option<&TcpListener>,
) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    surface: Surface,
    state: Arc<AppState>,
    acceptor: TlsAcceptor,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let limits = state.config.connections;
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle);
    match surface {
        Surface::ApiTls => {
            let tls = match tokio::time::timeout(limits.handshake, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let cert = state.peers.classify(tls.get_ref().1.peer_certificates());
            let info = Arc::new(ConnInfo {
                peer,
                cert,
                surface,
            });
            let conn = builder.serve_connection(TokioIo::new(tls), service(state, info));
            if let Err(error) = watcher.watch(conn).await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        }
        Surface::ApiPlain | Surface::Admin => {
            let info = Arc::new(ConnInfo {
                peer,
                cert: PeerCert::None,
                surface,
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service(state, info));
            if let Err(error) = watcher.watch(conn).await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        }
    }
}

fn service(
    state: Arc<AppState>,
    info: Arc<ConnInfo>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> + Clone {
    service_fn(move |request: Request<Incoming>| {
        let state = state.clone();
        let info = info.clone();
        async move { Ok::<_, Infallible>(router::handle(request, &state, &info).await) }
    })
}

/// A sandbox started in-process on loopback ports chosen by the OS: for Rust tests and for
/// tools that embed the mock.
#[derive(Debug)]
pub struct RunningSandbox {
    /// `https://127.0.0.1:PORT`: the merchant APIs over TLS.
    pub api_url: String,
    /// `http://127.0.0.1:PORT`: the merchant APIs over plain HTTP.
    pub http_url: String,
    /// `http://127.0.0.1:PORT`: the admin API.
    pub admin_url: String,
    /// The CA that issued the server and merchant certificates (trust it in clients).
    pub ca_path: PathBuf,
    /// Shared state, for tests that inspect or control the sandbox directly.
    pub state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningSandbox {
    /// Binds `127.0.0.1:0` three times and serves in a background task.
    pub async fn start(config: SandboxConfig) -> Result<RunningSandbox, StartError> {
        let state = Arc::new(AppState::new(config)?);
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let listeners = Listeners {
            api: TcpListener::bind(loopback).await?,
            admin: TcpListener::bind(loopback).await?,
            http: Some(TcpListener::bind(loopback).await?),
        };
        let api_url = format!("https://127.0.0.1:{}", listeners.api.local_addr()?.port());
        let admin_url = format!("http://127.0.0.1:{}", listeners.admin.local_addr()?.port());
        let http_url = match &listeners.http {
            Some(http) => format!("http://127.0.0.1:{}", http.local_addr()?.port()),
            None => String::new(),
        };
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listeners, state.clone(), async move {
            let _ = rx.await;
        }));
        Ok(RunningSandbox {
            api_url,
            http_url,
            admin_url,
            ca_path: state.certs.ca_path(),
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
