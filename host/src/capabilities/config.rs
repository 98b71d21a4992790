//! The `config` capability: the values in force of the settings a plugin declares.

use super::HostState;
use crate::bindings::config;

impl config::Host for HostState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        self.request.control.check()?;
        Ok(self.plugin.settings.get(&name).cloned())
    }
}
