#[resumable(every = 100, name = "jobs", append(lines), key = (n, path))]
fn collect(n: u64, path: &str) -> Result<Vec<String>, std::io::Error> {
    let mut lines = Vec::new();
    let mut bytes = 0usize;
    for i in 0..n {
        let line = read_line(path, i)?;
        if line.is_empty() {
            continue;
        }
        bytes += line.len();
        lines.push(line);
    }
    Ok(lines)
}
