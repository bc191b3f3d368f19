//! An error shown with its causes, for logs and command-line tools.

use std::error::Error;
use std::fmt;

/// Shows an error followed by its causes (`outer: cause: cause`), each cause only when the
/// text shown so far does not include it already.
///
/// Many errors show only their own words and keep the reason in
/// [`source`](Error::source): a refused connection reads "error sending request" on its own,
/// and only the chain says "Connection refused". Some errors (this crate's among them) include
/// their immediate cause in their own text, so printing every link would repeat it.
///
/// ```
/// use vod_events::ErrorChain;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("PullEvents could not reach the VOD endpoint: {source}")]
/// struct Outer {
///     #[source]
///     source: Middle,
/// }
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("error sending request")]
/// struct Middle(#[source] std::io::Error);
///
/// let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
/// let error = Outer { source: Middle(refused) };
/// assert_eq!(
///     ErrorChain(&error).to_string(),
///     "PullEvents could not reach the VOD endpoint: error sending request: connection refused"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

/// Links followed at most: a cyclic or absurdly deep chain still ends.
const MAX_LINKS: usize = 16;

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        let mut next = self.0.source();
        for _ in 0..MAX_LINKS {
            let Some(cause) = next else { break };
            let text = cause.to_string();
            if !text.is_empty() && !shown.contains(&text) {
                shown.push_str(": ");
                shown.push_str(&text);
            }
            next = cause.source();
        }
        f.write_str(&shown)
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Link(&'static str, Option<Box<Link>>);

    impl fmt::Display for Link {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Link {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    fn chain(links: &[&'static str]) -> Link {
        links
            .iter()
            .rev()
            .fold(None, |inner, text| Some(Link(text, inner.map(Box::new))))
            .unwrap()
    }

    #[test]
    fn every_cause_once() {
        let e = chain(&[
            "outer: middle",
            "middle",
            "client error (Connect)",
            "refused",
        ]);
        assert_eq!(
            ErrorChain(&e).to_string(),
            "outer: middle: client error (Connect): refused"
        );
        assert_eq!(ErrorChain(&chain(&["alone"])).to_string(), "alone");
        assert_eq!(ErrorChain(&chain(&["a", "", "b"])).to_string(), "a: b");
    }

    #[test]
    fn a_deep_chain_ends() {
        let names: Vec<&'static str> = (0..100)
            .map(|i| &*Box::leak(format!("e{i}x").into_boxed_str()))
            .collect();
        let shown = ErrorChain(&chain(&names)).to_string();
        assert_eq!(shown.matches(": ").count(), MAX_LINKS);
    }
}
