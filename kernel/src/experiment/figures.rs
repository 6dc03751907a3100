//! Figures as PNG, with titles, axes and legends drawn from an embedded font (DejaVu Sans
//! through plotters' ab_glyph rasteriser): no system font or graphics library.
//!
//! A run's figures (`write_run_figures`):
//!
//! * `reconstruction.png` — one evaluated slice: reference | zero-filled | reconstruction |
//!   ground truth on one intensity scale (black 0, white the ground truth's maximum), each
//!   titled, with a 2× zoom of the central half below; small images are enlarged by pixel
//!   repetition so that every tile is at least `MIN_TILE` pixels;
//! * `error.png` — |zero-filled − truth| and |reconstruction − truth|, white at 10% of the
//!   truth's maximum;
//! * `mask.png` and `kspace.png` — the slice's mask and the log-magnitude of its masked k-space,
//!   one pixel per sample (data pictures, no text);
//! * `training_loss.png` — the training loss per step on a log axis and the validation PSNR on
//!   a second axis, from `log.jsonl`.
//!
//! The comparison's dot charts (`published::dot_chart`) draw through `render` too.

use crate::experiment::evaluate::Example;
use crate::io::png::{log_kspace_gray8, to_gray8, write_gray8, write_rgb8};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// A drawing area over a figure's RGB pixels.
pub type Canvas<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// The font family every figure names (registered from the embedded font on first use).
pub const FONT: &str = "sans-serif";

/// Tiles of an image grid are enlarged to at least this many pixels on their longer side.
pub const MIN_TILE: usize = 192;

/// Published values (filled dots) and reproduced ones (rings) in every chart.
pub const PUBLISHED_COLOUR: RGBColor = RGBColor(31, 119, 180);
pub const REPRODUCED_COLOUR: RGBColor = RGBColor(214, 95, 0);

/// Registers DejaVu Sans (regular and bold) as plotters' `sans-serif`, once per process.
fn register_font() -> Result<(), String> {
    static REGISTERED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .and_then(|_| plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()))
                .map_err(|_| "the embedded DejaVu Sans font could not be read".to_string())
        })
        .clone()
}

/// Plotters' drawing errors as text.
pub fn drawing<E: std::fmt::Display>(e: E) -> String {
    format!("cannot draw the figure: {e}")
}

/// A white canvas of `w×h` RGB pixels.
pub fn white(w: usize, h: usize) -> Vec<u8> {
    vec![255; w * h * 3]
}

/// Lets `draw` paint on `pixels` (`w×h` RGB, row-major) and writes the result as PNG atomically.
pub fn render(
    path: &Path,
    w: usize,
    h: usize,
    mut pixels: Vec<u8>,
    draw: impl FnOnce(&Canvas) -> Result<(), String>,
) -> Result<(), String> {
    register_font()?;
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w as u32, h as u32)).into_drawing_area();
        draw(&root)?;
        root.present().map_err(drawing)?;
    }
    write_rgb8(path, w, h, &pixels).map_err(|e| e.to_string())
}

/// One titled image of a grid, in data intensities (`h×w`, row-major).
pub struct Tile<'a> {
    pub title: String,
    pub values: &'a [f64],
}

/// Rows of titled grey-scale images, all `h×w`, mapped linearly from `[lo, hi]` (clipped),
/// enlarged by pixel repetition to at least `MIN_TILE` pixels, with `note` under the grid.
pub fn image_grid(
    path: &Path,
    rows: &[Vec<Tile>],
    h: usize,
    w: usize,
    (lo, hi): (f64, f64),
    note: &str,
) -> Result<(), String> {
    let k = MIN_TILE.div_ceil(h.max(w).max(1)).max(1);
    let (th, tw) = (h * k, w * k);
    let (gap, title_h, note_h) = (8, 22, 26);
    let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
    let width = cols * tw + (cols + 1) * gap;
    let height = rows.len() * (title_h + th + gap) + gap + note_h;
    let mut px = white(width, height);
    let origin = |ri: usize, ci: usize| (gap + ci * (tw + gap), gap + ri * (title_h + th + gap) + title_h);
    for (ri, row) in rows.iter().enumerate() {
        for (ci, tile) in row.iter().enumerate() {
            if tile.values.len() != h * w {
                return Err(format!("figure `{}`: tile `{}` is not {h}x{w}", path.display(), tile.title));
            }
            let grey = to_gray8(tile.values, lo, hi);
            let (x0, y0) = origin(ri, ci);
            for r in 0..th {
                for c in 0..tw {
                    let v = grey[(r / k) * w + c / k];
                    let o = ((y0 + r) * width + x0 + c) * 3;
                    px[o..o + 3].copy_from_slice(&[v, v, v]);
                }
            }
        }
    }
    render(path, width, height, px, |root| {
        for (ri, row) in rows.iter().enumerate() {
            for (ci, tile) in row.iter().enumerate() {
                let (x0, y0) = origin(ri, ci);
                let at = (x0 as i32, (y0 - title_h + 3) as i32);
                root.draw(&Text::new(tile.title.clone(), at, (FONT, 15).into_font())).map_err(drawing)?;
            }
        }
        let at = (gap as i32, (height - note_h + 6) as i32);
        root.draw(&Text::new(note.to_string(), at, (FONT, 13).into_font().color(&RGBColor(80, 80, 80))))
            .map_err(drawing)
    })
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

/// Writes every figure of run `name` into `dir`.
pub fn write_run_figures(dir: &Path, name: &str, ex: &Example, log: &Path) -> Result<(), String> {
    let (h, w) = (ex.item.height, ex.item.width);
    let hi = ex.target.iter().cloned().fold(0.0, f64::max);
    let images = [
        ("reference", &ex.reference[..]),
        ("zero-filled", &ex.zero_filled[..]),
        (name, &ex.prediction[..]),
        ("ground truth", &ex.target[..]),
    ];
    let zooms: Vec<(String, Vec<f64>)> =
        images.iter().map(|(t, v)| (format!("{t}, centre 2x"), zoom(v, h, w))).collect();
    let top: Vec<Tile> = images.iter().map(|(t, v)| Tile { title: t.to_string(), values: v }).collect();
    let bottom: Vec<Tile> = zooms.iter().map(|(t, v)| Tile { title: t.clone(), values: v }).collect();
    let slice = format!("subject {}, slice {}", ex.item.meta.subject, ex.item.meta.slice);
    image_grid(
        &dir.join("reconstruction.png"),
        &[top, bottom],
        h,
        w,
        (0.0, hi),
        &format!("{slice}; one intensity scale: black 0, white the ground truth's maximum"),
    )?;
    let e = |a: &[f64]| a.iter().zip(&ex.target).map(|(x, y)| (x - y).abs()).collect::<Vec<f64>>();
    let (zf_err, rec_err) = (e(&ex.zero_filled), e(&ex.prediction));
    image_grid(
        &dir.join("error.png"),
        &[vec![
            Tile { title: "|zero-filled - truth|".into(), values: &zf_err },
            Tile { title: format!("|{name} - truth|"), values: &rec_err },
        ]],
        h,
        w,
        (0.0, 0.1 * hi),
        &format!("{slice}; white: 10% of the truth's maximum"),
    )?;
    let io = |r: Result<(), crate::io::IoError>| r.map_err(|e| e.to_string());
    let m = &ex.item.mask;
    io(write_gray8(&dir.join("mask.png"), m.width, m.height, &m.to_pixels()))?;
    let [kh, kw] = ex.item.kspace_shape;
    io(write_gray8(&dir.join("kspace.png"), kw, kh, &log_kspace_gray8(&ex.item.kspace)))?;
    training_curve(&dir.join("training_loss.png"), log, name)
}

/// The training loss and the validation PSNR of a `log.jsonl`, against the steps taken
/// (stages one after another).
pub fn training_points(text: &str) -> (Vec<(f64, f64)>, Vec<(f64, f64)>) {
    let (mut losses, mut validations) = (Vec::new(), Vec::new());
    let (mut stage, mut offset, mut taken) = (0, 0.0, 0.0);
    for v in text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
        let (Some(step), st) = (v["step"].as_f64(), v["stage"].as_u64().unwrap_or(0)) else { continue };
        if st != stage {
            (stage, offset) = (st, offset + taken);
        }
        if v["validation"].as_bool() == Some(true) {
            if let Some(p) = v["psnr"].as_f64().filter(|p| p.is_finite()) {
                validations.push((offset + step, p));
            }
        } else if let Some(l) = v["loss"].as_f64().filter(|l| l.is_finite() && *l > 0.0) {
            // Training lines carry the step's index, validations the steps taken.
            taken = step + 1.0;
            losses.push((offset + taken, l));
        }
    }
    (losses, validations)
}

/// Training loss per step (log axis, left) and validation PSNR (right), 760×420.
pub fn training_curve(path: &Path, log: &Path, title: &str) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(log) else { return Ok(()) };
    let (losses, validations) = training_points(&text);
    if losses.len() < 2 {
        return Ok(());
    }
    let x1 = losses.iter().chain(&validations).map(|p| p.0).fold(1.0, f64::max);
    let lo = losses.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = losses.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max).max(lo * 1.01);
    let plo = validations.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let phi = validations.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let (plo, phi) = if validations.is_empty() { (0.0, 1.0) } else { (plo - 0.5, phi.max(plo + 0.1) + 0.5) };
    let (w, h) = (760, 420);
    render(path, w, h, white(w, h), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{title}: training"), (FONT, 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(72)
            .right_y_label_area_size(if validations.is_empty() { 0 } else { 64 })
            // log10 of the loss on a linear axis, labelled with the loss itself (plotters' log
            // axis labels only powers of ten, often none over a training run's range).
            .build_cartesian_2d(0.0..x1, (lo * 0.95).log10()..(hi * 1.05).log10())
            .map_err(drawing)?
            .set_secondary_coord(0.0..x1, plo..phi);
        chart
            .configure_mesh()
            .x_desc("training step")
            .y_desc("training loss (log axis)")
            .y_labels(8)
            .x_label_formatter(&|v: &f64| format!("{v:.0}"))
            .y_label_formatter(&|v: &f64| {
                let loss = 10f64.powf(*v);
                if loss >= 0.01 {
                    format!("{loss:.3}")
                } else {
                    format!("{loss:.1e}")
                }
            })
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(drawing)?;
        let loss_colour = RGBColor(60, 60, 60);
        chart
            .draw_series(LineSeries::new(losses.iter().map(|&(x, l)| (x, l.log10())), &loss_colour))
            .map_err(drawing)?
            .label("training loss")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], loss_colour));
        if !validations.is_empty() {
            chart
                .configure_secondary_axes()
                .y_desc("validation PSNR (dB)")
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 14))
                .draw()
                .map_err(drawing)?;
            chart
                .draw_secondary_series(LineSeries::new(validations.iter().copied(), &REPRODUCED_COLOUR))
                .map_err(drawing)?
                .label("validation PSNR")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], REPRODUCED_COLOUR));
            chart
                .draw_secondary_series(validations.iter().map(|&p| Circle::new(p, 3, REPRODUCED_COLOUR.filled())))
                .map_err(drawing)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .draw()
            .map_err(drawing)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_points_follow_the_steps_taken_across_stages() {
        let log = [
            r#"{"stage":0,"step":0,"loss":2.0}"#,
            r#"{"stage":0,"step":1,"loss":1.0}"#,
            r#"{"stage":0,"step":2,"validation":true,"psnr":20.0}"#,
            r#"{"stage":1,"step":0,"loss":0.5}"#,
            r#"{"stage":1,"step":1,"loss":0.0}"#,
            r#"{"stage":1,"step":1,"validation":true,"psnr":21.0}"#,
            "torn li",
        ]
        .join("\n");
        let (losses, validations) = training_points(&log);
        // A zero loss has no place on a log axis; the second stage continues after step 2.
        assert_eq!(losses, vec![(1.0, 2.0), (2.0, 1.0), (3.0, 0.5)]);
        assert_eq!(validations, vec![(2.0, 20.0), (3.0, 21.0)]);
    }

    #[test]
    fn figures_carry_text_and_enlarge_small_images() {
        let dir = std::env::temp_dir().join(format!("mcmr-figures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let img: Vec<f64> = (0..16 * 16).map(|i| (i % 16) as f64).collect();
        let path = dir.join("grid.png");
        let tiles = vec![vec![Tile { title: "ramp".into(), values: &img }]];
        image_grid(&path, &tiles, 16, 16, (0.0, 15.0), "a note").unwrap();
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        // 16 px enlarged 12x to 192, plus the gaps; the title band is above the tile.
        assert_eq!(info.width as usize, MIN_TILE + 16);
        let (w, k) = (info.width as usize, MIN_TILE / 16);
        let px = |x: usize, y: usize| buf[(y * w + x) * 3];
        // Title band: some dark glyph pixels; the tile: the ramp, columns 12 px wide.
        assert!((0..22).any(|y| (8..100).any(|x| px(x, y) < 100)), "no title text drawn");
        let y = 8 + 22 + 5;
        assert_eq!(px(8, y), 0);
        assert_eq!(px(8 + k - 1, y), 0);
        assert_eq!(px(8 + 15 * k, y), 255);
        assert!(px(8 + k, y) > 0 && px(8 + k, y) < 30);
        std::fs::remove_dir_all(&dir).ok();
    }
}
