//! Glob patterns over parameter paths and checkpoint keys: `*` matches any text (dots
//! included); `$1`, `$2`, ... in a replacement insert what the stars matched.

/// The texts the stars of `pattern` matched in `key`, or `None` if it does not match.
pub fn captures(pattern: &str, key: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut caps = Vec::new();
    let mut rest = key.strip_prefix(parts[0])?;
    for (i, part) in parts.iter().enumerate().skip(1) {
        if i == parts.len() - 1 && part.is_empty() {
            caps.push(rest.to_string());
            rest = "";
            break;
        }
        let at = rest.find(part)?;
        caps.push(rest[..at].to_string());
        rest = &rest[at + part.len()..];
    }
    rest.is_empty().then_some(caps)
}

/// Whether `key` matches `pattern`.
pub fn matches(pattern: &str, key: &str) -> bool {
    captures(pattern, key).is_some()
}

/// `replacement` with `$n` replaced by the `n`-th capture, if `key` matches `pattern`.
pub fn replace(pattern: &str, replacement: &str, key: &str) -> Option<String> {
    let caps = captures(pattern, key)?;
    let mut out = replacement.to_string();
    for (i, c) in caps.iter().enumerate().rev() {
        out = out.replace(&format!("${}", i + 1), c);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn stars_capture_and_replace() {
        assert_eq!(super::replace("up.*.conv.*", "dec.$1.b.$2", "up.3.conv.weight").as_deref(), Some("dec.3.b.weight"));
        assert!(super::matches("conv_fuse.*.spa_att.*", "conv_fuse.13.spa_att.kv.weight"));
        assert!(!super::matches("head.*", "heads.0.weight"));
    }
}
