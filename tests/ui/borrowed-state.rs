use resumable::resumable;

#[resumable(every = 10)]
fn longest<'a>(words: &[&'a str]) -> &'a str {
    let mut best: &'a str = "";
    for word in words {
        if word.len() > best.len() {
            best = word;
        }
    }
    best
}

fn main() {}
