//! Profile files: read size-limited, parsed as the official tools parse them.

use std::path::Path;

/// Credentials files larger than this are refused rather than read into memory.
pub const MAX_CREDENTIALS_FILE_BYTES: u64 = 64 * 1024;

/// Reads a credentials file whole, refusing one larger than [`MAX_CREDENTIALS_FILE_BYTES`].
pub(crate) fn read_small_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    // One byte past the limit tells an oversized file without reading it all.
    file.take(MAX_CREDENTIALS_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CREDENTIALS_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_CREDENTIALS_FILE_BYTES} bytes"),
        ));
    }
    Ok(text)
}

/// Parses INI text as the official CLIs and SDKs read their profile files (Python's
/// configparser, Go's ini): `=` or `:` between key and value, `#` and `;` comments, quoted
/// values. Backslashes are kept as they are, since a secret may hold one. The error names
/// the line and column only: the parser's own message quotes the line, which may be a secret.
pub(crate) fn load_ini(text: &str) -> Result<ini::Ini, String> {
    let options = ini::ParseOption {
        enabled_quote: true,
        enabled_escape: false,
        ..ini::ParseOption::default()
    };
    ini::Ini::load_from_str_opt(text, options)
        .map_err(|e| format!("not an INI file (line {}, column {})", e.line, e.col))
}

/// A key's value in a section, the key matched without regard to case (configparser lowers
/// keys), trimmed and without surrounding quotes; empty counts as absent.
pub(crate) fn ini_value<'a>(section: &'a ini::Properties, key: &str) -> Option<&'a str> {
    section
        .iter()
        .rfind(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim().trim_matches('"').trim_matches('\'').trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_any_case_either_separator_comments_and_quotes() {
        let ini = load_ini(
            "# comment\n; another\n[default]\nSecret_Id: AKID\nsecret_key = \"k\\ey\"\ntoken='t'\n",
        )
        .unwrap();
        let section = ini.section(Some("default")).unwrap();
        assert_eq!(ini_value(section, "secret_id"), Some("AKID"));
        assert_eq!(ini_value(section, "secret_key"), Some("k\\ey"));
        assert_eq!(ini_value(section, "token"), Some("t"));
        assert_eq!(ini_value(section, "missing"), None);
    }

    #[test]
    fn a_parse_error_names_the_place_not_the_text() {
        let e = load_ini("[default\nsecret_key = HIDDEN\n").unwrap_err();
        assert!(e.contains("line") && !e.contains("HIDDEN"), "{e}");
    }
}
