//! Letter utilities.

/// Number of ASCII uppercase letters in text.
pub fn count_uppercase(text: &str) -> usize {
    text.chars().filter(|c| c.is_ascii_uppercase()).count()
}

/// text with its characters in reverse order.
pub fn reversed(text: &str) -> String {
    text.chars().rev().collect()
}
