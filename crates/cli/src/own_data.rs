//! A user's own snapshots: what to do after `quarry snapshot create`, `quarry snapshot use`
//! (the default snapshot, recorded in `$QUARRY_HOME/quarry.toml`), which snapshot `snapshot
//! list` marks as the default, and the notice given when an answer comes from the demo
//! warehouse while the user has snapshots of their own.

use std::path::Path;
use std::process::ExitCode;

use quarry_bootstrap::{describe_source, is_demo, own_snapshots};
use quarry_semantic::SemanticLayer;
use quarry_settings::{DEMO_SNAPSHOT, Settings};
use quarry_snapshot::{Snapshot, SnapshotSource, SnapshotStore};

/// Own snapshots named in the demo notice; more are counted.
const NOTICE_SNAPSHOTS: usize = 3;

/// When `answered_from` is a demo warehouse and the user has snapshots of their own: one line
/// that says so (`answered from the demo warehouse; …`, or `serving …` for `quarry serve`)
/// and how to switch. `None` otherwise.
pub fn demo_notice(settings: &Settings, answered_from: &Snapshot, serving: bool) -> Option<String> {
    if !is_demo(answered_from) {
        return None;
    }
    // A data directory that cannot be listed only costs the notice.
    let own = own_snapshots(settings).ok()?;
    let first = own.first()?;
    let mut named: Vec<String> =
        own.iter().take(NOTICE_SNAPSHOTS).map(|s| format!("{} ({})", s.manifest.id, describe_source(s))).collect();
    if own.len() > NOTICE_SNAPSHOTS {
        named.push(format!("{} more in `quarry snapshot list`", own.len() - NOTICE_SNAPSHOTS));
    }
    let switch = match own.len() {
        1 => format!("`quarry snapshot use {}` makes it the default", first.manifest.id),
        _ => "`quarry snapshot use ID` makes one the default".to_string(),
    };
    let (what, restart) = if serving { ("serving", " (then restart quarry serve)") } else { ("answered from", "") };
    Some(format!("{what} the demo warehouse; your snapshots: {} — {switch}{restart}", named.join(", ")))
}

/// The lines printed after `quarry snapshot create`: where the semantic layer is, the columns
/// flagged as personal and how to unflag them, and the commands to use the snapshot.
pub fn next_steps(snapshot: &Snapshot, layer: &SemanticLayer, layer_path: &Path, settings: &Settings) -> String {
    let id = &snapshot.manifest.id;
    let layer_shown = layer_path.display();
    let mut lines = Vec::new();
    // Guessed from column names: the user confirms or unflags them in the layer.
    let personal = layer.personal_columns();
    if !personal.is_empty() {
        lines.push(format!(
            "flagged as personal data (never selected, filtered or shown to a model): {}\n\
             if one is not personal, set `personal: false` on it in {layer_shown}",
            personal.iter().map(|(t, c)| format!("{t}.{c}")).collect::<Vec<_>>().join(", "),
        ));
    }
    let question = layer
        .metrics
        .first()
        .map(|m| m.display_name().to_lowercase())
        .unwrap_or_else(|| "how many rows are there".into());
    let is_default = !settings.uses_demo() && !settings.snapshot.is_empty() && id.starts_with(&settings.snapshot);
    lines.push("\nnext steps:".into());
    if is_default {
        lines.push(format!("  {id} is already the default snapshot: `quarry ask \"{question}\"` answers from it"));
    } else {
        lines.push(format!("  quarry snapshot use {id}    # make it the default of ask, sql, chat and serve"));
    }
    lines.push(format!("  quarry ask --snapshot {id} \"{question}\"    # ask it once, whatever the default"));
    lines.push(format!("  $EDITOR {layer_shown}    # its metrics, dimensions, synonyms and personal flags"));
    lines.push(format!("  quarry semantic check {layer_shown} --snapshot {id}    # after editing it"));
    lines.join("\n")
}

/// `quarry snapshot use ID` / `quarry snapshot use --demo`: records the default snapshot in
/// `$QUARRY_HOME/quarry.toml` and says whether another source overrides it.
pub fn use_snapshot(
    settings: &Settings,
    config: Option<&Path>,
    id: Option<String>,
    demo: bool,
) -> anyhow::Result<ExitCode> {
    let (value, shown) = match id {
        Some(id) if !demo && id != DEMO_SNAPSHOT => {
            let store = SnapshotStore::new(settings.snapshots_dir()?);
            let snapshot = store.get(&id)?;
            let shown = format!("{} ({})", snapshot.manifest.id, describe_source(&snapshot));
            (snapshot.manifest.id, shown)
        }
        _ => (DEMO_SNAPSHOT.to_string(), "the demo warehouse".to_string()),
    };
    let file = settings.home_settings_file()?;
    quarry_settings::write_default_snapshot(&file, &value)?;
    println!("default snapshot: {shown}, recorded in {}", file.display());
    println!("quarry ask, sql, chat and serve now use it (restart a running server)");
    // A quarry.toml in the working directory, --config or QUARRY_SNAPSHOT come later.
    let effective = Settings::load(config)?.snapshot;
    if effective != value {
        eprintln!(
            "warning: another setting still overrides it with snapshot = \"{effective}\": QUARRY_SNAPSHOT, \
             a quarry.toml in the working directory, or --config"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The default snapshot among `snapshots`: the id of the installed one the settings make the
/// default (the demo warehouse of the `[demo]` settings, or the snapshot `snapshot` names), if
/// any, and a line that says which it is and how to change it.
pub fn default_snapshot(settings: &Settings, snapshots: &[Snapshot]) -> (Option<String>, String) {
    let change = "change it with `quarry snapshot use ID` (or `--demo`)";
    if settings.uses_demo() {
        let wanted = SnapshotSource::Demo { seed: settings.demo.seed, scale: settings.demo.scale };
        return match snapshots.iter().find(|s| s.manifest.source == wanted) {
            Some(demo) => (
                Some(demo.manifest.id.clone()),
                format!("default: the demo warehouse ({}); {change}", demo.manifest.id),
            ),
            None => (None, format!("default: the demo warehouse (generated on first use); {change}")),
        };
    }
    let matching: Vec<&Snapshot> = snapshots.iter().filter(|s| s.manifest.id.starts_with(&settings.snapshot)).collect();
    match matching.as_slice() {
        [one] => (
            Some(one.manifest.id.clone()),
            format!("default: {} ({}); {change}", one.manifest.id, describe_source(one)),
        ),
        [] => (None, format!("default: \"{}\", which is not installed; {change}", settings.snapshot)),
        _ => (None, format!("default: \"{}\", the prefix of more than one snapshot; {change}", settings.snapshot)),
    }
}
