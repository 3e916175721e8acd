//! The wall clock, read here and nowhere below: the time a checkpoint records, the suffix of a
//! file moved aside, and how long ago a saved time was, in words (`format` reads no clock: it
//! is given the time).

/// Milliseconds since the Unix epoch (0 on a clock set before it).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// "12 s", "5 min", "3 h", "2 days": how long ago `then_ms` was.
pub fn age(then_ms: u64) -> String {
    let secs = now_ms().saturating_sub(then_ms) / 1000;
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        7200..172_800 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_is_in_the_unit_that_reads_best() {
        let ago = |secs: u64| age(now_ms() - secs * 1000);
        assert_eq!(ago(5), "5 s");
        assert_eq!(ago(119), "119 s");
        assert_eq!(ago(5 * 60), "5 min");
        assert_eq!(ago(3 * 3600), "3 h");
        assert_eq!(ago(47 * 3600), "47 h");
        assert_eq!(ago(3 * 86_400), "3 days");
        // A time in the future (another machine's clock) is no time ago.
        assert_eq!(age(now_ms() + 60_000), "0 s");
    }
}
