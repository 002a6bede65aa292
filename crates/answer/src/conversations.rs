//! Conversations kept between runs, one JSON file per conversation id.

use std::path::{Path, PathBuf};

use crate::answer::Conversation;
use crate::error::{Error, Result};

/// Longest conversation id accepted.
pub const MAX_CONVERSATION_ID_CHARS: usize = 64;

/// Conversations stored under a directory (`<home>/conversations`), one `<id>.json` each.
///
/// Saving writes a temporary file and renames it over the old one, so a conversation is
/// never left half-written.
#[derive(Debug, Clone)]
pub struct ConversationStore {
    dir: PathBuf,
}

impl ConversationStore {
    /// A store in `dir`; the directory is created on the first save.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str) -> Result<PathBuf> {
        check_id(id)?;
        Ok(self.dir.join(format!("{id}.json")))
    }

    /// The conversation `id`; an id never seen before starts an empty conversation.
    pub fn load(&self, id: &str) -> Result<Conversation> {
        let path = self.path(id)?;
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                Error::Conversation(format!(
                    "conversation '{id}' in {} is unreadable ({e}); delete the file or use another id",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Conversation::default()),
            Err(e) => Err(Error::Conversation(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// Saves the conversation `id`, replacing what was stored.
    pub fn save(&self, id: &str, conversation: &Conversation) -> Result<()> {
        let path = self.path(id)?;
        let failed = |what: &str, e: std::io::Error| Error::Conversation(format!("cannot {what}: {e}"));
        std::fs::create_dir_all(&self.dir).map_err(|e| failed(&format!("create {}", self.dir.display()), e))?;
        let json = serde_json::to_vec_pretty(conversation)
            .map_err(|e| Error::Conversation(format!("cannot serialize conversation '{id}': {e}")))?;
        let temporary = self.dir.join(format!(".{id}.json.{}.tmp", std::process::id()));
        std::fs::write(&temporary, json).map_err(|e| failed(&format!("write {}", temporary.display()), e))?;
        std::fs::rename(&temporary, &path).map_err(|e| failed(&format!("replace {}", path.display()), e))
    }

    /// Ids of the stored conversations, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::Conversation(format!("cannot list {}: {e}", self.dir.display()))),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().to_str()?.strip_suffix(".json").map(str::to_string))
            .filter(|id| check_id(id).is_ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

/// Ids are file names: letters, digits, `-` and `_`, at most [`MAX_CONVERSATION_ID_CHARS`].
fn check_id(id: &str) -> Result<()> {
    let valid = !id.is_empty()
        && id.len() <= MAX_CONVERSATION_ID_CHARS
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if valid {
        Ok(())
    } else {
        Err(Error::Conversation(format!(
            "'{id}' is not a usable conversation id; use 1 to {MAX_CONVERSATION_ID_CHARS} letters, digits, '-' or '_'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Turn;

    #[test]
    fn conversations_round_trip_and_unknown_ids_start_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConversationStore::new(dir.path().join("conversations"));
        assert!(store.load("q1").unwrap().turns.is_empty());
        assert!(store.list().unwrap().is_empty());
        let mut conversation = Conversation::default();
        conversation.turns.push(Turn {
            question: "signups last month".into(),
            query: None,
            sql: Some("SELECT 1".into()),
            summary: "12 signups".into(),
        });
        store.save("q1", &conversation).unwrap();
        let loaded = store.load("q1").unwrap();
        assert_eq!(loaded.turns.len(), 1);
        assert_eq!(loaded.turns[0].summary, "12 signups");
        assert_eq!(store.list().unwrap(), vec!["q1".to_string()]);
    }

    #[test]
    fn ids_that_are_not_plain_names_are_refused() {
        let store = ConversationStore::new("/nonexistent");
        for id in ["", "../etc/passwd", "a/b", "a b", &"x".repeat(65)] {
            let error = store.load(id).unwrap_err().to_string();
            assert!(error.contains("not a usable conversation id"), "{id}: {error}");
        }
    }

    #[test]
    fn a_corrupt_file_is_reported_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.json"), "{not json").unwrap();
        let store = ConversationStore::new(dir.path());
        let error = store.load("bad").unwrap_err().to_string();
        assert!(error.contains("unreadable") && error.contains("bad.json"), "{error}");
        assert_eq!(std::fs::read_to_string(dir.path().join("bad.json")).unwrap(), "{not json");
    }
}
