//! The types of a risk assessment: what a tool says about itself, what
//! the scanner found, and the tier, reasons and flow marks that come out.

use super::*;

/// [`assess`] reads. Deserialises from the MCP `Tool` object (unknown fields
/// ignored, annotation values of the wrong type treated as absent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolDefinition {
    /// The tool's name, as called.
    pub name: String,
    /// Its display name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the server says it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema of its arguments (`Value::Null` if absent).
    #[serde(default)]
    pub input_schema: Value,
    /// The server's hints about its behaviour.
    #[serde(default)]
    pub annotations: ToolAnnotations,
}

impl ToolDefinition {
    /// Reads a tool from a `tools/list` entry; `None` if it has no string `name`.
    pub fn from_json(tool: &Value) -> Option<ToolDefinition> {
        tool.get("name")?.as_str()?;
        serde_json::from_value(tool.clone()).ok()
    }
}

/// MCP tool annotations. `None` means the server did not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    /// The tool does not modify its environment.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub read_only_hint: Option<bool>,
    /// The tool may perform destructive updates.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub destructive_hint: Option<bool>,
    /// Repeating a call with the same arguments has no further effect.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub idempotent_hint: Option<bool>,
    /// The tool interacts with an open world of external entities.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub open_world_hint: Option<bool>,
}

/// A boolean, or `None` for anything else: a malformed hint is no hint.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(Value::deserialize(d)?.as_bool())
}

/// What the scanner found in a tool's definition, as an input to [`assess`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ScanFindings {
    /// How many findings.
    pub count: u32,
    /// The severity of the worst one, on the same scale as tiers. `None`
    /// with a non-zero count counts as flagged: unknown is not harmless.
    pub worst: Option<RiskTier>,
}

impl ScanFindings {
    /// No findings.
    pub const NONE: ScanFindings = ScanFindings {
        count: 0,
        worst: None,
    };

    /// Whether the findings flag the tool (which makes it critical).
    pub fn flagged(self) -> bool {
        self.count > 0 && self.worst.is_none_or(|w| w >= RiskTier::Medium)
    }
}

/// Where a piece of evidence was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Evidence {
    /// The tool's name.
    Name,
    /// The tool's title.
    Title,
    /// The tool's description.
    Description,
    /// The tool's input schema.
    Schema,
    /// The server's annotations.
    Annotations,
    /// The scanner's findings.
    Scanner,
    /// The definition as a whole (for "nothing found").
    Definition,
}

/// What a [`RiskReason`] is about: a stable code for the UI and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum RiskSignal {
    /// Deletes or destroys data.
    Destroys,
    /// Runs commands or code.
    Executes,
    /// Moves money or buys things.
    MovesMoney,
    /// Stops processes or machines.
    Disrupts,
    /// Writes, edits, moves or renames.
    Writes,
    /// Sends data or messages out.
    Sends,
    /// Deploys or releases software.
    Deploys,
    /// Creates, starts or changes something small.
    Changes,
    /// Reaches the network.
    Network,
    /// `destructiveHint: true`.
    HintDestructive,
    /// `readOnlyHint: false`.
    HintNotReadOnly,
    /// `idempotentHint: false`.
    HintNotIdempotent,
    /// `openWorldHint: true`.
    HintOpenWorld,
    /// A reassuring hint the definition contradicts; it was not trusted.
    HintOverruled,
    /// The scanner flagged the tool.
    ScannerFlagged,
    /// The scanner found minor issues.
    ScannerNoted,
    /// Nothing suggests risk.
    NothingFound,
}

/// One reason behind a tool's tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RiskReason {
    /// What kind of reason.
    pub signal: RiskSignal,
    /// The tier this reason alone supports.
    pub tier: RiskTier,
    /// Where it was found.
    pub evidence: Evidence,
    /// The word or argument that gave it away, if one did.
    pub word: Option<String>,
    /// A sentence for the person.
    pub message: String,
}

/// A flow mark: used by the flow rule ("read private data, then send out").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum FlowMark {
    /// Reads private data: files, email, messages, databases...
    ReadsPrivate,
    /// Sends data out of the machine: messages, uploads, requests.
    SendsOut,
}

/// Why a flow mark is suggested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct FlowReason {
    /// The mark suggested.
    pub mark: FlowMark,
    /// Where the evidence was found.
    pub evidence: Evidence,
    /// A sentence for the person.
    pub message: String,
}

/// The outcome of [`assess`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RiskAssessment {
    /// The highest tier any reason supports.
    pub tier: RiskTier,
    /// The decision when the person has set none: allow for low and
    /// medium, ask for high and critical.
    pub default_decision: Decision,
    /// Critical tools: setting "always allow" needs a confirmation.
    pub needs_confirmation_to_always_allow: bool,
    /// Every reason, highest tier first. Never empty.
    pub reasons: Vec<RiskReason>,
    /// Suggested mark: the tool reads private data.
    pub reads_private: bool,
    /// Suggested mark: the tool sends data out.
    pub sends_out: bool,
    /// Why each mark is suggested.
    pub flow_reasons: Vec<FlowReason>,
}
