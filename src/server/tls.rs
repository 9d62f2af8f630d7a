//! HTTPS for the API and the content: a certificate generated at start (or read from files),
//! its SHA-1 and SHA-256 thumbprints (what download endpoints report), and a listener that
//! completes TLS handshakes off the accept path so one slow client cannot stall the others.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A server certificate and what clients need to pin it: a fake started with
/// [`DlsimBuilder::tls`](crate::DlsimBuilder::tls) reports its own through
/// [`Dlsim::certificate`](crate::Dlsim::certificate).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let small: dlsim::LibrarySpec = toml::from_str(
/// #     "name = 'isos'\n[[items]]\nname = 'alpine'\nfiles = [{ name = 'alpine.iso', size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![small]).tls().start().await;
/// assert!(fake.base_url().starts_with("https://127.0.0.1:"));
/// let cert = fake.certificate().unwrap();
/// assert!(cert.pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// assert_eq!(cert.sha256.len(), 32 * 3 - 1); // AB:CD:...
///
/// // A client pinned to the thumbprint trusts the self-signed certificate.
/// let item = &fake.item_ids(&fake.library_ids()[0]).unwrap()[0];
/// let dir = tempfile::tempdir().unwrap();
/// let mut opts = dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), item);
/// opts.output_dir = dir.path().to_path_buf();
/// opts.poll_interval = std::time::Duration::from_millis(10);
/// opts.tls = dlsim::TlsPolicy::Thumbprint(cert.sha256.clone());
/// let report = dlsim::download(&opts, |_| {}).await.unwrap();
/// assert_eq!(report.api_certificate.unwrap().sha1, cert.sha1);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Certificate {
    /// The rustls server configuration serving it.
    pub config: Arc<rustls::ServerConfig>,
    /// The leaf certificate, PEM.
    pub pem: String,
    /// SHA-1 of the DER certificate, `AB:CD:...` (what `ssl_certificate_thumbprint` held up to 8.x).
    pub sha1: String,
    /// SHA-256 of the DER certificate, `AB:CD:...` (what 9.x reports).
    pub sha256: String,
}

/// Why a certificate could not be made or read.
///
/// ```
/// let missing = std::path::Path::new("/nonexistent/cert.pem");
/// let err = dlsim::Certificate::from_files(missing, missing).unwrap_err();
/// assert!(matches!(err, dlsim::TlsError::Read { .. }));
/// assert_eq!(err.to_string(), format!("cannot read /nonexistent/cert.pem: {}",
///     std::fs::read(missing).unwrap_err()));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Generating a self-signed certificate failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    /// A PEM file could not be read or holds no certificate or key.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The certificate and key do not fit together.
    #[error("the certificate and key do not form a TLS configuration: {0}")]
    Config(String),
}

impl Certificate {
    /// A self-signed certificate for `localhost`, `127.0.0.1`, `::1` and `extra_names`.
    pub fn generate(extra_names: &[String]) -> Result<Self, TlsError> {
        let mut names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        names.extend(extra_names.iter().cloned());
        let key = rcgen::generate_simple_self_signed(names)
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        let der = key.cert.der().clone();
        let private = PrivateKeyDer::try_from(key.signing_key.serialize_der())
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        Self::build(vec![der], private)
    }

    /// A certificate chain and key from PEM files.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| TlsError::Read {
                path: p.display().to_string(),
                message: e.to_string(),
            })
        };
        let (cert_pem, key_pem) = (read(cert)?, read(key)?);
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Read {
                path: cert.display().to_string(),
                message: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::Read {
                path: cert.display().to_string(),
                message: "no PEM certificate found".into(),
            });
        }
        let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Read {
            path: key.display().to_string(),
            message: e.to_string(),
        })?;
        Self::build(chain, private)
    }

    fn build(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let leaf = chain[0].to_vec();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let crate::ids::Thumbprints { sha1, sha256 } = crate::ids::Thumbprints::of(&leaf);
        Ok(Certificate {
            config: Arc::new(config),
            pem: pem_of(&leaf),
            sha1,
            sha256,
        })
    }
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// A listener yielding connections whose TLS handshake has completed.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = tcp.accept() => a,
                    _ = tx.closed() => return,
                };
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_have_both_thumbprints() {
        let c = Certificate::generate(&[]).unwrap();
        assert_eq!(c.sha1.len(), 20 * 3 - 1);
        assert_eq!(c.sha256.len(), 32 * 3 - 1);
        assert!(c.pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        let der = CertificateDer::from_pem_slice(c.pem.as_bytes()).unwrap();
        assert_eq!(crate::ids::Thumbprints::of(&der).sha1, c.sha1);
    }

    #[test]
    fn missing_files_name_the_path() {
        let e =
            Certificate::from_files(Path::new("/nonexistent/c.pem"), Path::new("/x")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/c.pem"), "{e}");
    }
}
