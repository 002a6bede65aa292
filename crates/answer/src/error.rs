/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a question or query got no answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The question is empty, too long or not text.
    #[error("{0}")]
    BadQuestion(String),
    /// The SQL was refused by the policy.
    #[error("the query was refused: {0}")]
    Policy(Box<quarry_sqlguard::PolicyError>),
    /// The query failed in the executor (limits, planning, execution).
    #[error(transparent)]
    Execution(#[from] quarry_exec::Error),
    /// The snapshot could not be found, created or opened.
    #[error(transparent)]
    Snapshot(#[from] quarry_snapshot::Error),
    /// The semantic layer is invalid or does not match the snapshot.
    #[error(transparent)]
    Semantic(#[from] quarry_semantic::Error),
    /// The settings are unusable.
    #[error(transparent)]
    Settings(#[from] quarry_settings::Error),
    /// Retrieval failed (the index could not be built or searched).
    #[error(transparent)]
    Retrieval(#[from] quarry_retrieve::Error),
    /// The chat model failed: unreachable, an HTTP error, or output that is not the JSON asked for.
    #[error(transparent)]
    Model(#[from] quarry_model::Error),
    /// Every SQL the model wrote was refused or failed to plan.
    #[error(
        "the model's SQL was stopped {attempts} time(s); the last error: {last_error}. Rephrase the question, or ask it more simply"
    )]
    RepairsExhausted {
        /// Attempts made.
        attempts: u32,
        /// Why the last one was stopped.
        last_error: String,
    },
    /// A stored conversation could not be read or written, or its id is unusable.
    #[error("{0}")]
    Conversation(String),
    /// The confidence model named in the settings could not be read.
    #[error(
        "cannot use the confidence model {path}: {reason}. Write one with `quarry eval calibrate --out {path}`, or unset synthesis.confidence_model"
    )]
    ConfidenceModel {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// The demo warehouse could not be generated.
    #[error("could not generate the demo warehouse: {0}")]
    Demo(String),
}

impl From<quarry_sqlguard::PolicyError> for Error {
    fn from(error: quarry_sqlguard::PolicyError) -> Self {
        Error::Policy(Box::new(error))
    }
}

impl Error {
    /// A stable snake_case code for APIs and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::BadQuestion(_) => "bad_question",
            Error::Policy(_) => "policy_rejected",
            Error::Execution(e) => e.kind(),
            Error::Snapshot(_) => "snapshot_error",
            Error::Semantic(_) => "semantic_layer_error",
            Error::Settings(_) => "settings_error",
            Error::Demo(_) => "demo_error",
            Error::ConfidenceModel { .. } => "settings_error",
            Error::Conversation(_) => "conversation_error",
            Error::Retrieval(_) => "retrieval_error",
            Error::Model(e) => match e.kind() {
                "unavailable" => "model_unavailable",
                "timeout" => "model_timeout",
                "rate_limited" => "model_rate_limited",
                "malformed_output" => "model_malformed_output",
                "config" => "model_config",
                _ => "model_error",
            },
            Error::RepairsExhausted { .. } => "repairs_exhausted",
        }
    }
}
