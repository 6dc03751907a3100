//! PNG output: grey-scale for masks, images and k-space pictures, RGB for charts (written
//! atomically).

use crate::io::{write_atomic, IoError};
use std::path::Path;

/// Encodes an 8-bit grey-scale image of `height×width` pixels (row-major) as PNG bytes.
pub fn encode_gray8(width: usize, height: usize, pixels: &[u8]) -> Vec<u8> {
    encode(width, height, pixels, png::ColorType::Grayscale, 1)
}

/// Encodes an 8-bit RGB image of `height×width` pixels (row-major, `r, g, b` per pixel).
pub fn encode_rgb8(width: usize, height: usize, pixels: &[u8]) -> Vec<u8> {
    encode(width, height, pixels, png::ColorType::Rgb, 3)
}

fn encode(width: usize, height: usize, pixels: &[u8], color: png::ColorType, channels: usize) -> Vec<u8> {
    assert_eq!(width * height * channels, pixels.len(), "pixel count does not match the image size");
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(color);
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

/// Writes an 8-bit RGB PNG atomically.
pub fn write_rgb8(path: &Path, width: usize, height: usize, pixels: &[u8]) -> Result<(), IoError> {
    write_atomic(path, &encode_rgb8(width, height, pixels))
}

/// Maps values linearly from `[lo, hi]` to `[0, 255]` (clipped), rounding to the nearest level.
pub fn to_gray8(values: &[f64], lo: f64, hi: f64) -> Vec<u8> {
    let span = if hi > lo { hi - lo } else { 1.0 };
    values.iter().map(|&v| (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8).collect()
}

/// The log-magnitude of k-space over the 12 natural-log units below its peak, as grey levels
/// (the peak white; 12 units is a dynamic range of about 1.6e5).
pub fn log_kspace_gray8(k: &[num_complex::Complex32]) -> Vec<u8> {
    let logk: Vec<f64> = k.iter().map(|z| (1e-9 + f64::from(z.norm())).ln()).collect();
    let hi = logk.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    to_gray8(&logk, hi - 12.0, hi)
}

/// Maps values linearly from `[lo, hi]` to `[0, 255]` (clipped) and writes a PNG.
pub fn write_scaled(path: &Path, width: usize, height: usize, values: &[f64], lo: f64, hi: f64) -> Result<(), IoError> {
    write_gray8(path, width, height, &to_gray8(values, lo, hi))
}
