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
    let stdin = std::io::stdin();
    let mut value = if stdin.is_terminal() {
        rpassword::prompt_password(format!("{key} for {name}: "))
            .context("could not read the value from the terminal")?
    } else {
        let mut buf = String::new();
        stdin
            .lock()
            .read_to_string(&mut buf)
            .context("could not read the value from stdin (it must be UTF-8)")?;
        buf
    };
    // `echo value | gatehouse secret set` adds one line ending; drop just that.
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    if value.is_empty() {
        bail!(
            "the value is empty; pass it on stdin, e.g. `printf %s \"$TOKEN\" | gatehouse secret set {name} {key}`"
        );
    }
    Ok(SecretValue::new(value))
}
