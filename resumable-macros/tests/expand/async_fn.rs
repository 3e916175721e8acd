#[resumable(every = 20, append(report))]
async fn crawl(files: Vec<String>) -> std::io::Result<Vec<u64>> {
    let mut report = Vec::new();
    for file in files {
        let bytes = read(&file).await?;
        report.push(bytes.len() as u64);
    }
    Ok(report)
}
