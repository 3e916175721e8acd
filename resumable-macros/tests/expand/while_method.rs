impl Grid {
    #[resumable(every = "30s", skip(scratch))]
    fn run(&mut self, steps: u64) {
        let mut scratch = Vec::new();
        while self.steps < steps {
            scratch.clear();
            self.step(&mut scratch);
        }
    }
}
