//! The set of loaded plugins and the route table built from their prefixes.

use std::sync::Arc;

use super::LoadedPlugin;

/// Loaded plugins plus routing by longest matching prefix.
#[derive(Default)]
pub struct Registry {
    plugins: Vec<Arc<LoadedPlugin>>,
    /// (prefix, index into `plugins`), longest prefix first.
    routes: Vec<(String, usize)>,
}

impl Registry {
    /// Adds a plugin unless its name or a route prefix collides with a loaded plugin; the
    /// error names both plugins and the colliding prefixes.
    pub fn add(&mut self, plugin: Arc<LoadedPlugin>) -> Result<(), String> {
        for prefix in &plugin.manifest.route_prefixes {
            if let Some((other, idx)) = self
                .routes
                .iter()
                .find(|(other, _)| overlaps(prefix, other))
            {
                let existing = &self.plugins[*idx];
                return Err(format!(
                    "plugin `{}` ({}) claims route prefix `{prefix}`, which collides with `{other}` of plugin `{}` ({})",
                    plugin.manifest.name, plugin.source, existing.manifest.name, existing.source
                ));
            }
        }
        if let Some(existing) = self
            .plugins
            .iter()
            .find(|p| p.manifest.name == plugin.manifest.name)
        {
            return Err(format!(
                "plugin `{}` ({}) has the same name as the plugin loaded from {}",
                plugin.manifest.name, plugin.source, existing.source
            ));
        }
        let idx = self.plugins.len();
        for prefix in &plugin.manifest.route_prefixes {
            self.routes.push((prefix.clone(), idx));
        }
        self.routes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        self.plugins.push(plugin);
        Ok(())
    }

    /// The plugin serving `path`, if any.
    pub fn route(&self, path: &str) -> Option<&Arc<LoadedPlugin>> {
        self.routes
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map(|(_, idx)| &self.plugins[*idx])
    }

    /// All loaded plugins, in load order.
    pub fn plugins(&self) -> &[Arc<LoadedPlugin>] {
        &self.plugins
    }
}

/// Two prefixes collide when one contains the other: requests under the longer one would be
/// ambiguous, so the broker refuses rather than silently shadowing a plugin.
fn overlaps(a: &str, b: &str) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_overlap_when_one_contains_the_other() {
        assert!(overlaps("/v1/qcloud/", "/v1/qcloud/"));
        assert!(overlaps("/v1/qcloud/vpc/", "/v1/qcloud/"));
        assert!(!overlaps("/v1/qcloud/", "/v1/qcloud2/"));
        assert!(!overlaps("/v1/cds/", "/v1/qcloud/"));
    }
}
