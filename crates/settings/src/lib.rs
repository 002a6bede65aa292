//! quarry's configuration: one typed [`Settings`], loaded once by the binary.
//!
//! Sources, later ones overriding earlier ones:
//! 1. the defaults checked in as `crates/settings/quarry.defaults.toml` ([`DEFAULTS_TOML`]),
//!    which document every field;
//! 2. `quarry.toml` in `$QUARRY_HOME`, then `quarry.toml` in the working directory, then a
//!    file given explicitly (`quarry --config PATH`);
//! 3. environment variables `QUARRY_<FIELD>`, with `__` between a section and its field
//!    (`QUARRY_EXECUTOR__TIMEOUT_MS=5000`).
//!
//! Library crates never read the environment; they receive their typed part of the
//! settings ([`PolicyConfig`], [`ExecutorConfig`], [`IsolationConfig`], [`RetrievalConfig`],
//! [`ModelConfig`], [`SynthesisConfig`], [`CacheSettings`]).
//!
//! ```
//! let settings = quarry_settings::Settings::defaults();
//! assert_eq!(settings.snapshot, "demo");
//! ```

mod default_snapshot;
mod server;

use std::path::{Path, PathBuf};

pub use default_snapshot::{DEMO_SNAPSHOT, read_default_snapshot, write_default_snapshot};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
/// The answer cache's settings (`[cache]`).
pub use quarry_answer::CacheConfig as CacheSettings;
pub use quarry_exec::ExecutorConfig;
pub use quarry_model::ModelConfig;
pub use quarry_retrieve::RetrievalConfig;
pub use quarry_sqlguard::PolicyConfig;
pub use quarry_store::StoreConfig;
pub use quarry_synth::{Route, SynthesisConfig};
pub use quarry_worker::{IsolationConfig, IsolationMode};
use serde::{Deserialize, Serialize};
pub use server::{ApiToken, ServerSettings, SlackSettings, SlackVisibility};

/// The checked-in defaults.
pub const DEFAULTS_TOML: &str = include_str!("../quarry.defaults.toml");

/// Errors loading settings.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A source had a bad value or an unknown field.
    #[error("invalid settings: {0} (the fields are documented in crates/settings/quarry.defaults.toml)")]
    Invalid(String),
    /// A settings file given explicitly does not exist.
    #[error("settings file {0} does not exist")]
    MissingFile(PathBuf),
    /// No per-user data directory could be determined and `home` is not set.
    #[error("cannot determine a data directory; set QUARRY_HOME")]
    NoHome,
    /// Two settings that cap the same thing disagree.
    #[error(
        "policy.max_limit ({max_limit}) is larger than executor.max_result_rows ({max_result_rows}): a query may ask for \
         more rows than the executor returns, so its answer would be cut without the user asking for fewer. Lower \
         policy.max_limit or raise executor.max_result_rows"
    )]
    Caps {
        /// `policy.max_limit`.
        max_limit: u64,
        /// `executor.max_result_rows`.
        max_result_rows: usize,
    },
    /// A settings file could not be read or written when recording a setting in it.
    #[error("cannot edit the settings file {path}: {reason}")]
    EditFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every setting of quarry. See `quarry.defaults.toml` for each field's meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Data directory; empty means the per-user data directory.
    pub home: String,
    /// `demo` or a snapshot id (or prefix).
    pub snapshot: String,
    /// Semantic layer file; empty means the snapshot's default.
    pub semantic_layer: String,
    /// The demo warehouse generator.
    pub demo: DemoSettings,
    /// The SQL policy.
    pub policy: PolicyConfig,
    /// Retrieval: the embedder and the vector store.
    pub retrieval: RetrievalConfig,
    /// The executor's limits.
    pub executor: ExecutorConfig,
    /// Whether queries run in worker processes.
    pub isolation: IsolationConfig,
    /// Which model writes SQL and how the router chooses.
    pub synthesis: SynthesisSettings,
    /// The in-memory cache of answers.
    pub cache: CacheSettings,
    /// The OpenAI-compatible model, when `synthesis.model = "openai"`.
    pub model: ModelConfig,
    /// `quarry serve`.
    pub server: ServerSettings,
    /// Where conversations, feedback and the audit log are stored.
    pub storage: StoreConfig,
}

/// Which model writes SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelChoice {
    /// Only the built-in semantic planner: no network, no weights.
    Builtin,
    /// The built-in planner and an OpenAI-compatible chat model ([`ModelConfig`]).
    Openai,
}

/// The synthesis stage: model choice, routing and repairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthesisSettings {
    /// Which model writes SQL.
    pub model: ModelChoice,
    /// How the router picks between the built-in planner and the model.
    pub route: Route,
    /// The built-in planner answers when its confidence is at least this; below it the
    /// question goes to the model (`builtin-first`) or, without one, quarry asks back with
    /// its readings.
    pub confidence_threshold: f64,
    /// A confidence model fitted on your own labeled questions (`quarry eval calibrate
    /// --out FILE`); the one shipped with quarry when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_model: Option<std::path::PathBuf>,
    /// Corrections the model may make after its SQL is refused or fails to plan.
    pub max_repairs: usize,
    /// Retrieval hits (metrics, tables, values, examples) the model's prompt is built from.
    pub retrieval_hits: usize,
    /// Let the model write the summary of its answers from a sample of the result.
    pub model_summary: bool,
    /// Look up the words the built-in planner does not know in the retrieval index (the one
    /// `quarry search` uses) and read the question again with the names they are grounded to.
    #[serde(default = "default_true")]
    pub ground_with_index: bool,
    /// Under builtin-first with a model, when the planner answers on its own, ask the model
    /// too and compare the two results: the answer says whether two independent routes agree,
    /// and asks back when they do not. Costs a model call per planner answer.
    #[serde(default = "default_true")]
    pub cross_check: bool,
}

fn default_true() -> bool {
    true
}

impl Default for SynthesisSettings {
    fn default() -> Self {
        Self {
            model: ModelChoice::Builtin,
            route: Route::Auto,
            confidence_threshold: 0.8,
            confidence_model: None,
            max_repairs: 2,
            retrieval_hits: 24,
            model_summary: false,
            ground_with_index: true,
            cross_check: true,
        }
    }
}

impl SynthesisSettings {
    /// The synthesis router's part of these settings.
    pub fn config(&self) -> SynthesisConfig {
        SynthesisConfig {
            route: self.effective_route(),
            confidence_threshold: self.confidence_threshold,
            max_repairs: self.max_repairs,
            retrieval_hits: self.retrieval_hits,
            cross_check: self.cross_check,
        }
    }

    /// The route in force: `auto` resolved against the model choice.
    pub fn effective_route(&self) -> Route {
        match (self.route, self.model) {
            (Route::Auto, ModelChoice::Openai) => Route::BuiltinFirst,
            (Route::Auto, ModelChoice::Builtin) => Route::BuiltinOnly,
            (route, _) => route,
        }
    }
}

/// Settings of the demo warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    /// Generator seed.
    pub seed: u64,
    /// Scale factor.
    pub scale: u32,
}

impl Settings {
    /// The checked-in defaults alone.
    pub fn defaults() -> Self {
        Figment::from(Toml::string(DEFAULTS_TOML)).extract().expect("the checked-in defaults are valid")
    }

    /// Loads settings from every source: defaults, `quarry.toml` files, an explicit file,
    /// and the environment.
    pub fn load(explicit_file: Option<&Path>) -> Result<Self> {
        Self::load_from(explicit_file, Env::prefixed("QUARRY_").split("__"))
    }

    fn load_from(explicit_file: Option<&Path>, env: Env) -> Result<Self> {
        if let Some(path) = explicit_file
            && !path.is_file()
        {
            return Err(Error::MissingFile(path.to_path_buf()));
        }
        // The home directory may itself come from a file or the environment, so resolve it
        // first and then read the quarry.toml that lives there.
        let base = Figment::from(Toml::string(DEFAULTS_TOML)).merge(Toml::file("quarry.toml"));
        let base = match explicit_file {
            Some(path) => base.merge(Toml::file(path)),
            None => base,
        };
        let early: Settings = base.clone().merge(env.clone()).extract().map_err(|e| Error::Invalid(e.to_string()))?;
        let home_file = early.home_dir().map(|home| home.join("quarry.toml")).ok();
        let mut figment = Figment::from(Toml::string(DEFAULTS_TOML));
        if let Some(home_file) = home_file {
            figment = figment.merge(Toml::file(home_file));
        }
        figment = figment.merge(Toml::file("quarry.toml"));
        if let Some(path) = explicit_file {
            figment = figment.merge(Toml::file(path));
        }
        let settings: Settings = figment.merge(env).extract().map_err(|e| Error::Invalid(e.to_string()))?;
        settings.check_caps()?;
        settings.check_engine()?;
        Ok(settings)
    }

    /// The engine has what it needs: a Ballista engine names its scheduler (checked when
    /// settings load, before anything is opened).
    pub fn check_engine(&self) -> Result<()> {
        if self.executor.engine == quarry_exec::ExecutionEngine::Ballista && self.executor.ballista_url.is_none() {
            return Err(Error::Invalid(
                "[executor] engine = \"ballista\" needs ballista_url = \"df://HOST:PORT\", the address of a \
                 `quarry-cluster scheduler` (or QUARRY_EXECUTOR__BALLISTA_URL)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Overlapping caps agree: the largest LIMIT the policy admits is at most the rows the
    /// executor returns (checked when settings load).
    pub fn check_caps(&self) -> Result<()> {
        let rows = u64::try_from(self.executor.max_result_rows).unwrap_or(u64::MAX);
        if self.policy.max_limit > rows {
            return Err(Error::Caps {
                max_limit: self.policy.max_limit,
                max_result_rows: self.executor.max_result_rows,
            });
        }
        Ok(())
    }

    /// The data directory.
    pub fn home_dir(&self) -> Result<PathBuf> {
        if !self.home.is_empty() {
            return Ok(PathBuf::from(&self.home));
        }
        directories::ProjectDirs::from("", "", "quarry").map(|dirs| dirs.data_dir().to_path_buf()).ok_or(Error::NoHome)
    }

    /// Where snapshots are installed.
    pub fn snapshots_dir(&self) -> Result<PathBuf> {
        Ok(self.home_dir()?.join("snapshots"))
    }

    /// Where conversations are kept between runs: `<home>/conversations`.
    pub fn conversations_dir(&self) -> Result<PathBuf> {
        Ok(self.home_dir()?.join("conversations"))
    }

    /// Where the embedded vector store keeps its collections: `<home>/index`.
    pub fn index_dir(&self) -> Result<PathBuf> {
        Ok(self.home_dir()?.join("index"))
    }

    /// The semantic layer file, if one is configured.
    pub fn semantic_layer_path(&self) -> Option<PathBuf> {
        (!self.semantic_layer.is_empty()).then(|| PathBuf::from(&self.semantic_layer))
    }
}

// figment::Jail closures must return figment's own error type, which is large.
#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_file_matches_library_defaults() {
        let settings = Settings::defaults();
        assert_eq!(settings.retrieval, RetrievalConfig::default());
        assert_eq!(settings.model, ModelConfig::default());
        assert_eq!(settings.synthesis, SynthesisSettings::default());
        assert_eq!(settings.cache, CacheSettings::default());
        assert_eq!(settings.synthesis.effective_route(), Route::BuiltinOnly);
        assert_eq!(settings.policy, PolicyConfig::default());
        assert_eq!(settings.executor, ExecutorConfig::default());
        assert_eq!(settings.isolation, IsolationConfig::default());
        assert_eq!(settings.demo, DemoSettings { seed: 42, scale: 1 });
        assert_eq!(settings.server, ServerSettings::default());
        assert_eq!(settings.storage, StoreConfig::default());
    }

    #[test]
    fn the_ballista_engine_is_chosen_from_the_environment_and_needs_its_scheduler() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("QUARRY_EXECUTOR__ENGINE", "ballista");
            let error = Settings::load(None).expect_err("no scheduler named").to_string();
            assert!(error.contains("QUARRY_EXECUTOR__BALLISTA_URL"), "{error}");
            jail.set_env("QUARRY_EXECUTOR__BALLISTA_URL", "df://scheduler:50050");
            let settings = Settings::load(None).expect("loads");
            assert_eq!(settings.executor.engine, quarry_exec::ExecutionEngine::Ballista);
            assert_eq!(settings.executor.ballista_url.as_deref(), Some("df://scheduler:50050"));
            Ok(())
        });
    }

    #[test]
    fn a_policy_limit_above_the_executors_rows_is_refused_when_settings_load() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("QUARRY_POLICY__MAX_LIMIT", "20000");
            let error = Settings::load(None).expect_err("the caps disagree").to_string();
            assert!(error.contains("policy.max_limit (20000)") && error.contains("executor.max_result_rows (10000)"));
            assert!(error.contains("raise executor.max_result_rows"), "{error}");
            jail.set_env("QUARRY_EXECUTOR__MAX_RESULT_ROWS", "20000");
            assert_eq!(Settings::load(None).expect("the caps agree").policy.max_limit, 20_000);
            Ok(())
        });
        Settings::defaults().check_caps().expect("the defaults agree");
        Settings::defaults().check_engine().expect("the default engine needs nothing");
        let mut ballista = Settings::defaults();
        ballista.executor.engine = quarry_exec::ExecutionEngine::Ballista;
        let message = ballista.check_engine().expect_err("no scheduler named").to_string();
        assert!(message.contains("ballista_url"), "{message}");
        ballista.executor.ballista_url = Some("df://localhost:50050".into());
        ballista.check_engine().expect("a scheduler named");
    }

    #[test]
    fn environment_overrides_nested_fields() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("QUARRY_EXECUTOR__TIMEOUT_MS", "1234");
            jail.set_env("QUARRY_HOME", "/tmp/somewhere");
            let settings = Settings::load(None).expect("loads");
            assert_eq!(settings.executor.timeout_ms, 1234);
            assert_eq!(settings.home_dir().unwrap(), PathBuf::from("/tmp/somewhere"));
            Ok(())
        });
    }

    #[test]
    fn files_override_defaults_and_home_file_is_read() {
        figment::Jail::expect_with(|jail| {
            jail.create_dir("home")?;
            jail.create_file("home/quarry.toml", "[demo]\nseed = 7\nscale = 1\n")?;
            jail.create_file("quarry.toml", "snapshot = \"snap-abc\"\n")?;
            let home = jail.directory().join("home");
            jail.set_env("QUARRY_HOME", home.display());
            let settings = Settings::load(None).expect("loads");
            assert_eq!(settings.demo.seed, 7);
            assert_eq!(settings.snapshot, "snap-abc");
            Ok(())
        });
    }

    #[test]
    fn unknown_fields_are_rejected_with_a_pointer_to_the_docs() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("quarry.toml", "[executor]\ntimeout = 5\n")?;
            let error = Settings::load(None).unwrap_err().to_string();
            assert!(error.contains("timeout"), "{error}");
            assert!(error.contains("quarry.defaults.toml"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        let error = Settings::load(Some(Path::new("/nonexistent/quarry.toml"))).unwrap_err();
        assert!(matches!(error, Error::MissingFile(_)));
    }
}
