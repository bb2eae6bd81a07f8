//! Where connected entries point: `gatehouse run NAME`, or the gateway's
//! URL with the client's bearer token.

use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::super::{Client, Entry};
use crate::SecretValue;

/// How `clients connect` routes a client's entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Via {
    /// Each entry launches `gatehouse run NAME` (every client).
    #[default]
    Stdio,
    /// Each entry is the gateway's URL for the server, with the client's
    /// bearer token, where the client takes URLs; `gatehouse run NAME`
    /// where it does not (Claude Desktop).
    Gateway,
}

/// What connected entries point at.
#[derive(Debug, Clone)]
pub struct Target {
    /// The `gatehouse` binary stdio entries launch.
    gatehouse: String,
    /// The gateway's port and this client's token, for a gateway connect.
    gateway: Option<(u16, SecretValue)>,
}

impl Target {
    /// Entries launch `gatehouse run NAME` from `gatehouse` (an absolute
    /// path).
    pub fn stdio(gatehouse: &Path) -> Target {
        Target {
            gatehouse: gatehouse.to_string_lossy().into_owned(),
            gateway: None,
        }
    }

    /// Entries of clients that take URLs become the gateway's URL on
    /// `port`, with `token` (the client's own, see
    /// [`Engine::gateway_token`](crate::Engine::gateway_token)) as the
    /// bearer; the others launch `gatehouse`.
    pub fn gateway(gatehouse: &Path, port: u16, token: SecretValue) -> Target {
        Target {
            gateway: Some((port, token)),
            ..Target::stdio(gatehouse)
        }
    }

    /// The bearer token this target writes into configs, if any: what a
    /// preview must hide.
    pub fn token(&self) -> Option<&str> {
        self.gateway.as_ref().map(|(_, token)| token.expose())
    }

    /// The URL form for `client`'s entries, when this target gives one.
    pub(in crate::clients) fn url_form(&self, client: Client) -> Option<UrlForm<'_>> {
        let (port, token) = self.gateway.as_ref()?;
        client.takes_url().then_some(UrlForm {
            port: *port,
            token: token.expose(),
        })
    }

    /// What a routed `entry` should become, as the Gatehouse server name,
    /// or `None` when it is in this target's form already: a stdio entry
    /// for a stdio connect, the same URL and token for a gateway one.
    fn reroute<'e>(&self, client: Client, entry: &'e Entry) -> Option<&'e str> {
        let name = entry.routed_to()?;
        let done = match self.url_form(client) {
            None => entry.launched().is_some(),
            Some(form) => {
                entry.url.as_deref() == Some(form.url(name).as_str())
                    && entry.headers.iter().any(|(k, v)| {
                        k.eq_ignore_ascii_case("authorization") && *v == form.bearer()
                    })
            }
        };
        (!done).then_some(name)
    }

    /// The Gatehouse server `entry` is rewritten to, if it is: a routed
    /// entry not yet in this target's form keeps its server; another entry
    /// gets the one `name` gives (the registered server), if any.
    pub(in crate::clients) fn server_for(
        &self,
        client: Client,
        entry: &Entry,
        name: &dyn Fn(&Entry) -> Option<String>,
    ) -> Option<String> {
        if entry.routed() {
            return self.reroute(client, entry).map(str::to_string);
        }
        name(entry).filter(|_| super::routable(entry))
    }

    /// The `gatehouse` binary.
    pub(in crate::clients) fn gatehouse(&self) -> &str {
        &self.gatehouse
    }
}

/// The gateway's address and a client's token, as a connected entry holds
/// them.
pub(in crate::clients) struct UrlForm<'a> {
    port: u16,
    token: &'a str,
}

impl UrlForm<'_> {
    /// The gateway's URL for `server`.
    pub(in crate::clients) fn url(&self, server: &str) -> String {
        format!("http://127.0.0.1:{}/mcp/{server}", self.port)
    }

    /// The `Authorization` header's value.
    pub(in crate::clients) fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}
