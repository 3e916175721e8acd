#[resumable(every = 10, key = ())]
fn first_over(limit: u64, points: &[(u64, u64)]) -> (usize, Vec<Point>) {
    let mut out = Vec::new();
    for point in points {
        assert!(point.0 < limit);
    }
    let found = loop {
        let at = out.len();
        if at == points.len() {
            break at;
        }
        out.push(Point { x: points[at].0, y: points[at].1 });
        if points[at].0 > limit {
            return (at, out);
        }
    };
    (found, out)
}
