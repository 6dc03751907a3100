//! Grey-scale PNG output for masks, images and k-space pictures (written atomically).

use crate::io::{write_atomic, IoError};
use std::path::Path;

/// Encodes an 8-bit grey-scale image of `height×width` pixels (row-major) as PNG bytes.
pub fn encode_gray8(width: usize, height: usize, pixels: &[u8]) -> Vec<u8> {
    assert_eq!(width * height, pixels.len(), "pixel count does not match the image size");
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().expect("PNG header into memory");
        writer.write_image_data(pixels).expect("PNG data into memory");
    }
    out
}

/// Writes an 8-bit grey-scale PNG atomically.
pub fn write_gray8(path: &Path, width: usize, height: usize, pixels: &[u8]) -> Result<(), IoError> {
    write_atomic(path, &encode_gray8(width, height, pixels))
}

/// Maps values linearly from `[lo, hi]` to `[0, 255]` (clipped) and writes a PNG.
pub fn write_scaled(path: &Path, width: usize, height: usize, values: &[f64], lo: f64, hi: f64) -> Result<(), IoError> {
    let span = if hi > lo { hi - lo } else { 1.0 };
    let px: Vec<u8> = values.iter().map(|&v| (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8).collect();
    write_gray8(path, width, height, &px)
}
