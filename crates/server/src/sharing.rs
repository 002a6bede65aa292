//! Share links: a conversation is readable by its owner only, until the owner shares it. The
//! share's token, in a link to the web chat, lets whoever holds it read the conversation and
//! give feedback on its answers; continuing it stays the owner's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::identity::User;
use crate::state::AppState;

/// A conversation's share link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShareView {
    /// The shared conversation.
    pub conversation_id: String,
    /// The token: give it as `?share=` to read the conversation, or as `share` with feedback.
    pub token: String,
    /// The web chat's link to the conversation, with the token.
    pub url: String,
    /// When the conversation was first shared.
    pub created_at: DateTime<Utc>,
}

/// The share of `user`'s conversation `conversation_id`, created on first use (every link to a
/// conversation is the same), and whether this call created it. Someone else's conversation is
/// not found, as a missing one is.
pub async fn share(state: &AppState, user: &User, conversation_id: &str) -> Result<(ShareView, bool), ApiError> {
    let (share, created) =
        state.store().share_conversation(conversation_id, &user.id).await.map_err(|error| match error.kind() {
            "not_found" => ApiError::NotFound(format!("there is no conversation {conversation_id} of yours to share")),
            _ => ApiError::Store(error),
        })?;
    let url = format!("{}/#c={}&share={}", state.base_url(), share.conversation_id, share.token);
    Ok((
        ShareView { conversation_id: share.conversation_id, token: share.token, url, created_at: share.created_at },
        created,
    ))
}
