//! The default snapshot, recorded by `quarry snapshot use` as `snapshot = "…"` in the user's
//! `quarry.toml` (in `$QUARRY_HOME`). The file is edited, not rewritten: the user's other
//! settings, comments and layout stay as they were.

use std::path::{Path, PathBuf};

use toml_edit::DocumentMut;

use crate::{Error, Result, Settings};

/// The `snapshot` setting that means the demo warehouse.
pub const DEMO_SNAPSHOT: &str = "demo";

impl Settings {
    /// The user's settings file in the data directory, `<home>/quarry.toml`, where
    /// [`write_default_snapshot`] records the default snapshot.
    pub fn home_settings_file(&self) -> Result<PathBuf> {
        Ok(self.home_dir()?.join("quarry.toml"))
    }

    /// Whether questions go to the demo warehouse (`snapshot = "demo"`).
    pub fn uses_demo(&self) -> bool {
        self.snapshot == DEMO_SNAPSHOT
    }
}

/// The `snapshot` the settings file at `path` records, if the file exists and records one.
pub fn read_default_snapshot(path: &Path) -> Result<Option<String>> {
    let Some(document) = read_document(path)? else { return Ok(None) };
    Ok(document.get("snapshot").and_then(|item| item.as_str()).map(str::to_string))
}

/// Records `snapshot` (a snapshot id, or [`DEMO_SNAPSHOT`]) as the default in the settings file
/// at `path`, creating the file (and its directory) when missing. Every other line is kept; a
/// file that is not valid TOML is refused and left unchanged.
pub fn write_default_snapshot(path: &Path, snapshot: &str) -> Result<()> {
    let mut document = read_document(path)?.unwrap_or_default();
    let mut value = toml_edit::Value::from(snapshot);
    // A comment at the end of the line the user wrote stays with it.
    if let Some(old) = document.get("snapshot").and_then(|item| item.as_value()) {
        *value.decor_mut() = old.decor().clone();
    }
    document["snapshot"] = toml_edit::Item::Value(value);
    let edit_error = |reason: String| Error::EditFile { path: path.to_path_buf(), reason };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| edit_error(e.to_string()))?;
    }
    // A linked quarry.toml stays a link: the file it points to is the one edited.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    // Written beside the file and renamed over it, so that a failed write never leaves the
    // user's settings half written; with the file's permissions, as it may hold secrets
    // (API tokens, the Slack signing secret) readable by its owner only.
    let scratch = target.with_extension(format!("toml.{}.tmp", std::process::id()));
    let permissions = std::fs::metadata(&target).map(|m| m.permissions()).ok();
    std::fs::write(&scratch, document.to_string())
        .and_then(|()| permissions.map_or(Ok(()), |p| std::fs::set_permissions(&scratch, p)))
        .and_then(|()| std::fs::rename(&scratch, &target))
        .map_err(|e| {
            let _ = std::fs::remove_file(&scratch);
            edit_error(e.to_string())
        })
}

fn read_document(path: &Path) -> Result<Option<DocumentMut>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::EditFile { path: path.to_path_buf(), reason: e.to_string() }),
    };
    let document = text.parse::<DocumentMut>().map_err(|e| Error::EditFile {
        path: path.to_path_buf(),
        reason: format!("it is not valid TOML: {}", e.to_string().trim_end()),
    })?;
    Ok(Some(document))
}

// figment::Jail closures must return figment's own error type, which is large.
#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    const USER_FILE: &str = "# my settings\n\
        home = \"/data/quarry\"   # where it all lives\n\
        \n\
        [executor]\n\
        # slow disks here\n\
        timeout_ms = 9000\n";

    #[test]
    fn writing_the_default_keeps_other_settings_and_comments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("quarry.toml");
        std::fs::write(&path, USER_FILE).expect("write");
        write_default_snapshot(&path, "snap-0123abcd").expect("writes");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with(USER_FILE.lines().next().unwrap()), "{text}");
        for line in USER_FILE.lines() {
            assert!(text.contains(line), "lost {line:?}:\n{text}");
        }
        // A top-level key must come before the first table, or it would belong to the table.
        let snapshot_at = text.find("snapshot = \"snap-0123abcd\"").expect("recorded");
        assert!(snapshot_at < text.find("[executor]").unwrap(), "{text}");
        assert_eq!(read_default_snapshot(&path).unwrap().as_deref(), Some("snap-0123abcd"));
    }

    #[test]
    fn a_second_write_replaces_the_first_and_demo_goes_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("quarry.toml");
        std::fs::write(&path, "# pick one\nsnapshot = \"snap-old\" # chosen last week\n").expect("write");
        write_default_snapshot(&path, "snap-new").expect("writes");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.matches("snapshot =").count(), 1, "{text}");
        assert!(text.starts_with("# pick one\nsnapshot = \"snap-new\" # chosen last week\n"), "{text}");
        write_default_snapshot(&path, DEMO_SNAPSHOT).expect("writes");
        assert_eq!(read_default_snapshot(&path).unwrap().as_deref(), Some("demo"));
    }

    #[cfg(unix)]
    #[test]
    fn the_files_permissions_and_links_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("settings.toml");
        std::fs::write(&real, "[server]\napi_tokens = []\n").expect("write");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let link = dir.path().join("quarry.toml");
        std::os::unix::fs::symlink(&real, &link).expect("link");
        write_default_snapshot(&link, "snap-1").expect("writes");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
        assert_eq!(read_default_snapshot(&real).unwrap().as_deref(), Some("snap-1"));
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_missing_file_and_directory_are_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new-home").join("quarry.toml");
        assert_eq!(read_default_snapshot(&path).unwrap(), None);
        write_default_snapshot(&path, "snap-1").expect("writes");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "snapshot = \"snap-1\"\n");
    }

    #[test]
    fn a_file_that_is_not_toml_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("quarry.toml");
        std::fs::write(&path, "snapshot = [unclosed\n").expect("write");
        let error = write_default_snapshot(&path, "snap-1").unwrap_err().to_string();
        assert!(error.contains("not valid TOML") && error.contains("quarry.toml"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "snapshot = [unclosed\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no scratch file is left");
    }

    #[test]
    fn the_recorded_default_is_what_settings_load() {
        figment::Jail::expect_with(|jail| {
            let home = jail.directory().join("home");
            jail.set_env("QUARRY_HOME", home.display());
            let settings = Settings::load(None).expect("loads");
            assert!(settings.uses_demo());
            assert_eq!(settings.home_settings_file().unwrap(), home.join("quarry.toml"));
            write_default_snapshot(&settings.home_settings_file().unwrap(), "snap-abc").expect("writes");
            let settings = Settings::load(None).expect("loads");
            assert_eq!(settings.snapshot, "snap-abc");
            assert!(!settings.uses_demo());
            Ok(())
        });
    }
}
