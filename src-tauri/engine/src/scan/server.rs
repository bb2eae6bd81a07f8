//! Scanning a registered server's tools: what `gatehouse scan NAME` and the
//! app's server page show.

use serde_json::Value;

use super::{ToolScan, scan_tools};
use crate::{Engine, Result};

impl Engine {
    /// Scans the tools `server` listed last (none if it never ran), in name
    /// order. Fails if the server is not registered.
    pub fn scan_server(&self, server: String) -> Result<Vec<ToolScan>> {
        let tools = {
            let store = self.store();
            store.server(&server)?;
            store.tools(&server)?
        };
        Ok(scan_tools(&Value::Array(tools.into_values().collect())))
    }
}
