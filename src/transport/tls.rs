//! TLS the clients can explain: which certificate problem refused a connection, and the
//! extra roots a client trusts.
//!
//! A refused certificate never heals by retrying, and the HTTP client reports it in the same
//! words as a dropped connection ("error sending request"). [`classify`] finds the TLS
//! library's verdict in the error's causes, so a client can stop at once and say what is
//! wrong.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, RootCertStore};

/// Why a server's certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsProblem {
    /// Not issued by a trusted root: self-signed, or signed by a private CA (or a
    /// TLS-inspecting proxy) this client was not told to trust.
    UnknownIssuer,
    /// Its validity ended (or the local clock is far ahead).
    Expired,
    /// Not valid yet (or the local clock is far behind).
    NotYetValid,
    /// Issued for other names than the endpoint's host.
    NameMismatch,
    /// Refused for another reason (revoked, bad signature, unsupported algorithm, not meant
    /// for servers, …); the error's causes say which.
    Other,
}

impl TlsProblem {
    /// What to do about it, in a few words.
    pub fn hint(self) -> &'static str {
        match self {
            TlsProblem::UnknownIssuer => {
                "trust its CA with ca_file or add_root_certificate_pem, or build with the native-roots feature to use the system's roots"
            }
            TlsProblem::Expired | TlsProblem::NotYetValid => {
                "renew it, or fix this machine's clock if that is wrong"
            }
            TlsProblem::NameMismatch => {
                "put the name it was issued for in the endpoint, or fix the certificate"
            }
            TlsProblem::Other => "the certificate must be fixed; the causes say why",
        }
    }
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsProblem::UnknownIssuer => {
                "unknown issuer (self-signed, or signed by a CA not trusted here)"
            }
            TlsProblem::Expired => "expired",
            TlsProblem::NotYetValid => "not valid yet",
            TlsProblem::NameMismatch => "issued for another name",
            TlsProblem::Other => "not acceptable",
        })
    }
}

/// Links followed at most while looking for the TLS error.
const MAX_LINKS: usize = 16;

/// The certificate problem among an error's causes, if a certificate was refused.
///
/// Walks [`Error::source`], and into the error an [`io::Error`] wraps (its `source()` skips
/// that one, and the TLS layer reports through `io::Error`). TLS failures that are not about
/// the certificate (a protocol error, an alert, a plain-text server) are not a certificate
/// problem: `None`.
pub fn classify(error: &(dyn Error + 'static)) -> Option<TlsProblem> {
    let mut next = Some(error);
    for _ in 0..MAX_LINKS {
        let current = next?;
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return match tls {
                rustls::Error::InvalidCertificate(e) => Some(certificate_problem(e)),
                _ => None,
            };
        }
        next = match current.downcast_ref::<io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn Error + 'static)),
                None => io.source(),
            },
            None => current.source(),
        };
    }
    None
}

fn certificate_problem(error: &CertificateError) -> TlsProblem {
    match error {
        CertificateError::UnknownIssuer => TlsProblem::UnknownIssuer,
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => TlsProblem::Expired,
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            TlsProblem::NotYetValid
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            TlsProblem::NameMismatch
        }
        _ => TlsProblem::Other,
    }
}

/// Roots a client trusts besides the built-in ones, as given to its builder: PEM files (read
/// when the client is built) and PEM text.
#[derive(Debug, Clone, Default)]
pub struct ExtraRoots {
    sources: Vec<RootSource>,
}

#[derive(Clone)]
enum RootSource {
    File(PathBuf),
    Pem(Vec<u8>),
}

impl fmt::Debug for RootSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootSource::File(path) => f.debug_tuple("File").field(path).finish(),
            RootSource::Pem(pem) => write!(f, "Pem({} bytes)", pem.len()),
        }
    }
}

impl ExtraRoots {
    /// Adds the certificates of a PEM file (one or more `CERTIFICATE` blocks; other blocks,
    /// such as a key, are skipped).
    pub fn add_file(&mut self, path: impl Into<PathBuf>) {
        self.sources.push(RootSource::File(path.into()));
    }

    /// Adds the certificates of PEM text.
    pub fn add_pem(&mut self, pem: impl Into<Vec<u8>>) {
        self.sources.push(RootSource::Pem(pem.into()));
    }

    /// Whether none were given.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Reads and checks every root: a file that cannot be read, holds no certificate, or
    /// holds one that cannot be a root is refused with a message naming it.
    pub fn load(&self) -> Result<Vec<reqwest::Certificate>, String> {
        let mut roots = Vec::new();
        let mut pems = 0;
        for source in &self.sources {
            let (pem, name) = match source {
                RootSource::File(path) => (read_file(path)?, format!("CA file {}", path.display())),
                RootSource::Pem(pem) => {
                    pems += 1;
                    (pem.clone(), format!("root certificate PEM #{pems}"))
                }
            };
            roots.extend(parse_roots(&pem).map_err(|why| format!("{name}: {why}"))?);
        }
        Ok(roots)
    }
}

/// CA files larger than this are refused rather than read into memory (a bundle of every
/// public root is about 200 KiB).
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read CA file {}: {e}", path.display());
    let mut bytes = Vec::new();
    // One byte past the limit tells an oversized file without reading it all.
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(format!(
            "CA file {} is larger than {MAX_CA_FILE_BYTES} bytes",
            path.display()
        ));
    }
    Ok(bytes)
}

/// The certificates of a PEM text, each checked to be usable as a trust anchor, so a broken
/// one is refused here with its source named rather than when the HTTP client is built.
fn parse_roots(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    let mut roots = Vec::new();
    let mut check = RootCertStore::empty();
    for (n, der) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let der = der.map_err(|e| format!("certificate #{} is not valid PEM: {e}", n + 1))?;
        check
            .add(der.clone())
            .map_err(|e| format!("certificate #{} cannot be a root: {e}", n + 1))?;
        let cert = reqwest::Certificate::from_der(&der)
            .map_err(|e| format!("certificate #{}: {e}", n + 1))?;
        roots.push(cert);
    }
    if roots.is_empty() {
        return Err("no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)".into());
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(Box<dyn Error + Send + Sync>);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("error sending request")
        }
    }

    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&*self.0)
        }
    }

    /// As the TLS connector reports it: the rustls error inside an `io::Error`, inside the
    /// HTTP client's error.
    fn wrapped(e: rustls::Error) -> Wrapper {
        Wrapper(Box::new(io::Error::new(io::ErrorKind::InvalidData, e)))
    }

    #[test]
    fn finds_the_certificate_problem_behind_io_errors() {
        for (e, problem) in [
            (CertificateError::UnknownIssuer, TlsProblem::UnknownIssuer),
            (CertificateError::Expired, TlsProblem::Expired),
            (CertificateError::NotValidYet, TlsProblem::NotYetValid),
            (CertificateError::NotValidForName, TlsProblem::NameMismatch),
            (CertificateError::BadSignature, TlsProblem::Other),
            (CertificateError::Revoked, TlsProblem::Other),
        ] {
            let e = wrapped(rustls::Error::InvalidCertificate(e));
            assert_eq!(classify(&e), Some(problem));
        }
        let direct = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(classify(&direct), Some(TlsProblem::UnknownIssuer));
    }

    #[test]
    fn other_failures_are_no_certificate_problem() {
        let refused = Wrapper(Box::new(io::Error::from(io::ErrorKind::ConnectionRefused)));
        assert_eq!(classify(&refused), None);
        let protocol = wrapped(rustls::Error::DecryptError);
        assert_eq!(classify(&protocol), None);
        let custom = Wrapper(Box::new(io::Error::other("plain")));
        assert_eq!(classify(&custom), None);
    }

    #[test]
    fn every_problem_reads_and_has_a_hint() {
        for p in [
            TlsProblem::UnknownIssuer,
            TlsProblem::Expired,
            TlsProblem::NotYetValid,
            TlsProblem::NameMismatch,
            TlsProblem::Other,
        ] {
            assert!(!p.to_string().is_empty() && !p.hint().is_empty());
        }
        assert!(TlsProblem::UnknownIssuer.hint().contains("ca_file"));
        assert!(TlsProblem::UnknownIssuer.hint().contains("native-roots"));
    }

    #[test]
    fn bad_roots_are_refused_naming_their_source() {
        let mut roots = ExtraRoots::default();
        roots.add_pem("no certificate here");
        let e = roots.load().unwrap_err();
        assert!(
            e.contains("root certificate PEM #1") && e.contains("no PEM"),
            "{e}"
        );

        let mut roots = ExtraRoots::default();
        roots.add_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let e = roots.load().unwrap_err();
        assert!(e.contains("cannot be a root"), "{e}");

        let mut roots = ExtraRoots::default();
        roots.add_file("/nonexistent/vod-events/ca.pem");
        let e = roots.load().unwrap_err();
        assert!(e.contains("/nonexistent/vod-events/ca.pem"), "{e}");
        assert!(ExtraRoots::default().load().unwrap().is_empty());
    }
}
