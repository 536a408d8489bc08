//! Subjects: validation, wildcard matching and encoding of outside text into one token, with the
//! rules of NATS, so both bus implementations accept and route exactly the same subjects.

use std::borrow::Cow;

use crate::BusError;

/// Longest subject accepted. NATS has no hard limit, but long subjects cost on every message
/// and none of ours come near this.
pub const MAX_SUBJECT_LEN: usize = 1024;

fn invalid(subject: &str, reason: &'static str) -> BusError {
    BusError::InvalidSubject {
        subject: subject.chars().take(MAX_SUBJECT_LEN).collect(),
        reason,
    }
}

fn check_common(s: &str) -> Result<(), BusError> {
    if s.is_empty() {
        return Err(invalid(s, "empty"));
    }
    if s.len() > MAX_SUBJECT_LEN {
        return Err(invalid(s, "longer than 1024 bytes"));
    }
    // NATS splits its protocol lines on whitespace; a space in a subject would corrupt them.
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(s, "contains whitespace or control characters"));
    }
    if s.split('.').any(str::is_empty) {
        return Err(invalid(s, "has an empty token"));
    }
    Ok(())
}

/// Checks a subject messages are published on: no wildcards.
pub fn validate_subject(s: &str) -> Result<(), BusError> {
    check_common(s)?;
    if s.split('.').any(|t| t == "*" || t == ">") {
        return Err(invalid(s, "wildcards are only allowed in subscriptions"));
    }
    Ok(())
}

/// Checks a subscription pattern: `*` and `>` only as whole tokens, `>` only last.
pub fn validate_pattern(s: &str) -> Result<(), BusError> {
    check_common(s)?;
    let tokens: Vec<&str> = s.split('.').collect();
    for (i, t) in tokens.iter().enumerate() {
        if *t == ">" && i + 1 != tokens.len() {
            return Err(invalid(s, "'>' must be the last token"));
        }
        if t.len() > 1 && (t.contains('*') || t.contains('>')) {
            // NATS treats "a*" as a literal token; refusing it avoids a pattern that looks like
            // a wildcard and silently is not one.
            return Err(invalid(s, "'*' and '>' must be whole tokens"));
        }
    }
    Ok(())
}

/// Whether `subject` (validated, no wildcards) matches `pattern` (validated).
pub fn matches(pattern: &str, subject: &str) -> bool {
    let mut p = pattern.split('.');
    let mut s = subject.split('.');
    loop {
        match (p.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(pt), Some(st)) if pt == st => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Makes arbitrary text safe as one subject token. `[A-Za-z0-9_-]` text (our org ids, replica
/// ids, pipe ids) is kept as is, so subjects stay readable in NATS tools; anything else becomes
/// `~` followed by the hex of its bytes, which cannot collide with a kept token (`~` is not in
/// the kept set) and cannot contain `.`, `*`, `>` or whitespace.
pub fn encode_token(text: &str) -> Cow<'_, str> {
    let plain = !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("~{}", hex::encode(text.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_nats() {
        assert!(matches("a.b", "a.b"));
        assert!(!matches("a.b", "a.b.c"));
        assert!(!matches("a.b", "a.bc"));
        assert!(matches("a.*", "a.b"));
        assert!(!matches("a.*", "a"));
        assert!(!matches("a.*", "a.b.c"));
        assert!(matches("a.*.c", "a.b.c"));
        assert!(matches("a.>", "a.b"));
        assert!(matches("a.>", "a.b.c"));
        assert!(!matches("a.>", "a"));
        assert!(matches(">", "a"));
        assert!(matches("*.>", "a.b"));
        assert!(!matches("*.>", "a"));
    }

    #[test]
    fn bad_subjects_and_patterns_are_refused() {
        for s in ["", "a..b", ".a", "a.", "a b", "a.*", "a.>", "a\tb"] {
            assert!(validate_subject(s).is_err(), "{s:?}");
        }
        for p in ["a.>.b", "a.b*", "a.>x", "", "a..b"] {
            assert!(validate_pattern(p).is_err(), "{p:?}");
        }
        for p in ["a.*.c", "a.>", ">", "*"] {
            validate_pattern(p).unwrap();
        }
        assert!(validate_subject(&"a".repeat(MAX_SUBJECT_LEN + 1)).is_err());
    }

    #[test]
    fn encoded_tokens_are_single_safe_tokens() {
        assert_eq!(encode_token("0123456789abcdef"), "0123456789abcdef");
        assert_eq!(encode_token("local"), "local");
        assert_eq!(encode_token("a.b"), "~612e62");
        assert_eq!(encode_token("*"), "~2a");
        assert_eq!(encode_token(""), "~");
        for t in ["a.b", ">", "a b", "é", "x".repeat(200).as_str()] {
            let e = encode_token(t);
            validate_subject(&format!("p.{e}")).unwrap();
            assert_eq!(e.split('.').count(), 1);
        }
    }
}
