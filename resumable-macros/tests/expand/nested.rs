#[resumable(every = 100, inner = 'batches)]
fn train(epochs: u64, data: &[f32]) -> Vec<f32> {
    let mut losses = Vec::new();
    for epoch in 0..epochs {
        let rate = 1.0 / (1.0 + epoch as f32);
        let mut loss = 0.0;
        'batches: for batch in data.chunks(8) {
            loss += rate * batch.iter().sum::<f32>();
        }
        losses.push(loss);
    }
    losses
}
