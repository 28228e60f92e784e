//! Output for CI logs: GitHub Actions workflow commands (`::error::`, `::warning::`,
//! `::group::`), detected once from `GITHUB_ACTIONS=true`, escaped as the runner expects.
//! Outside GitHub Actions every function here returns `None` and nothing extra is printed.
//!
//! Workflow commands and their escaping:
//! <https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions>
//! (data: `%`, `\r`, `\n`; properties also `:` and `,`).

use std::sync::OnceLock;

/// Where the output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    /// A terminal, a plain log, another CI system: no workflow commands.
    Plain,
    /// GitHub Actions (`GITHUB_ACTIONS=true`): annotations and groups.
    GitHub,
}

impl Ci {
    /// From the value of `GITHUB_ACTIONS`.
    pub fn from_env(github_actions: Option<&str>) -> Ci {
        match github_actions {
            Some("true") => Ci::GitHub,
            _ => Ci::Plain,
        }
    }

    /// This process's CI, read once.
    pub fn detect() -> Ci {
        static CI: OnceLock<Ci> = OnceLock::new();
        *CI.get_or_init(|| Ci::from_env(std::env::var("GITHUB_ACTIONS").ok().as_deref()))
    }

    /// `::error::message`, or `::error title=…::message`.
    pub fn error(self, title: Option<&str>, message: &str) -> Option<String> {
        self.command("error", title, message)
    }

    /// `::warning::message`.
    pub fn warning(self, message: &str) -> Option<String> {
        self.command("warning", None, message)
    }

    /// `::group::name`: the lines up to [`Ci::end_group`] fold into one.
    pub fn group(self, name: &str) -> Option<String> {
        (self == Ci::GitHub).then(|| format!("::group::{}", escape_data(name)))
    }

    pub fn end_group(self) -> Option<String> {
        (self == Ci::GitHub).then(|| "::endgroup::".to_string())
    }

    fn command(self, name: &str, title: Option<&str>, message: &str) -> Option<String> {
        if self != Ci::GitHub {
            return None;
        }
        let props = title
            .map(|t| format!(" title={}", escape_property(t)))
            .unwrap_or_default();
        Some(format!("::{name}{props}::{}", escape_data(message)))
    }
}

/// A command's message: `%`, CR and LF percent-encoded (`%` first, so that it is not encoded twice).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A command's property value: as data, and `:` and `,` too.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_github_actions_set_to_true_turns_workflow_commands_on() {
        assert_eq!(Ci::from_env(Some("true")), Ci::GitHub);
        assert_eq!(Ci::from_env(Some("false")), Ci::Plain);
        assert_eq!(Ci::from_env(None), Ci::Plain);
        assert_eq!(Ci::Plain.error(None, "boom"), None);
        assert_eq!(Ci::Plain.group("plan"), None);
        assert_eq!(Ci::Plain.end_group(), None);
        assert_eq!(Ci::Plain.warning("w"), None);
    }

    #[test]
    fn annotations_escape_percent_and_line_breaks_and_properties_colons_and_commas() {
        let gh = Ci::GitHub;
        assert_eq!(
            gh.error(None, "100% failed\r\nsee x").as_deref(),
            Some("::error::100%25 failed%0D%0Asee x")
        );
        assert_eq!(
            gh.error(
                Some("creating protected_vm.rsv/rg/vm: a, b"),
                "Conflict: busy"
            )
            .as_deref(),
            Some("::error title=creating protected_vm.rsv/rg/vm%3A a%2C b::Conflict: busy")
        );
        assert_eq!(
            gh.warning("multi\nline").as_deref(),
            Some("::warning::multi%0Aline")
        );
        assert_eq!(
            gh.group("Plan: 3 to create").as_deref(),
            Some("::group::Plan: 3 to create")
        );
        assert_eq!(gh.end_group().as_deref(), Some("::endgroup::"));
    }

    #[test]
    fn escaping_encodes_a_percent_once() {
        assert_eq!(escape_data("%0A"), "%250A");
        assert_eq!(escape_property("a:%"), "a%3A%25");
    }
}
