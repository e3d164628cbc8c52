//! A console command line → arguments, split as `sh` splits words, without a shell: quotes and
//! backslashes work as in `sh`; variables, globs, `;`, pipes and redirections are not interpreted and
//! reach the command as the characters they are. Pure.

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    #[error("the command is empty: send a JSON string such as \"migrate --force\"")]
    Empty,
    #[error("the command has an unclosed {0} quote")]
    UnclosedQuote(&'static str),
    #[error("the command ends with a lone backslash")]
    TrailingBackslash,
    #[error("the command contains a NUL character, which no program argument can hold")]
    Nul,
}

/// Splits `command` into arguments.
pub fn split(command: &str) -> Result<Vec<String>, ArgsError> {
    if command.contains('\0') {
        return Err(ArgsError::Nul);
    }
    let mut args = Vec::new();
    // The argument being built; `None` between arguments (so `''` still makes an empty argument).
    let mut current: Option<String> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(arg) = current.take() {
                    args.push(arg);
                }
            }
            '\'' => {
                let arg = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => arg.push(c),
                        None => return Err(ArgsError::UnclosedQuote("single")),
                    }
                }
            }
            '"' => double_quoted(&mut chars, current.get_or_insert_with(String::new))?,
            '\\' => match chars.next() {
                // A backslash-newline joins lines, as in sh.
                Some('\n') => {}
                Some(c) => current.get_or_insert_with(String::new).push(c),
                None => return Err(ArgsError::TrailingBackslash),
            },
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    args.extend(current);
    if args.is_empty() {
        return Err(ArgsError::Empty);
    }
    Ok(args)
}

/// Inside double quotes a backslash escapes only `"`, `\`, `$`, `` ` `` and a newline (sh's rule).
fn double_quoted(chars: &mut std::str::Chars<'_>, arg: &mut String) -> Result<(), ArgsError> {
    loop {
        match chars.next() {
            Some('"') => return Ok(()),
            Some('\\') => match chars.next() {
                Some(c @ ('"' | '\\' | '$' | '`')) => arg.push(c),
                Some('\n') => {}
                Some(c) => {
                    arg.push('\\');
                    arg.push(c);
                }
                None => return Err(ArgsError::UnclosedQuote("double")),
            },
            Some(c) => arg.push(c),
            None => return Err(ArgsError::UnclosedQuote("double")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(command: &str) -> Vec<String> {
        split(command).unwrap_or_else(|e| panic!("{command:?}: {e}"))
    }

    #[test]
    fn words_and_quotes_as_sh_splits_them() {
        assert_eq!(ok("migrate --force"), ["migrate", "--force"]);
        assert_eq!(ok("  cache:clear\t\n"), ["cache:clear"]);
        assert_eq!(
            ok(r#"app:greet "Ada Lovelace" 'it''s' x"y"z"#),
            ["app:greet", "Ada Lovelace", "its", "xyz"]
        );
        assert_eq!(ok(r#"say "a \"b\" \$c \n""#), ["say", r#"a "b" $c \n"#]);
        assert_eq!(ok(r"one\ arg two\\"), ["one arg", r"two\"]);
        assert_eq!(ok("a '' \"\" b"), ["a", "", "", "b"]);
        assert_eq!(ok("a\\\nb"), ["ab"]);
    }

    #[test]
    fn shell_syntax_is_passed_on_literally() {
        assert_eq!(
            ok("tinker --execute=$HOME; rm -rf * | cat > x"),
            [
                "tinker",
                "--execute=$HOME;",
                "rm",
                "-rf",
                "*",
                "|",
                "cat",
                ">",
                "x"
            ]
        );
        assert_eq!(ok("echo é ✓"), ["echo", "é", "✓"]);
    }

    #[test]
    fn malformed_commands_are_named() {
        assert_eq!(split(""), Err(ArgsError::Empty));
        assert_eq!(split("  \n "), Err(ArgsError::Empty));
        assert_eq!(split("say 'hi"), Err(ArgsError::UnclosedQuote("single")));
        assert_eq!(split("say \"hi"), Err(ArgsError::UnclosedQuote("double")));
        assert_eq!(split("say \"hi\\"), Err(ArgsError::UnclosedQuote("double")));
        assert_eq!(split("say hi\\"), Err(ArgsError::TrailingBackslash));
        assert_eq!(split("say 'a\0b'"), Err(ArgsError::Nul));
    }
}
