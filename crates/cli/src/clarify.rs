//! What `quarry ask` does when quarry asks back: the options are listed by number
//! ([`crate::output::print_answer`]); at a terminal the user picks one, which is asked as the
//! conversation's next turn, and elsewhere a hint says which command asks one.

use std::io::{self, BufRead, Write};

use quarry_answer::{Answer, AnswerStatus};

/// Asked after the numbered options at a terminal.
pub const PROMPT: &str = "Pick a number (Enter to skip): ";

/// The options of a clarification; empty for any other answer.
pub fn options(answer: &Answer) -> &[String] {
    match (&answer.status, &answer.clarification) {
        (AnswerStatus::NeedsClarification, Some(clarification)) => &clarification.options,
        _ => &[],
    }
}

/// Prompts on `output` and reads `input` until a valid pick among `count` options (its index)
/// or an empty line or the end of input (`None`: skipped). An invalid entry is answered with
/// what was wrong, and the prompt comes again.
pub fn read_pick(input: &mut impl BufRead, output: &mut impl Write, count: usize) -> io::Result<Option<usize>> {
    loop {
        write!(output, "{PROMPT}")?;
        output.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            // The cursor is still after the prompt.
            writeln!(output)?;
            return Ok(None);
        }
        match parse_pick(&line, count) {
            Ok(pick) => return Ok(pick),
            Err(problem) => writeln!(output, "{problem}")?,
        }
    }
}

/// One line typed at the prompt: `Ok(None)` when blank, the index of a number from 1 to
/// `count`, or what is wrong with it.
pub fn parse_pick(line: &str, count: usize) -> Result<Option<usize>, String> {
    let entry = line.trim();
    if entry.is_empty() {
        return Ok(None);
    }
    let range = if count == 1 { "1".to_string() } else { format!("a number from 1 to {count}") };
    match entry.parse::<usize>() {
        Ok(number) if (1..=count).contains(&number) => Ok(Some(number - 1)),
        Ok(number) => Err(format!("There is no option {number}; type {range}, or press Enter to skip.")),
        Err(_) => Err(format!("'{entry}' is not an option's number; type {range}, or press Enter to skip.")),
    }
}

/// How to ask one of `options` without a terminal to pick at: the `quarry ask` command of the
/// first, in the same conversation and on the same snapshot as the command that asked.
pub fn hint(options: &[String], conversation: Option<&str>, snapshot: Option<&str>) -> Option<String> {
    let first = options.first()?;
    let mut command = format!("quarry ask {}", shell_quoted(first));
    if let Some(id) = conversation {
        command.push_str(&format!(" --conversation {}", shell_quoted(id)));
    }
    if let Some(id) = snapshot {
        command.push_str(&format!(" --snapshot {}", shell_quoted(id)));
    }
    Some(format!("To ask one of them, run it with quarry ask, e.g.: {command}"))
}

/// `text` as one shell word: in double quotes, as people type questions, unless it holds
/// something a shell would expand or end the quotes on there; then in single quotes.
fn shell_quoted(text: &str) -> String {
    let plain = !text.chars().any(|c| matches!(c, '"' | '\\' | '$' | '`' | '!') || c.is_control());
    if plain { format!("\"{text}\"") } else { format!("'{}'", text.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_in_range_picks_and_blank_skips() {
        assert_eq!(parse_pick("1\n", 2), Ok(Some(0)));
        assert_eq!(parse_pick("  2 ", 2), Ok(Some(1)));
        assert_eq!(parse_pick("\n", 2), Ok(None));
        assert_eq!(parse_pick("   ", 2), Ok(None));
    }

    #[test]
    fn a_wrong_entry_says_what_is_wrong() {
        assert_eq!(
            parse_pick("3", 2),
            Err("There is no option 3; type a number from 1 to 2, or press Enter to skip.".into())
        );
        assert_eq!(parse_pick("0", 1), Err("There is no option 0; type 1, or press Enter to skip.".into()));
        assert_eq!(
            parse_pick("signups", 2),
            Err("'signups' is not an option's number; type a number from 1 to 2, or press Enter to skip.".into())
        );
        assert!(parse_pick("-1", 2).is_err());
        assert!(parse_pick("1.5", 2).is_err());
    }

    fn pick(typed: &str, count: usize) -> (Option<usize>, String) {
        let mut output = Vec::new();
        let pick = read_pick(&mut typed.as_bytes(), &mut output, count).unwrap();
        (pick, String::from_utf8(output).unwrap())
    }

    #[test]
    fn the_prompt_comes_again_after_a_wrong_entry() {
        let (picked, shown) = pick("x\n7\n2\n", 2);
        assert_eq!(picked, Some(1));
        assert_eq!(
            shown,
            format!(
                "{PROMPT}'x' is not an option's number; type a number from 1 to 2, or press Enter to skip.\n\
                 {PROMPT}There is no option 7; type a number from 1 to 2, or press Enter to skip.\n{PROMPT}"
            )
        );
    }

    #[test]
    fn enter_or_the_end_of_input_skips() {
        assert_eq!(pick("\n1\n", 2), (None, PROMPT.to_string()));
        assert_eq!(pick("", 2), (None, format!("{PROMPT}\n")));
        assert_eq!(pick("x\n", 2).0, None, "input ending after a wrong entry skips");
    }

    #[test]
    fn the_hint_is_a_command_to_run_as_is() {
        let options = vec!["signups".to_string(), "active users".to_string()];
        assert_eq!(
            hint(&options, None, None).unwrap(),
            "To ask one of them, run it with quarry ask, e.g.: quarry ask \"signups\""
        );
        assert_eq!(
            hint(&options, Some("q3-review"), Some("snap-d3ee")).unwrap(),
            "To ask one of them, run it with quarry ask, e.g.: \
             quarry ask \"signups\" --conversation \"q3-review\" --snapshot \"snap-d3ee\""
        );
        let quoted = vec!["revenue in \"EMEA\" for O'Brien's $team".to_string()];
        assert!(
            hint(&quoted, None, None).unwrap().ends_with(r#"quarry ask 'revenue in "EMEA" for O'\''Brien'\''s $team'"#)
        );
        assert_eq!(hint(&[], None, None), None);
    }
}
