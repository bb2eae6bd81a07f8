//! The pattern table: every phrase the rules look for, per class, on folded
//! (lowercase) text. Patterns name attack *classes* — many phrasings of one
//! idea — rather than known strings.

use std::sync::LazyLock;

use regex::Regex;

use super::{ScanRule, ScanSeverity};

/// How a pattern's context is weighed (see [`super::rules`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Counts at its severity, whatever the context.
    Fixed,
    /// Counts at its severity; the tool-level weighing may raise it.
    Weak,
    /// An instruction addressed to the model: no finding, but strengthens
    /// other evidence in the tool.
    Cue,
    /// A marker that counts only when written in capitals (`SYSTEM:`,
    /// `ACT AS`); otherwise a cue.
    Shout,
    /// Like [`Kind::Shout`], but low (and weak) when not in capitals.
    ShoutOrLow,
    /// A concrete sensitive path: low alone, high when the sentence tells
    /// the model to read or pass it.
    Path,
    /// A generic secret (API keys, passwords, the conversation): counts only
    /// when the sentence sends or passes it.
    Secret,
    /// A URL or an email address: low alone, high next to "send".
    Target,
    /// Changing where something goes (recipient, endpoint): low alone, high
    /// with an instruction or a send verb.
    Redirect,
    /// "When `X` is used, …": shadowing unless `X` is the tool itself; the
    /// `name` group holds `X`.
    OtherTool,
}

/// One pattern.
pub struct Pattern {
    /// The class it counts for.
    pub rule: ScanRule,
    /// Its severity (for the kinds that use one).
    pub severity: ScanSeverity,
    /// How its context is weighed.
    pub kind: Kind,
    /// The one-line reason shown to people.
    pub message: &'static str,
    /// The regex, on folded text.
    pub regex: &'static str,
}

use Kind::*;
use ScanRule::*;
use ScanSeverity::*;

const fn p(
    rule: ScanRule,
    severity: ScanSeverity,
    kind: Kind,
    message: &'static str,
    regex: &'static str,
) -> Pattern {
    Pattern {
        rule,
        severity,
        kind,
        message,
        regex,
    }
}

/// Every phrase pattern.
pub static PATTERNS: &[Pattern] = &[
    // ---- hidden instructions -------------------------------------------
    p(
        HiddenInstruction,
        Critical,
        Fixed,
        "tells the model to ignore its previous instructions",
        r"\b(?:ignore|disregard|forget|overlook|override)\s+(?:(?:all|any|every|of|the|your|these|those|my|earlier|prior)\s+)*(?:previous|prior|above|preceding|former|original|initial|old|system|safety|security|existing|other|earlier|current)\s+(?:\w+\s+)?(?:instructions?|prompts?|rules|guidelines|guidance|directives?|directions|restrictions|context|messages|constraints|commands|policies|guardrails|filters?|programming|orders|advice)\b",
    ),
    p(
        HiddenInstruction,
        Critical,
        Fixed,
        "tells the model to forget what it was told",
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)?(?:you(?:'ve| have)? been told|what you were told|your (?:instructions|training|rules|guidelines))\b",
    ),
    p(
        HiddenInstruction,
        Critical,
        Fixed,
        "tells the model to ignore its previous instructions",
        r"(?:忽略|无视|忽视|無視)(?:之前|以前|先前|上述|上面|前面|所有|全部|的|一切|以上)*(?:指令|指示|说明|規則|规则|命令)|\bignor(?:a|e|ez)\s+(?:(?:todas|todos|toutes|tous|tutte)\s+)?(?:las|los|les|le)\s+(?:instrucciones|instructions|istruzioni)\s+(?:anteriores|précédentes|precedenti|previas)|\bignoriere\s+(?:alle\s+)?(?:vorherigen|bisherigen)\s+anweisungen",
    ),
    p(
        HiddenInstruction,
        High,
        Fixed,
        "tells the model to bypass safety or security controls",
        r"\b(?:bypass|circumvent|evade)\w*\s+(?:all\s+|any\s+|the\s+)?(?:\w+\s+)?(?:validation|checks|filters?|filtering|restrictions|controls|safety|security|guardrails|safeguards|policies)\b",
    ),
    p(
        HiddenInstruction,
        High,
        Fixed,
        "tells the model to switch off safety measures",
        r"\b(?:disable|skip|turn off|ignore|override|remove)\s+(?:all\s+|any\s+|the\s+)?(?:safety|security|content filter\w*|access controls?|guardrails|sanitization|safeguards|content moderation)\b",
    ),
    p(
        HiddenInstruction,
        High,
        Fixed,
        "an <IMPORTANT>-style tag addressed to the model",
        r"<\s*/?\s*(?:important|system|instructions?|secret|hidden|admin|critical|override|assistant|prompt|directive|sys)\s*>",
    ),
    p(
        HiddenInstruction,
        High,
        Fixed,
        "a [SYSTEM]-style marker addressed to the model",
        r"\[\s*(?:system|admin|important|hidden|secret|override|instructions?|assistant|developer|root)\b[^\]\n]{0,40}\]|\[[^\]\n]{0,30}\b(?:directive|override|instructions?|protocol|contradiction)\s*\]|<\|im_start\|>|<<\s*sys\s*>>|\[/?inst\]",
    ),
    p(
        HiddenInstruction,
        High,
        Shout,
        "a SYSTEM:-style marker addressed to the model",
        r"(?:^|\n|[.!]\s)\s*(?:system|admin|developer|assistant|root)(?:\s+(?:note|message|override|directive|instruction|prompt|update|notice|context))?\s*:",
    ),
    p(
        HiddenInstruction,
        High,
        Shout,
        "a directive marker addressed to the model",
        r"\b(?:override|bypass|hidden|emergency|jailbreak|secret|metadata|role|system|admin|instruction|safety|configuration|processing|validation)\s+(?:directive|override|protocol|instructions?|note|policy|mode|command|configuration)s?\s*(?::|\]|\s+available)",
    ),
    p(
        HiddenInstruction,
        High,
        Fixed,
        "a jailbreak phrase",
        r"\bjailbr(?:eak|oken)\w*|\bdeveloper mode\b|\bdan mode\b|\bgod mode\b|\bdo anything now\b",
    ),
    p(
        HiddenInstruction,
        High,
        Shout,
        "a role override (ACT AS) addressed to the model",
        r"\bact as\b",
    ),
    p(
        HiddenInstruction,
        High,
        Fixed,
        "tries to change the model's role",
        r"\byou are now\b|\byour new (?:role|task|instructions?|goal|purpose|persona)\b|\bpretend (?:to be|you are|that you)\b|\broleplay as\b|\bassume the role\b|\byou are no longer\b|\bnew (?:system )?instructions?\s*:",
    ),
    p(
        HiddenInstruction,
        Medium,
        Weak,
        "an instruction that lasts beyond this tool",
        r"\bfrom now on\b|\bfor the rest of (?:the|this) (?:conversation|session|chat)\b|\bat the (?:start|beginning) of (?:every|each|all) (?:conversation|session|response|message|chat)s?\b",
    ),
    p(
        HiddenInstruction,
        High,
        Fixed,
        "grants the model privileges or trust it should not assume",
        r"\byou (?:have|now have|are granted|are given|possess)\s+(?:\w+\s+)?(?:unrestricted|full|root|admin|administrator|elevated|unlimited)\s+(?:access|privileges|permissions|control)\b|\btrust all\b|\b(?:treat|consider|accept)\s+all\s+(?:\w+\s+)?(?:input|commands|requests|queries)\s+as\s+(?:trusted|safe|admin)\b|\b(?:execute|run)\s+(?:any|all)\s+(?:\w+\s+)?(?:commands?|queries|code)\s+(?:\w+\s+){0,4}without\s+(?:validation|confirmation|checks|restrictions)\b",
    ),
    p(
        HiddenInstruction,
        Low,
        Weak,
        "claims elevated privileges",
        r"\b(?:elevated|root|administrator|superuser|unrestricted|admin)\s+(?:privileges|access)\b|\bwithout (?:any )?(?:restrictions|limitations)\b",
    ),
    p(
        HiddenInstruction,
        High,
        Fixed,
        "tells the model to run this before any other tool",
        r"\bbefore (?:using|calling|invoking|running|executing|you (?:use|call)) (?:any|all|every) (?:other )?(?:tools?|functions?)\b|\b(?:always|must|should)\s+(?:\w+\s+)?(?:be\s+)?(?:called|used|run|invoked|executed)\s+(?:first|before (?:any|all|every) (?:other )?(?:tools?|functions?))\b",
    ),
    p(
        HiddenInstruction,
        Medium,
        Weak,
        "tells the model to always call a tool first",
        r"\b(?:always|must|first)\s+(?:always\s+)?(?:call|use|run|invoke|execute)\s+(?:this|the\s+)?[`'\x22]?(?P<name>[\w.-]+)[`'\x22]?\s+(?:tool\s+|function\s+)?(?:first|before (?:anything|doing anything|responding|answering))\b",
    ),
    p(
        HiddenInstruction,
        Low,
        ShoutOrLow,
        "an IMPORTANT:-style note to the model",
        r"(?:^|\n|[.!]\s)\s*(?:important|note to (?:the )?(?:ai|assistant|model|llm|agent)|attention|critical|warning|mandatory)\s*!*\s*:",
    ),
    p(
        HiddenInstruction,
        High,
        Fixed,
        "a note addressed to the AI model",
        r"\b(?:note|message|instructions?|reminder) (?:to|for) (?:the )?(?:ai|assistant|model|llm|agent|claude|chatgpt|gpt)\b|\b(?:ai|assistant|llm|agent|model) (?:instructions?|directive)s?\s*:|\b(?:attention|hey|dear|hello)\s*,?\s+(?:ai|assistant|model|llm|agent|claude|chatgpt|gpt|copilot)\b",
    ),
    // ---- instruction cues (no finding of their own) ----------------------
    p(
        HiddenInstruction,
        Low,
        Cue,
        "",
        r"\byou (?:must|should|need to|have to|are required to|will need to|shall)\b|\b(?:the )?(?:assistant|ai|model|llm|agent|claude|chatgpt|gpt|copilot)\s+(?:must|should|needs to|has to|shall|is required)\b|\bmake sure\b|\bbe sure to\b|\bremember to\b|\bit is (?:very |extremely |critically |really )?(?:important|crucial|essential|vital|mandatory)\b|\bunder no circumstances\b|\bbefore using this tool\b|\botherwise the tool\b",
    ),
    // ---- concealment ---------------------------------------------------
    p(
        Concealment,
        High,
        Fixed,
        "tells the model to keep something from the user",
        r"\b(?:do not|don't|dont|never|must not|mustn't|should not|shouldn't|cannot|can't|will not|won't|avoid)\s+(?:ever\s+)?(?:\w+\s+)?(?:tell|telling|mention|mentioning|inform|informing|reveal|revealing|disclose|disclosing|notify|notifying|alert|alerting|show|showing|say|saying|explain|report|display|displaying|indicate|acknowledge|let|letting|bring up|expose|surface)\b(?:\s+\S+){0,6}?\s+(?:the\s+)?(?:user|users|human|person|people|anyone)\b",
    ),
    p(
        Concealment,
        Medium,
        Weak,
        "tells the model not to mention something",
        r"\b(?:do not|don't|never|must not)\s+(?:ever\s+)?(?:mention|reveal|disclose|acknowledge|tell anyone|talk about)\b",
    ),
    p(
        Concealment,
        High,
        Fixed,
        "wants the user not to know",
        r"\b(?:the\s+)?(?:user|human|person)s?\s+(?:must|should|will|need|needs|does|do|is|are)\s*(?:not|n't|never)\s+(?:\w+\s+)?(?:know|see|notice|learn|find out|be told|be informed|be aware|be notified|become aware|suspect)\b|\bwithout\s+(?:the\s+)?(?:user|human|person)(?:'s)?\s+(?:knowing|knowledge|noticing|awareness|consent|seeing)\b|\bwithout\s+(?:telling|informing|notifying|alerting|letting|showing)\s+(?:the\s+)?(?:user|human|person|them|anyone)\b|\b(?:hide|conceal)\s+(?:\S+\s+){0,4}?from\s+(?:the\s+)?(?:user|human|person|them)\b|\bkeep (?:this|it|that) (?:secret|hidden) from\b",
    ),
    p(
        Concealment,
        Medium,
        Weak,
        "asks for secrecy",
        r"\b(?:secretly|covertly|surreptitiously|stealthily|clandestinely|behind the user's back|without a trace)\b|\b(?:could|would|might|will|may)\s+(?:\w+\s+)?(?:upset|alarm|scare|worry|frighten)\s+the\s+user\b",
    ),
    p(
        Concealment,
        Low,
        Weak,
        "asks for something to happen unnoticed",
        r"\b(?:silently|quietly|discreetly|invisibly|unnoticed)\b|\bkeep (?:this|it) (?:secret|hidden|confidential)\b",
    ),
    // ---- sensitive files and secrets -----------------------------------
    p(
        SensitiveFile,
        Low,
        Path,
        "refers to a sensitive file",
        r"~/\.ssh\b|\.ssh/|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|~/\.aws\b|\.aws/(?:credentials|config)\b|/etc/(?:passwd|shadow|sudoers)\b|\bmcp\.json\b|~/\.cursor\b|claude_desktop_config\.json|\.npmrc\b|\.pypirc\b|\.netrc\b|\.git-credentials\b|\.kube/config\b|\.docker/config\.json|\.gnupg\b|\.(?:bash|zsh)_history\b|\blogin\.keychain\b|\bwallet\.dat\b|\bcredentials\.json\b|\bsecrets?\.(?:json|ya?ml|toml)\b|\.config/(?:gcloud|gh|hub|git/credentials)\b|\bhosts\.yml\b|\.git/config\b|\.ssh\b|~/\.azure\b|\bauthorized_keys\b|(?:^|[\s'\x22`(/~])(?P<at>\.env(?:\.(?:local|production|prod|dev|development))?)\b",
    ),
    p(
        SensitiveFile,
        Medium,
        Secret,
        "asks for secrets, credentials or the conversation",
        r"\b(?:api[\s_-]?keys?|secret[\s_-]?keys?|private[\s_-]?keys?|access[\s_-]?tokens?|auth(?:entication)?[\s_-]?tokens?|bearer tokens?|refresh tokens?|session (?:tokens?|cookies?)|passwords?|passphrases?|credentials|secrets|seed phrases?|mnemonic phrase|recovery phrase|ssh keys?|environment variables|env vars|(?:entire|full|whole|complete|previous|prior) (?:conversation|chat)(?: history)?|conversation history|chat history|previous messages|system prompt|your (?:instructions|prompt)|keychain|credit card(?: numbers?)?|social security numbers?)\b",
    ),
    // ---- exfiltration --------------------------------------------------
    p(
        Exfiltration,
        Low,
        Target,
        "a URL inside the description",
        r"\bhttps?://[^\s'\x22<>)\]}`]+",
    ),
    p(
        Exfiltration,
        Low,
        Target,
        "an email address inside the description",
        r"\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b",
    ),
    p(
        Exfiltration,
        High,
        Fixed,
        "a shell command that sends or runs something",
        r"\b(?:curl|wget)\s+(?:-{1,2}[\w-]+(?:\s+[^\s-]\S*)?\s+)*['\x22]?(?:https?://|\$|[\w.-]+\.[a-z]{2,}/)|\|\s*(?:ba|z|da)?sh\b|\b(?:ba)?sh\s+-c\b|/dev/tcp/|\bnc\s+(?:-\w+\s+)*[\w.-]+\s+\d{2,5}\b|\brm\s+-rf\s+[/~]|\bbase64\s+(?:-d|--decode)\b|\bchmod\s+(?:\+x|777)\b|\bpowershell(?:\.exe)?\s+-(?:enc|e|encodedcommand)\b|\beval\s*\(\s*(?:atob|base64)|\bpython3?\s+-c\s|\b(?:scp|rsync)\s+\S+\s+\S+@\S+:",
    ),
    p(
        Exfiltration,
        High,
        Fixed,
        "a markdown image whose URL can carry data out",
        r"!\[[^\]\n]*\]\(\s*https?://[^)\s]*[?&][^)\s]*=[^)\s]*\)",
    ),
    p(
        Exfiltration,
        Low,
        Weak,
        "mentions a download tool",
        r"\b(?:curl|wget|netcat)\b",
    ),
    p(
        Exfiltration,
        High,
        Fixed,
        "talks about exfiltrating data",
        r"\bexfiltrat\w*",
    ),
    // ---- shadowing and redirection --------------------------------------
    p(
        ToolShadowing,
        High,
        OtherTool,
        "instructs how another tool must behave",
        r"\b(?:when|whenever|if|each time|every time|after|before)\s+(?:(?:the\s+|a\s+)?(?:\([^)]{1,40}\)\s*)?[`'\x22]?(?P<name>[a-z][\w.-]*)[`'\x22]?\s+(?:tool\s+|function\s+|command\s+|server\s+)?(?:is\s+|gets\s+|are\s+)?(?:used|called|invoked|executed|run|triggered|requested)|you\s+(?:use|call|invoke|run)\s+(?:the\s+)?[`'\x22]?(?P<name2>[a-z][\w.-]*)[`'\x22]?(?:\s+(?:tool|function|command))?)\b[^.\n]{0,120}?\b(?:must|should|always|also|make sure|be sure|change|set|replace|add|include|bcc|cc|send|forward|redirect|instead)\b",
    ),
    p(
        ToolShadowing,
        Medium,
        OtherTool,
        "tells the model to call another tool as a side effect",
        r"\b(?:also|additionally|secretly|silently|quietly)\s+(?:always\s+)?(?:call|invoke|run|use|execute|trigger)\s+(?:the\s+)?[`'\x22]?(?P<name>[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+)\b",
    ),
    p(
        ToolShadowing,
        High,
        Redirect,
        "changes where another action sends its data",
        r"\b(?:change|set|replace|switch|redirect|reroute|override|modify)\s+(?:the\s+|all\s+|any\s+)?(?:\w+\s+)?(?:recipients?|destination|to address|to-address|to field|receivers?|phone number|email address|account number|iban|wallet address|webhook|endpoint)\s+(?:to|with|into)\b",
    ),
    p(
        ToolShadowing,
        Medium,
        Weak,
        "redirects or copies every message",
        r"\b(?:redirect|reroute|bcc|cc|blind copy)\s+(?:all|every|each|any)\s+(?:\w+\s+)?(?:emails?|messages?|requests?|calls?|traffic|payments?|transactions?)\b",
    ),
    p(
        ToolShadowing,
        Medium,
        Weak,
        "gives orders about other tools or servers",
        r"\b(?:all|any|every)\s+other\s+(?:tools?|functions?|servers?|mcp servers?)\s+(?:must|should|will|are to)\b|\b(?:applies|apply) to (?:all|every|any) (?:other )?(?:tools?|servers?)\b",
    ),
    // ---- manipulation of choices ---------------------------------------
    p(
        ChoiceManipulation,
        High,
        Fixed,
        "steers the model to this tool over others",
        r"\b(?:always|only|must|should)\s+(?:\w+\s+)?(?:use|prefer|choose|pick|call|select)\s+this\s+(?:tool|function|server|one)\b[^.\n]{0,60}?\b(?:instead|over|rather than|never|any other)\b|\b(?:prefer|choose|pick|select)\s+this\s+(?:tool|function|server)\s+(?:over|instead of|rather than|above)\s+(?:all|any|every)\b|\binstead of\s+(?:using\s+|calling\s+)?[`'\x22]?[\w.-]+[`'\x22]?(?:\s+tool)?\s*,?\s+(?:always\s+)?(?:use|call|prefer)\s+(?:this|me)\b",
    ),
    p(
        ChoiceManipulation,
        Low,
        Weak,
        "tells the model to always use this tool",
        r"\b(?:always|only)\s+(?:use|prefer|choose|call)\s+this\s+(?:tool|function|server)\b",
    ),
    p(
        ChoiceManipulation,
        Low,
        Weak,
        "steers the model to this tool",
        r"\b(?:prefer|use|choose|pick|select)\s+this\s+(?:tool|function|server)\s+(?:over|instead of|rather than|above)\b|\bthis\s+(?:tool|function|server)\s+replaces\b",
    ),
    p(
        ChoiceManipulation,
        Medium,
        Weak,
        "claims to take precedence over other tools",
        r"\bthis\s+(?:tool|function|server)\s+(?:supersedes|overrides|shadows|takes precedence over|must be used instead of|should be used instead of|is preferred over|is better than|is the only)\b",
    ),
    p(
        ChoiceManipulation,
        Medium,
        Weak,
        "tells the model not to use another tool",
        r"\b(?:never|do not|don't|avoid)\s+(?:use|call|using|calling|invoke)\s+(?:the\s+|any\s+)?(?:other|[`'\x22][\w.-]+[`'\x22])\s+(?:tools?|functions?|servers?)\b",
    ),
    p(
        ChoiceManipulation,
        High,
        Fixed,
        "overrides what the user asked for",
        r"\bregardless\s+of\s+(?:what\s+|whatever\s+)?(?:the\s+)?(?:user|human|person)(?:'s)?\s+(?:says?|asks?|requests?|wants?|specif\w+|input|choice|instructions?|preferences?|provides?|selects?|enters?|chooses?)\b|\b(?:even if|no matter what|even when)\s+the\s+(?:user|human|person)\s+(?:says|asks|requests|specifies|wants|provides|chooses|selects|tells)\b|\bignore\s+(?:the\s+)?(?:user|human)(?:'s)?\s+(?:input|choice|request|value|argument|selection|preference|instructions?)\b",
    ),
    p(
        ChoiceManipulation,
        High,
        Fixed,
        "tells the model to change arguments without saying so",
        r"\b(?:silently|quietly|secretly|covertly)\s+(?:change|modify|replace|alter|rewrite|override|overwrite|swap|switch|set|add|append|insert)\s+(?:\S+\s+){0,4}?(?:arguments?|parameters?|params|values?|recipients?|amounts?|address(?:es)?|paths?|urls?|destinations?|inputs?|fields?|bcc)\b",
    ),
    p(
        ChoiceManipulation,
        Low,
        Weak,
        "tells the model to always set an argument",
        r"\b(?:always|must)\s+set\s+(?:the\s+)?[`'\x22]?[\w.-]+[`'\x22]?\s+(?:parameter\s+|argument\s+|field\s+)?(?:to|=)\s",
    ),
];

/// Indices into [`CONTEXT`].
pub const SEND: usize = 0;
/// See [`CONTEXT`].
pub const READ: usize = 1;
/// See [`CONTEXT`].
pub const BROAD: usize = 2;
/// See [`CONTEXT`].
pub const CUE: usize = 3;
/// See [`CONTEXT`].
pub const SNEAKY: usize = 4;
/// See [`CONTEXT`].
pub const TARGET: usize = 5;

/// What a sentence around a match is checked for.
pub static CONTEXT: &[&str] = &[
    // SEND
    r"\b(?:send|sends|sending|sent|forward\w*|post|posts|posting|upload\w*|transmit\w*|submit\w*|deliver\w*|exfiltrat\w*|bcc|cc|email (?:it|them|this|a copy)|mail (?:it|them)|beacon|report (?:it|them|back) to|copy (?:it|them|this|everything) to)\b",
    // READ
    r"\b(?:read|reads|reading|cat|open|store|save|record|log|capture|harvest|steal|load|access|retrieve|fetch|grab|collect|extract|dump|copy|include|includ\w+|pass|passing|provide|attach|append|embed|insert|put|add|send|upload|forward|share|paste|fill|contents? of|output of|content as|its content)\b",
    // BROAD
    r"\b(?:all|any|every|entire|full|whole|complete|user's|users'|your|their)\b",
    // CUE
    r"\byou (?:must|should|need to|have to|are required to|will need to|shall)\b|\b(?:the )?(?:assistant|ai|model|llm|agent)\s+(?:must|should|needs to|has to)\b|\bmake sure\b|\bbe sure to\b|\bremember to\b|\b(?:is|it's) (?:very |extremely )?(?:important|crucial|essential|mandatory)\b|\bbefore using this tool\b|\b(?:always|first|never|otherwise)\b|\bdo not\b|\b(?:as|in|into|to) (?:the )?[`'\x22]?\w+[`'\x22]? (?:parameter|argument|field)\b|<important>",
    // SNEAKY
    r"\b(?:silently|quietly|secretly|covertly|discreetly|surreptitiously|stealthily|without (?:telling|informing|notifying|asking|alerting) (?:the )?(?:user|them|anyone))\b",
    // TARGET
    r"https?://|\b[\w.+-]+@[\w-]+\.[\w.]+|\b(?:parameter|argument|field)\b|\bas '?\w+'?\b",
];

/// Hosts that stand for "an example": not exfiltration targets.
pub fn is_placeholder(target: &str) -> bool {
    let host = target
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .rsplit('@')
        .next()
        .unwrap_or("");
    let host = host.split(['/', ':', '?', '#']).next().unwrap_or("");
    host == "localhost"
        || host.starts_with("127.")
        || host == "0.0.0.0"
        || [
            "example.com",
            "example.org",
            "example.net",
            "example",
            "test",
            "invalid",
            "localhost",
        ]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// Parameter names used as side channels (the "sidenote" pattern).
pub static SIDE_CHANNEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:side_?note|note|notes|context|extra(?:_\w+)?|feedback|summary|metadata|meta|debug(?:_\w+)?|reasoning|thoughts?|comment|remarks?|memo|hidden\w*|internal\w*|conversation\w*|\w*history|instructions?|previous_messages|user_data|additional\w*|annotation)$")
        .expect("side-channel regex compiles")
});

/// A description asking for private data or the conversation.
pub static ASKS_FOR_PRIVATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"~/\.|\.ssh|id_rsa|mcp\.json|\.env\b|credential|password|secret|api[\s_-]?key|private key|conversation|chat history|previous messages|system prompt|your instructions|contents? of|everything the user|all (?:the )?(?:files|messages|data)")
        .expect("private-data regex compiles")
});

/// Parameter names that ask for safety to be switched off.
pub static BYPASS_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"jailbreak|bypass_?(?:safety|security|filter|validation|check|auth|restriction|guard)|override_?(?:safety|security|instruction|filter|polic)|(?:skip|disable)_?(?:safety|security|filter)|context_injection|prompt_injection|god_mode|simulate_privilege|unrestricted")
        .expect("bypass-parameter regex compiles")
});
