//! `quarry chat`: questions read line by line, each answered in the same conversation.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use quarry_answer::ConversationStore;
use quarry_settings::Settings;

use crate::output;

const HELP: &str = "Ask a question, then follow up (\"and in 2024?\", \"break that down by channel\", \
\"only EMEA\", \"show it monthly\"). /new starts over, /quit (or Ctrl-D) leaves.";

/// Reads questions from stdin until it ends or `/quit`, answering each in one conversation that
/// is saved after every turn. Errors are printed and the conversation goes on. Unless the
/// snapshot was chosen on the command line (`explicit_snapshot`), a chat on the demo warehouse
/// starts by naming the user's own snapshots.
pub async fn run(
    settings: &Settings,
    conversation_id: Option<String>,
    explicit_snapshot: bool,
) -> anyhow::Result<ExitCode> {
    let store = ConversationStore::new(settings.conversations_dir()?);
    let id = match conversation_id {
        Some(id) => id,
        None => format!("chat-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S")),
    };
    let mut conversation = store.load(&id)?;
    let pipeline = quarry_bootstrap::open_pipeline(settings).await?;
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        println!("quarry chat, conversation {id} on snapshot {}", pipeline.snapshot().manifest.id);
        println!("{HELP}");
    }
    if !explicit_snapshot && let Some(notice) = crate::own_data::demo_notice(settings, pipeline.snapshot(), false) {
        println!("note: {notice}");
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            print!("\n? ");
            std::io::stdout().flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line?;
        let question = line.trim();
        match question {
            "" => continue,
            "/quit" | "/exit" => break,
            "/new" => {
                conversation = Default::default();
                println!("(a new conversation: earlier turns are forgotten)");
                continue;
            }
            "/help" => {
                println!("{HELP}");
                continue;
            }
            _ => {}
        }
        if !interactive {
            println!("? {question}");
        }
        match pipeline.ask(question, &mut conversation).await {
            Ok(answer) => output::print_answer(&answer),
            Err(error) => eprintln!("error: {error}"),
        }
        store.save(&id, &conversation)?;
    }
    if interactive {
        println!("conversation saved as {id}; continue it with: quarry chat --conversation {id}");
    }
    Ok(ExitCode::SUCCESS)
}
