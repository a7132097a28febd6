//! Writing IDX files: images and labels encoded with the header MNIST's files carry.

use super::{IMAGES_MAGIC, LABELS_MAGIC, PIXELS, SIDE};

/// Encodes images as an IDX image file (for tests and for writing synthetic data sets).
pub fn encode_images(pixels: &[u8]) -> Vec<u8> {
    let count = (pixels.len() / PIXELS) as u32;
    let mut out = Vec::with_capacity(16 + pixels.len());
    for word in [IMAGES_MAGIC, count, SIDE as u32, SIDE as u32] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encodes labels as an IDX label file (for tests and for writing synthetic data sets).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}
