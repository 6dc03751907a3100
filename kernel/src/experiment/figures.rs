//! A run's figures, as PNG without any font or system library:
//!
//! * `reconstruction.png` — one evaluated slice: reference | zero-filled | reconstruction |
//!   ground truth on one intensity scale (the ground truth's maximum), a 2× zoom of the central
//!   quarter below each;
//! * `error.png` — |zero-filled − truth| and |reconstruction − truth|, scaled to 10% of the
//!   truth's maximum;
//! * `mask.png` and `kspace.png` — the slice's mask and the log-magnitude of its masked k-space;
//! * `training_loss.png` — the training loss per step (log scale) from `log.jsonl`, drawn with
//!   plotters (no text: the axes are steps and log10(loss), see `log.jsonl` for values).

use crate::experiment::evaluate::Example;
use crate::io::png::{write_gray8, write_scaled};
use std::path::Path;

/// Images side by side with `gap` columns of `background` between them.
fn tile(images: &[&[f64]], h: usize, w: usize, background: f64, gap: usize) -> (Vec<f64>, usize, usize) {
    let (th, tw) = (h, images.len() * w + (images.len() - 1) * gap);
    let mut out = vec![background; th * tw];
    for (k, img) in images.iter().enumerate() {
        for r in 0..h {
            let o = r * tw + k * (w + gap);
            out[o..o + w].copy_from_slice(&img[r * w..(r + 1) * w]);
        }
    }
    (out, th, tw)
}

/// The central half (in each direction) enlarged 2× by pixel repetition.
fn zoom(img: &[f64], h: usize, w: usize) -> Vec<f64> {
    let (r0, c0) = (h / 4, w / 4);
    let mut out = vec![0.0; h * w];
    for r in 0..h {
        for c in 0..w {
            out[r * w + c] = img[(r0 + r / 2).min(h - 1) * w + (c0 + c / 2).min(w - 1)];
        }
    }
    out
}

/// Writes every figure of a run into `dir`.
pub fn write_run_figures(dir: &Path, ex: &Example, log: &Path) -> Result<(), String> {
    let (h, w) = (ex.item.height, ex.item.width);
    let hi = ex.target.iter().cloned().fold(0.0, f64::max);
    let row = [&ex.reference[..], &ex.zero_filled, &ex.prediction, &ex.target];
    let zooms: Vec<Vec<f64>> = row.iter().map(|i| zoom(i, h, w)).collect();
    let (top, th, tw) = tile(&row, h, w, 0.0, 2);
    let zrow: Vec<&[f64]> = zooms.iter().map(|v| v.as_slice()).collect();
    let (bottom, _, _) = tile(&zrow, h, w, 0.0, 2);
    let mut grid = top;
    grid.extend(vec![0.0; 2 * tw]);
    grid.extend(bottom);
    let e = |a: &[f64]| a.iter().zip(&ex.target).map(|(x, y)| (x - y).abs()).collect::<Vec<f64>>();
    let (zf_err, rec_err) = (e(&ex.zero_filled), e(&ex.prediction));
    let (err, eh, ew) = tile(&[&zf_err, &rec_err], h, w, 0.0, 2);
    let io = |r: Result<(), crate::io::IoError>| r.map_err(|e| e.to_string());
    io(write_scaled(&dir.join("reconstruction.png"), tw, 2 * th + 2, &grid, 0.0, hi))?;
    io(write_scaled(&dir.join("error.png"), ew, eh, &err, 0.0, 0.1 * hi))?;
    let m = &ex.item.mask;
    io(write_gray8(&dir.join("mask.png"), m.width, m.height, &m.to_pixels()))?;
    let [kh, kw] = ex.item.kspace_shape;
    let logk: Vec<f64> = ex.item.kspace.iter().map(|z| (1e-9 + f64::from(z.norm())).ln()).collect();
    let lo = logk
        .iter()
        .cloned()
        .fold(f64::INFINITY, f64::min)
        .max(logk.iter().cloned().fold(f64::NEG_INFINITY, f64::max) - 12.0);
    let khi = logk.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    io(write_scaled(&dir.join("kspace.png"), kw, kh, &logk, lo, khi))?;
    training_curve(&dir.join("training_loss.png"), log)
}

/// Training loss per step (log10) as a line on a 640×360 white canvas.
pub fn training_curve(path: &Path, log: &Path) -> Result<(), String> {
    use plotters::prelude::*;
    let Ok(text) = std::fs::read_to_string(log) else { return Ok(()) };
    let points: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["validation"].is_null())
        .filter_map(|v| Some((v["step"].as_f64()?, v["loss"].as_f64()?)))
        .filter(|(_, l)| *l > 0.0)
        .map(|(s, l)| (s, l.log10()))
        .collect();
    if points.len() < 2 {
        return Ok(());
    }
    let (w, h) = (640u32, 360u32);
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let x1 = points.last().map(|p| p.0).unwrap_or(1.0).max(1.0);
        let ylo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let yhi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max).max(ylo + 1e-6);
        let mut chart =
            ChartBuilder::on(&root).margin(12).build_cartesian_2d(0.0..x1, ylo..yhi).map_err(|e| e.to_string())?;
        chart.draw_series(LineSeries::new(points, &BLUE)).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    let grey: Vec<u8> = buf.chunks(3).map(|c| ((c[0] as u16 + c[1] as u16 + c[2] as u16) / 3) as u8).collect();
    write_gray8(path, w as usize, h as usize, &grey).map_err(|e| e.to_string())
}
