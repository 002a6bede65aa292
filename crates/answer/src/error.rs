use serde::{Deserialize, Serialize};

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
}

impl From<quarry_sqlguard::PolicyError> for Error {
    fn from(error: quarry_sqlguard::PolicyError) -> Self {
        Error::Policy(Box::new(error))
    }
}

impl From<quarry_synth::SynthesisError> for Error {
    fn from(error: quarry_synth::SynthesisError) -> Self {
        match error {
            quarry_synth::SynthesisError::Model(error) => Error::Model(error),
        }
    }
}

impl From<quarry_synth::ModelFailure> for Error {
    /// The model's route failing where nothing stands in for it (a refusal is an answer, not
    /// an error, but is kept as the model's own error if it ever gets here).
    fn from(failure: quarry_synth::ModelFailure) -> Self {
        match failure {
            quarry_synth::ModelFailure::Refused { message } => Error::Model(quarry_model::Error::Refused { message }),
            quarry_synth::ModelFailure::Exhausted { attempts, last_error } => {
                Error::RepairsExhausted { attempts, last_error }
            }
            quarry_synth::ModelFailure::Synthesis(error) => error.into(),
        }
    }
}

/// What the model is told of SQL the pipeline stopped: the error's kind and message.
impl quarry_synth::Rejection for Error {
    fn code(&self) -> String {
        self.kind().as_str().to_string()
    }
}

impl Error {
    /// The kind of failure, for APIs, reports and the HTTP status the server maps it to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::BadQuestion(_) => ErrorKind::BadQuestion,
            Error::Policy(_) => ErrorKind::PolicyRejected,
            Error::Execution(error) => ErrorKind::from(error),
            Error::Snapshot(_) => ErrorKind::SnapshotError,
            Error::Semantic(_) => ErrorKind::SemanticLayerError,
            Error::Conversation(_) => ErrorKind::ConversationError,
            Error::Retrieval(_) => ErrorKind::RetrievalError,
            Error::Model(error) => ErrorKind::from(error),
            Error::RepairsExhausted { .. } => ErrorKind::RepairsExhausted,
        }
    }
}

/// Every way a question or query can fail, one stable snake_case code each.
///
/// The pipeline's errors ([`Error::kind`]), the verdicts of stopped SQL attempts and the
/// server's HTTP statuses are all derived from this one type, so that a new failure cannot
/// be added without deciding how each of them reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The question is empty, too long or not text.
    BadQuestion,
    /// The SQL policy refused the query.
    PolicyRejected,
    /// Every SQL the model wrote was stopped.
    RepairsExhausted,
    /// The query needed more memory, or built a value larger, than the executor allows.
    ResourceLimit,
    /// The query's result (or one of its cells) is larger than the executor returns.
    ResultTooLarge,
    /// The query ran longer than the executor allows.
    Timeout,
    /// The worker process running the query died of something other than memory (a
    /// segmentation fault, a stack overflow); a new worker took its place.
    WorkerCrashed,
    /// A join would have produced too many rows.
    CartesianJoin,
    /// The executor's sandbox refused the query.
    Forbidden,
    /// The query does not plan against the snapshot (unknown column, type mismatch).
    PlanError,
    /// The query failed while running.
    ExecutionError,
    /// The snapshot could not be found, created or opened.
    SnapshotError,
    /// The semantic layer is invalid or does not match the snapshot.
    SemanticLayerError,
    /// A setting (or the confidence model it names) is unusable.
    SettingsError,
    /// The demo warehouse could not be generated.
    DemoError,
    /// A stored conversation could not be read or written.
    ConversationError,
    /// The retrieval index could not be built or searched.
    RetrievalError,
    /// The model endpoint could not be reached.
    ModelUnavailable,
    /// The model endpoint did not answer in time.
    ModelTimeout,
    /// The model endpoint limited the rate of requests (HTTP 429).
    ModelRateLimited,
    /// The model's output is not the JSON asked for.
    ModelMalformedOutput,
    /// The model's settings are wrong.
    ModelConfig,
    /// The model endpoint answered with another HTTP error.
    ModelError,
    /// The model said the data cannot answer the question.
    ModelRefused,
    /// The cluster that runs queries (a Ballista scheduler and its executors) is unreachable.
    ClusterUnavailable,
    /// A bug or an environment problem.
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 26] = [
        ErrorKind::BadQuestion,
        ErrorKind::PolicyRejected,
        ErrorKind::RepairsExhausted,
        ErrorKind::ResourceLimit,
        ErrorKind::ResultTooLarge,
        ErrorKind::Timeout,
        ErrorKind::WorkerCrashed,
        ErrorKind::CartesianJoin,
        ErrorKind::Forbidden,
        ErrorKind::PlanError,
        ErrorKind::ExecutionError,
        ErrorKind::SnapshotError,
        ErrorKind::SemanticLayerError,
        ErrorKind::SettingsError,
        ErrorKind::DemoError,
        ErrorKind::ConversationError,
        ErrorKind::RetrievalError,
        ErrorKind::ModelUnavailable,
        ErrorKind::ModelTimeout,
        ErrorKind::ModelRateLimited,
        ErrorKind::ModelMalformedOutput,
        ErrorKind::ModelConfig,
        ErrorKind::ModelError,
        ErrorKind::ModelRefused,
        ErrorKind::ClusterUnavailable,
        ErrorKind::Internal,
    ];

    /// The stable snake_case code (`policy_rejected`, `model_timeout`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadQuestion => "bad_question",
            ErrorKind::PolicyRejected => "policy_rejected",
            ErrorKind::RepairsExhausted => "repairs_exhausted",
            ErrorKind::ResourceLimit => "resource_limit",
            ErrorKind::ResultTooLarge => "result_too_large",
            ErrorKind::Timeout => "timeout",
            ErrorKind::WorkerCrashed => "worker_crashed",
            ErrorKind::CartesianJoin => "cartesian_join",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::PlanError => "plan_error",
            ErrorKind::ExecutionError => "execution_error",
            ErrorKind::SnapshotError => "snapshot_error",
            ErrorKind::SemanticLayerError => "semantic_layer_error",
            ErrorKind::SettingsError => "settings_error",
            ErrorKind::DemoError => "demo_error",
            ErrorKind::ConversationError => "conversation_error",
            ErrorKind::RetrievalError => "retrieval_error",
            ErrorKind::ModelUnavailable => "model_unavailable",
            ErrorKind::ModelTimeout => "model_timeout",
            ErrorKind::ModelRateLimited => "model_rate_limited",
            ErrorKind::ModelMalformedOutput => "model_malformed_output",
            ErrorKind::ModelConfig => "model_config",
            ErrorKind::ModelError => "model_error",
            ErrorKind::ModelRefused => "model_refused",
            ErrorKind::ClusterUnavailable => "cluster_unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&quarry_exec::Error> for ErrorKind {
    fn from(error: &quarry_exec::Error) -> Self {
        use quarry_exec::Error as Exec;
        match error {
            Exec::Plan { .. } => ErrorKind::PlanError,
            Exec::Forbidden { .. } => ErrorKind::Forbidden,
            Exec::CartesianJoin { .. } => ErrorKind::CartesianJoin,
            Exec::MemoryLimit { .. } | Exec::ValueTooLarge { .. } => ErrorKind::ResourceLimit,
            // Told apart from the memory limit: the query ran, only its answer is too big to give.
            Exec::ResultTooLarge { .. } | Exec::CellTooLarge { .. } => ErrorKind::ResultTooLarge,
            Exec::Timeout { .. } => ErrorKind::Timeout,
            Exec::Crashed { .. } => ErrorKind::WorkerCrashed,
            Exec::ClusterUnavailable { .. } => ErrorKind::ClusterUnavailable,
            Exec::Execution { .. } => ErrorKind::ExecutionError,
            Exec::Snapshot(_) => ErrorKind::SnapshotError,
            Exec::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl From<&quarry_model::Error> for ErrorKind {
    fn from(error: &quarry_model::Error) -> Self {
        use quarry_model::Error as Model;
        match error {
            Model::Config { .. } => ErrorKind::ModelConfig,
            Model::Unavailable { .. } => ErrorKind::ModelUnavailable,
            Model::Timeout { .. } => ErrorKind::ModelTimeout,
            Model::Http { status: 429, .. } => ErrorKind::ModelRateLimited,
            Model::Http { .. } => ErrorKind::ModelError,
            Model::MalformedOutput { .. } => ErrorKind::ModelMalformedOutput,
            Model::Refused { .. } => ErrorKind::ModelRefused,
        }
    }
}

impl From<&quarry_sqlguard::PolicyError> for ErrorKind {
    fn from(_: &quarry_sqlguard::PolicyError) -> Self {
        ErrorKind::PolicyRejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ALL` is the list the server's status test walks: a kind missing from it would go unchecked.
    #[test]
    fn all_lists_every_kind_once_with_a_unique_code() {
        let position = |kind: ErrorKind| -> usize {
            // Exhaustive: a new kind does not compile until it is given a place here and in ALL.
            match kind {
                ErrorKind::BadQuestion => 0,
                ErrorKind::PolicyRejected => 1,
                ErrorKind::RepairsExhausted => 2,
                ErrorKind::ResourceLimit => 3,
                ErrorKind::ResultTooLarge => 4,
                ErrorKind::Timeout => 5,
                ErrorKind::WorkerCrashed => 6,
                ErrorKind::CartesianJoin => 7,
                ErrorKind::Forbidden => 8,
                ErrorKind::PlanError => 9,
                ErrorKind::ExecutionError => 10,
                ErrorKind::SnapshotError => 11,
                ErrorKind::SemanticLayerError => 12,
                ErrorKind::SettingsError => 13,
                ErrorKind::DemoError => 14,
                ErrorKind::ConversationError => 15,
                ErrorKind::RetrievalError => 16,
                ErrorKind::ModelUnavailable => 17,
                ErrorKind::ModelTimeout => 18,
                ErrorKind::ModelRateLimited => 19,
                ErrorKind::ModelMalformedOutput => 20,
                ErrorKind::ModelConfig => 21,
                ErrorKind::ModelError => 22,
                ErrorKind::ModelRefused => 23,
                ErrorKind::ClusterUnavailable => 24,
                ErrorKind::Internal => 25,
            }
        };
        for (index, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(position(*kind), index, "{kind}");
            let json = serde_json::to_value(kind).expect("serializes");
            assert_eq!(json, kind.as_str(), "the JSON code is the string code");
        }
        let codes: std::collections::BTreeSet<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn executor_limits_keep_their_own_kinds() {
        let result = quarry_exec::Error::ResultTooLarge { limit: 10 };
        assert_eq!(Error::from(result).kind(), ErrorKind::ResultTooLarge);
        let memory = quarry_exec::Error::MemoryLimit { limit_mb: 1, message: "m".into() };
        assert_eq!(Error::from(memory).kind(), ErrorKind::ResourceLimit);
        let timeout = quarry_exec::Error::Timeout { timeout_ms: 5 };
        assert_eq!(Error::from(timeout).kind(), ErrorKind::Timeout);
    }

    #[test]
    fn model_failures_have_kinds_of_their_own() {
        let kind = |error| Error::Model(error).kind();
        assert_eq!(kind(quarry_model::Error::Http { status: 429, message: "m".into() }), ErrorKind::ModelRateLimited);
        assert_eq!(kind(quarry_model::Error::Http { status: 500, message: "m".into() }), ErrorKind::ModelError);
        assert_eq!(kind(quarry_model::Error::Refused { message: "m".into() }), ErrorKind::ModelRefused);
        assert_eq!(kind(quarry_model::Error::config("x")), ErrorKind::ModelConfig);
    }
}
