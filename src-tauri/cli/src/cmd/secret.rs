//! `gatehouse secret set NAME KEY`: the value comes from stdin (prompted
//! without echo on a terminal), goes to the keychain, and nowhere else.

use std::io::{IsTerminal, Read};

use anyhow::{Context, bail};
use gatehouse_engine::SecretValue;

use crate::cli::SecretCommand;

pub fn run(cmd: SecretCommand) -> anyhow::Result<()> {
    let SecretCommand::Set { name, key } = cmd;
    let engine = super::engine()?;
    let value = read_value(&name, &key)?;
    engine.secret_set(&name, &key, &value)?;
    eprintln!("stored {key} for {name} in the OS keychain");
    Ok(())
}

fn read_value(name: &str, key: &str) -> anyhow::Result<SecretValue> {
    let value = read_secret(&format!("{key} for {name}: "), "the value")?;
    if value.is_empty() {
        bail!(
            "the value is empty; pass it on stdin, e.g. `printf %s \"$TOKEN\" | gatehouse secret set {name} {key}`"
        );
    }
    Ok(SecretValue::new(value))
}

/// A secret from stdin: prompted for with `prompt`, without echo, at a
/// terminal; otherwise all of stdin with one trailing line ending dropped
/// (`echo value | gatehouse ...` adds one). `what` names it in errors.
pub(crate) fn read_secret(prompt: &str, what: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let mut value = if stdin.is_terminal() {
        rpassword::prompt_password(prompt)
            .with_context(|| format!("could not read {what} from the terminal"))?
    } else {
        let mut buf = String::new();
        stdin
            .lock()
            .read_to_string(&mut buf)
            .with_context(|| format!("could not read {what} from stdin (it must be UTF-8)"))?;
        buf
    };
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    Ok(value)
}
