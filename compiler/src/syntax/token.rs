//! Token kinds. A token carries no text: its span points into the source, so a
//! token and its span fit in twelve bytes.

use logos::Logos;

#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[logos(skip r"[ \t\r\n\f]+")]
pub enum TokenKind {
    /// `#` to the end of the line. Trivia: the parser never sees it, the
    /// formatter keeps it.
    #[regex(r"#[^\n]*", allow_greedy = true)]
    Comment,

    #[token("task")]
    KwTask,
    #[token("type")]
    KwType,
    #[token("defaults")]
    KwDefaults,
    #[token("implicit")]
    KwImplicit,
    #[token("export")]
    KwExport,

    #[regex(r"[A-Za-z_][A-Za-z0-9_-]*")]
    Ident,
    #[regex(r"[0-9]+")]
    Int,
    /// A string closed on its own line. Raw newlines are not allowed inside
    /// strings (use `\n`), so an unclosed quote ends at the end of its line
    /// instead of swallowing the rest of the file.
    #[regex(r#""([^"\\\n]|\\[^\n])*""#)]
    Str,
    /// A string whose closing quote is missing. Parsed like a string so that
    /// one missing quote makes one diagnostic (K0003).
    #[regex(r#""([^"\\\n]|\\[^\n])*\\?"#)]
    UnterminatedStr,

    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token("+")]
    Plus,
    #[token("/")]
    Slash,
    #[token("-")]
    Minus,
    #[token(":")]
    Colon,
    #[token("=")]
    Equals,
}

impl TokenKind {
    /// How the kind is named in "expected …, found …" messages.
    pub fn description(self) -> &'static str {
        match self {
            TokenKind::Comment => "a comment",
            TokenKind::KwTask => "`task`",
            TokenKind::KwType => "`type`",
            TokenKind::KwDefaults => "`defaults`",
            TokenKind::KwImplicit => "`implicit`",
            TokenKind::KwExport => "`export`",
            TokenKind::Ident => "a name",
            TokenKind::Int => "an integer",
            TokenKind::Str | TokenKind::UnterminatedStr => "a string",
            TokenKind::LBracket => "`[`",
            TokenKind::RBracket => "`]`",
            TokenKind::LParen => "`(`",
            TokenKind::RParen => "`)`",
            TokenKind::LBrace => "`{`",
            TokenKind::RBrace => "`}`",
            TokenKind::Comma => "`,`",
            TokenKind::Plus => "`+`",
            TokenKind::Slash => "`/`",
            TokenKind::Minus => "`-`",
            TokenKind::Colon => "`:`",
            TokenKind::Equals => "`=`",
        }
    }

    pub fn is_keyword(self) -> bool {
        matches!(
            self,
            TokenKind::KwTask | TokenKind::KwType | TokenKind::KwDefaults | TokenKind::KwImplicit | TokenKind::KwExport
        )
    }
}

/// What the parser sees: the kind, and whether the token is the first on its
/// line. The flag only steers error recovery (a broken statement is skipped up
/// to the next line that starts a new item); valid programs never depend on
/// it, since newlines are insignificant in the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Token {
    pub kind: TokenKind,
    pub line_start: bool,
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.description())
    }
}
