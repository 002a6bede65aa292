//! Identifier rules shared by the checks: normalization, look-alike detection, path detection.

use datafusion::sql::sqlparser::ast::Ident;

use crate::catalog::Catalog;
use crate::error::{PolicyError, Result};

/// File extensions that mark a table name as a file DataFusion could read directly.
const FILE_EXTENSIONS: &[&str] =
    &["parquet", "csv", "tsv", "json", "ndjson", "jsonl", "arrow", "ipc", "avro", "orc", "txt", "gz", "zst", "bz2"];

/// The name DataFusion resolves `ident` to: unquoted identifiers are lower-cased (ASCII only, as
/// DataFusion does), quoted ones are kept as written.
pub(crate) fn normalize(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_ascii_lowercase(),
    }
}

/// Refuses identifiers holding anything but printable ASCII, unless they are exactly a catalog name.
///
/// Look-alike letters (Cyrillic `е` for `e`), full-width forms and invisible characters (zero-width
/// spaces, bidi controls) make a name read as one thing and resolve as another; catalog names are
/// plain ASCII, so nothing legitimate is lost.
pub(crate) fn check_identifier(ident: &Ident, catalog: &Catalog) -> Result<()> {
    let value = &ident.value;
    if value.chars().all(is_printable_ascii) || catalog.is_known_name(value) {
        return Ok(());
    }
    let reason = if value.chars().any(is_invisible) {
        "invisible or control characters (zero-width, bidi or control)".to_string()
    } else {
        "non-ASCII characters, which can imitate ASCII names (look-alike letters)".to_string()
    };
    Err(PolicyError::SuspiciousIdentifier { escaped: escape(value), reason })
}

/// True if a table name denotes a file or URL rather than a table: a single-quoted string, a name
/// with path or scheme separators, or one ending in a data-file extension.
pub(crate) fn looks_like_path(ident: &Ident) -> bool {
    let value = &ident.value;
    ident.quote_style == Some('\'')
        || value.contains(['/', '\\', ':', '~'])
        || value.rsplit_once('.').is_some_and(|(_, ext)| is_file_extension(ext))
}

/// True if `part` (e.g. the `parquet` of `users.parquet`) is a data-file extension.
pub(crate) fn is_file_extension(part: &str) -> bool {
    FILE_EXTENSIONS.iter().any(|ext| ext.eq_ignore_ascii_case(part))
}

/// `value` in double quotes with every character outside printable ASCII written as `\u{..}`.
pub(crate) fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + 2);
    escaped.push('"');
    for c in value.chars() {
        if is_printable_ascii(c) {
            escaped.push(c);
        } else {
            escaped.push_str(&format!("\\u{{{:04x}}}", c as u32));
        }
    }
    escaped.push('"');
    escaped
}

fn is_printable_ascii(c: char) -> bool {
    (' '..='~').contains(&c)
}

fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{180e}' | '\u{feff}')
        || ('\u{200b}'..='\u{200f}').contains(&c)
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2060}'..='\u{206f}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let mut catalog = Catalog::new();
        catalog.add_table("users", &["email"]);
        catalog
    }

    #[test]
    fn normalization_lowercases_only_unquoted_names() {
        assert_eq!(normalize(&Ident::new("Users")), "users");
        assert_eq!(normalize(&Ident::with_quote('"', "Users")), "Users");
    }

    #[test]
    fn plain_ascii_identifiers_pass() {
        assert!(check_identifier(&Ident::new("email"), &catalog()).is_ok());
        assert!(check_identifier(&Ident::with_quote('"', "Total revenue ($)"), &catalog()).is_ok());
    }

    #[test]
    fn look_alikes_and_invisible_characters_are_refused() {
        let cyrillic = check_identifier(&Ident::new("us\u{0435}rs"), &catalog()).unwrap_err();
        assert_eq!(cyrillic.kind(), "suspicious_identifier");
        assert!(cyrillic.to_string().contains(r#""us\u{0435}rs""#), "{cyrillic}");
        assert!(cyrillic.to_string().contains("look-alike"), "{cyrillic}");

        let zero_width = check_identifier(&Ident::with_quote('"', "em\u{200b}ail"), &catalog()).unwrap_err();
        assert!(zero_width.to_string().contains("invisible"), "{zero_width}");

        let fullwidth = check_identifier(&Ident::new("\u{ff45}mail"), &catalog()).unwrap_err();
        assert_eq!(fullwidth.kind(), "suspicious_identifier");
    }

    #[test]
    fn exact_catalog_names_are_accepted_even_if_not_ascii() {
        let mut catalog = catalog();
        catalog.add_table("größe", &["maß"]);
        assert!(check_identifier(&Ident::with_quote('"', "größe"), &catalog).is_ok());
        assert!(check_identifier(&Ident::with_quote('"', "maß"), &catalog).is_ok());
        assert!(check_identifier(&Ident::with_quote('"', "GRÖSSE"), &catalog).is_err());
    }

    #[test]
    fn paths_and_urls_are_recognized() {
        assert!(looks_like_path(&Ident::with_quote('\'', "data")));
        assert!(looks_like_path(&Ident::with_quote('"', "/etc/passwd")));
        assert!(looks_like_path(&Ident::with_quote('"', "s3://bucket/x")));
        assert!(looks_like_path(&Ident::with_quote('"', "events.PARQUET")));
        assert!(looks_like_path(&Ident::with_quote('"', "C:\\data")));
        assert!(!looks_like_path(&Ident::new("events")));
        assert!(!looks_like_path(&Ident::with_quote('"', "Events")));
    }
}
