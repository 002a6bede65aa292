/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One thing wrong with a chart spec, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    /// JSON path of the offending part, e.g. `encoding.x.field`.
    pub path: String,
    /// What is wrong and what to do instead.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() { write!(f, "{}", self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

/// Why a spec was refused: every problem found, not just the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The problems, in the order they were found.
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.problems.iter().map(Problem::to_string).collect();
        write!(f, "{}", parts.join("; "))
    }
}

impl std::error::Error for SpecError {}

/// Why a chart could not be checked, prepared or drawn.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec is not a Vega-Lite v4 spec this crate can render over this data.
    #[error("the chart spec was refused: {0}")]
    Spec(SpecError),
    /// The data cannot be charted (unsupported column types, too many rows or categories).
    #[error("{0}")]
    Data(String),
    /// The requested size is unusable.
    #[error("{0}")]
    Size(String),
    /// Drawing failed inside the plotting backend (a bug: please report it).
    #[error("drawing the chart failed: {0}")]
    Render(String),
    /// The PNG encoder failed (a bug: please report it).
    #[error("encoding the PNG failed: {0}")]
    Encode(String),
}

impl From<SpecError> for Error {
    fn from(error: SpecError) -> Self {
        Error::Spec(error)
    }
}

impl Error {
    /// A stable snake_case code for APIs and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Spec(_) => "chart_spec_rejected",
            Error::Data(_) => "chart_data_unusable",
            Error::Size(_) => "chart_size_invalid",
            Error::Render(_) => "chart_render_failed",
            Error::Encode(_) => "chart_encode_failed",
        }
    }
}
