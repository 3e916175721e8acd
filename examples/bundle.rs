//! The seed tutorial's "model bundle" — model, scaler, feature names and metadata in one
//! file — saved with `resumable::save` and loaded back with `resumable::load`.
//!
//! ```text
//! cargo run --example bundle
//! ```
//! It writes `.resumable/model_bundle.ckpt` (or `$RESUMABLE_DIR/model_bundle.ckpt`) and leaves
//! it there to look at; running again replaces it. Unlike a pickle, loading runs no code, and
//! a file saved as one type does not load as another.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Everything needed to use the model later, together.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct ModelBundle {
    /// A linear model: one weight per feature.
    weights: Vec<f64>,
    scaler: StandardScaler,
    feature_names: Vec<String>,
    metadata: Metadata,
}

/// `(x - mean) / scale`, per feature.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct StandardScaler {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Metadata {
    version: String,
    created_by: String,
    /// Seconds since the Unix epoch.
    timestamp: u64,
}

impl ModelBundle {
    fn predict(&self, x: &[f64]) -> f64 {
        let scaler = &self.scaler;
        x.iter()
            .zip(&scaler.mean)
            .zip(&scaler.scale)
            .zip(&self.weights)
            .map(|(((x, mean), scale), weight)| (x - mean) / scale * weight)
            .sum()
    }
}

fn main() -> Result<(), resumable::Error> {
    let dir = std::env::var_os("RESUMABLE_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| PathBuf::from(".resumable"), PathBuf::from);
    let path = dir.join("model_bundle.ckpt");

    let bundle = ModelBundle {
        weights: vec![0.42, -1.5, 2.25],
        scaler: StandardScaler {
            mean: vec![0.5, 0.49, 0.51],
            scale: vec![0.29, 0.28, 0.3],
        },
        feature_names: vec!["feat1".into(), "feat2".into(), "feat3".into()],
        metadata: Metadata {
            version: "1.0".into(),
            created_by: "Benjamin".into(),
            timestamp: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_secs()),
        },
    };
    resumable::save(&path, &bundle)?;
    println!("saved the model bundle to {}", path.display());

    let loaded: ModelBundle = resumable::load(&path)?.expect("the file was just saved");
    let ModelBundle {
        weights,
        scaler,
        feature_names,
        metadata,
    } = &loaded;
    println!("weights: {weights:?}");
    println!("scaler.mean: {:?}", scaler.mean);
    println!("scaler.scale: {:?}", scaler.scale);
    println!("feature_names: {feature_names:?}");
    println!(
        "metadata: version {}, created_by {}, timestamp {}",
        metadata.version, metadata.created_by, metadata.timestamp
    );
    assert_eq!(
        loaded, bundle,
        "the loaded bundle differs from the saved one"
    );
    println!("loaded == saved: true");
    println!(
        "prediction for [0.2, 0.5, 0.9]: {:.4}",
        loaded.predict(&[0.2, 0.5, 0.9])
    );

    // The file records the type it was saved as: any other type is refused, not misread.
    match resumable::load::<Vec<f64>>(&path) {
        Ok(_) => panic!("a ModelBundle loaded as a Vec<f64>"),
        Err(err) => println!("loading it as Vec<f64> fails: {err}"),
    }
    Ok(())
}
