//! The one error type that crosses into the UI.

use serde::Serialize;
use ts_rs::TS;

/// An error as the UI sees it: a stable code to branch on and a message to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct IpcError {
    /// Stable, machine-readable code, e.g. `server_exists`.
    pub code: String,
    /// A sentence for the person.
    pub message: String,
}

impl From<crate::Error> for IpcError {
    fn from(e: crate::Error) -> Self {
        Self {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_message() {
        let e = IpcError::from(crate::Error::ServerExists("demo".into()));
        insta::assert_json_snapshot!(e, @r#"
        {
          "code": "server_exists",
          "message": "a server named 'demo' already exists; remove it first with `gatehouse server remove demo`"
        }
        "#);
    }
}
