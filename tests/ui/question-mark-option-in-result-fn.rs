use resumable::resumable;

#[resumable(every = 10)]
fn firsts(words: &[&str]) -> Result<String, String> {
    let mut out = String::new();
    for word in words {
        out.push(word.chars().next()?);
    }
    Ok(out)
}

fn main() {}
