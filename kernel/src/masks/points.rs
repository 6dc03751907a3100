//! 2D masks: centre squares, variable-density random and Gaussian points, radial spokes,
//! spirals and variable-density Poisson discs.

use super::*;
use std::f64::consts::PI;

pub(super) fn center_square(h: usize, w: usize, f: f64) -> Result<Vec<u8>, MaskError> {
    let (ch, cw) = ((h as f64 * f).floor() as usize, (w as f64 * f).floor() as usize);
    if ch == 0 || cw == 0 {
        return Err(param_err("center_fraction", format!("crop factor {f} keeps no point of a {h}x{w} grid")));
    }
    let (r0, c0) = ((h - ch) / 2, (w - cw) / 2);
    let mut data = vec![0u8; h * w];
    for r in r0..r0 + ch {
        for c in c0..c0 + cw {
            data[r * w + c] = 1;
        }
    }
    Ok(data)
}

/// Centre block holding a fraction `cf` of the points (a centred rectangle of
/// `round(H√cf)×round(W√cf)`), then the other points independently, uniformly
/// (`sigma = None`) or with a Gaussian density of the normalised radius, so that the expected
/// total is `HW/A`.
pub(super) fn variable_density_2d(
    h: usize,
    w: usize,
    cf: f64,
    acc: f64,
    sigma: Option<f64>,
    rng: &mut NumpyRng,
) -> Result<Vec<u8>, MaskError> {
    let n = (h * w) as f64;
    let (ch, cw) = ((h as f64 * cf.sqrt()).round() as usize, (w as f64 * cf.sqrt()).round() as usize);
    if (ch * cw) as f64 >= n / acc {
        return Err(param_err(
            "center_fraction",
            format!("a centre of {ch}x{cw} points already exceeds the {:.0} points that {acc}x allows", n / acc),
        ));
    }
    let (r0, c0) = ((h - ch) / 2, (w - cw) / 2);
    let in_centre = |r: usize, c: usize| r >= r0 && r < r0 + ch && c >= c0 && c < c0 + cw;
    let (hy, hx) = (h as f64 / 2.0, w as f64 / 2.0);
    let mut density = Vec::with_capacity(h * w);
    for r in 0..h {
        for c in 0..w {
            if in_centre(r, c) {
                continue;
            }
            density.push(match sigma {
                None => 1.0,
                Some(s) => {
                    let (dy, dx) = ((r as f64 - hy) / hy, (c as f64 - hx) / hx);
                    (-(dy * dy + dx * dx) / (2.0 * s * s)).exp()
                }
            });
        }
    }
    let scale = scale_for_expected_count(&density, n / acc - (ch * cw) as f64);
    let mut data = vec![0u8; h * w];
    let mut k = 0;
    for r in 0..h {
        for c in 0..w {
            let u = rng.random_sample();
            if in_centre(r, c) {
                data[r * w + c] = 1;
            } else {
                data[r * w + c] = (u < (scale * density[k]).min(1.0)) as u8;
                k += 1;
            }
        }
    }
    Ok(data)
}

pub(super) fn plot(data: &mut [u8], h: usize, w: usize, y: f64, x: f64) {
    let (r, c) = (y.round(), x.round());
    if r >= 0.0 && c >= 0.0 && (r as usize) < h && (c as usize) < w {
        data[r as usize * w + c as usize] = 1;
    }
}

pub(super) fn count(data: &[u8]) -> usize {
    data.iter().map(|&v| v as usize).sum()
}

pub(super) fn radial_with(h: usize, w: usize, spokes: usize, rotation: f64) -> Vec<u8> {
    let mut data = vec![0u8; h * w];
    let (cy, cx) = ((h / 2) as f64, (w / 2) as f64);
    let reach = ((h * h + w * w) as f64).sqrt() / 2.0 + 1.0;
    for s in 0..spokes {
        let theta = rotation + PI * s as f64 / spokes as f64;
        let (sn, cs) = theta.sin_cos();
        let mut t = -reach;
        while t <= reach {
            plot(&mut data, h, w, cy + t * sn, cx + t * cs);
            t += 0.25;
        }
    }
    data
}

/// Radial spokes: the smallest number of equally spaced spokes whose gridded points reach
/// `HW/A`; the seed rotates the pattern.
pub(super) fn radial(h: usize, w: usize, acc: f64, rng: &mut NumpyRng) -> Result<Vec<u8>, MaskError> {
    let target = ((h * w) as f64 / acc).ceil() as usize;
    let rotation = rng.random_sample() * PI;
    let (mut lo, mut hi) = (1usize, 2usize);
    while count(&radial_with(h, w, hi, rotation)) < target {
        hi *= 2;
        if hi > 16 * (h + w) {
            return Err(param_err("acceleration", format!("radial spokes cannot reach {acc}x on a {h}x{w} grid")));
        }
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if count(&radial_with(h, w, mid, rotation)) >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(radial_with(h, w, hi, rotation))
}

pub(super) fn spiral_with(h: usize, w: usize, pitch: f64, rotation: f64) -> Vec<u8> {
    // Archimedean spiral r = pitch·θ/2π from the centre out to the corners, stepped at about a
    // quarter pixel of arc length.
    let mut data = vec![0u8; h * w];
    let (cy, cx) = ((h / 2) as f64, (w / 2) as f64);
    let reach = ((h * h + w * w) as f64).sqrt() / 2.0 + 1.0;
    let b = pitch / (2.0 * PI);
    let mut theta = 0.0f64;
    loop {
        let r = b * theta;
        if r > reach {
            break;
        }
        let (sn, cs) = (theta + rotation).sin_cos();
        plot(&mut data, h, w, cy + r * sn, cx + r * cs);
        theta += 0.25 / (r.max(b)).max(1e-3);
    }
    data
}

/// An Archimedean spiral whose pitch (pixels between turns) is chosen by bisection so that the
/// gridded point count is closest to `HW/A`; the seed rotates the pattern.
pub(super) fn spiral(h: usize, w: usize, acc: f64, rng: &mut NumpyRng) -> Result<Vec<u8>, MaskError> {
    let target = (h * w) as f64 / acc;
    let rotation = rng.random_sample() * 2.0 * PI;
    let (mut lo, mut hi) = (1.0f64, (h.max(w)) as f64);
    if (count(&spiral_with(h, w, lo, rotation)) as f64) < target {
        return Err(param_err("acceleration", format!("a spiral cannot reach {acc}x on a {h}x{w} grid")));
    }
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if count(&spiral_with(h, w, mid, rotation)) as f64 >= target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(spiral_with(h, w, lo, rotation))
}

/// SigPy's variable-density Poisson-disc sampling (`sigpy.mri.poisson`), re-implemented:
/// Bridson's algorithm with per-point radii `(1 + s·r)·(n/max(H, W))` growing with the
/// normalised distance `r` from the centre (calibration region excluded), the slope `s` found
/// by bisection in `[0, max(H, W)]` until the acceleration is within `tol = 0.1` of the target
/// (at most 30 attempts per active point). The draws use this kit's numpy-compatible generator,
/// so the pattern follows SigPy's algorithm but is not bit-identical to SigPy's numba draws.
/// Where SigPy gives up (no slope reaches the tolerance with these draws, which happens on small
/// grids), up to seven further draw streams of the same generator are tried, in order, so a
/// seed still gives one mask; only then is the acceleration refused.
pub(super) fn poisson_disc(h: usize, w: usize, acc: f64, cf: f64, rng: &mut NumpyRng) -> Result<Vec<u8>, MaskError> {
    let mut last = None;
    for _ in 0..8 {
        match poisson_disc_once(h, w, acc, cf, rng) {
            Ok(mask) => return Ok(mask),
            Err(e) => last = Some(e),
        }
        rng.random_sample();
    }
    Err(last.expect("eight attempts"))
}

fn poisson_disc_once(h: usize, w: usize, acc: f64, cf: f64, rng: &mut NumpyRng) -> Result<Vec<u8>, MaskError> {
    let (ny, nx) = (h, w);
    let calib = [(ny as f64 * cf).round(), (nx as f64 * cf).round()];
    let norm_axis = |n: usize, cal: f64| -> Vec<f64> {
        let v: Vec<f64> = (0..n).map(|i| ((i as f64 - n as f64 / 2.0).abs() - cal / 2.0).max(0.0)).collect();
        let m = v.iter().cloned().fold(0.0, f64::max);
        v.into_iter().map(|x| if m > 0.0 { x / m } else { 0.0 }).collect()
    };
    let ys = norm_axis(ny, calib[0]);
    let xs = norm_axis(nx, calib[1]);
    let r: Vec<f64> = (0..ny * nx).map(|i| (ys[i / nx].powi(2) + xs[i % nx].powi(2)).sqrt()).collect();
    let nmax = nx.max(ny) as f64;
    let seed_state = rng.clone();
    let (mut slope_min, mut slope_max) = (0.0f64, nmax);
    let tol = 0.1;
    let mut best: Option<(f64, Vec<u8>)> = None;
    for _ in 0..64 {
        let slope = 0.5 * (slope_min + slope_max);
        let rx: Vec<f64> = r.iter().map(|&v| ((1.0 + v * slope) * nx as f64 / nmax).max(1.0)).collect();
        let ry: Vec<f64> = r.iter().map(|&v| ((1.0 + v * slope) * ny as f64 / nmax).max(1.0)).collect();
        // Same draws for every slope, as SigPy reseeds inside its sampler.
        let mut draw = seed_state.clone();
        let mut mask = bridson(nx, ny, 30, &rx, &ry, calib, &mut draw);
        for (m, &rv) in mask.iter_mut().zip(&r) {
            if rv >= 1.0 {
                *m = 0;
            }
        }
        let achieved = (nx * ny) as f64 / count(&mask).max(1) as f64;
        if best.as_ref().is_none_or(|(a, _)| (achieved - acc).abs() < (a - acc).abs()) {
            best = Some((achieved, mask));
        }
        if (achieved - acc).abs() < tol {
            break;
        }
        if achieved < acc {
            slope_min = slope;
        } else {
            slope_max = slope;
        }
        if slope_max - slope_min < 1e-9 {
            break;
        }
    }
    let (achieved, mask) = best.expect("at least one attempt");
    if (achieved - acc).abs() >= tol {
        return Err(param_err(
            "acceleration",
            format!("the Poisson disc cannot reach {acc}x within ±{tol} on a {h}x{w} grid (closest: {achieved:.3}x)"),
        ));
    }
    Ok(mask)
}

pub(super) fn bridson(
    nx: usize,
    ny: usize,
    max_attempts: usize,
    rx: &[f64],
    ry: &[f64],
    calib: [f64; 2],
    rng: &mut NumpyRng,
) -> Vec<u8> {
    let mut mask = vec![0u8; nx * ny];
    let mut pxs = Vec::with_capacity(nx * ny);
    let mut pys = Vec::with_capacity(nx * ny);
    pxs.push(rng.randint(nx as u64) as i64);
    pys.push(rng.randint(ny as u64) as i64);
    while !pxs.is_empty() {
        let i = rng.randint(pxs.len() as u64) as usize;
        let (px, py) = (pxs[i], pys[i]);
        let (rxp, ryp) = (rx[py as usize * nx + px as usize], ry[py as usize * nx + px as usize]);
        let mut done = false;
        let (mut qx, mut qy) = (0.0, 0.0);
        let mut k = 0;
        while !done && k < max_attempts {
            let v = (rng.random_sample() * 3.0 + 1.0).sqrt();
            let t = 2.0 * PI * rng.random_sample();
            qx = px as f64 + v * rxp * t.cos();
            qy = py as f64 + v * ryp * t.sin();
            // A candidate in an already sampled cell is refused: the distance test alone can
            // accept it (offsets of up to one cell on both axes sum past 1), and a duplicate
            // point would be active again, so the loop could grow without end. With it, every
            // accepted point takes a new cell and the loop ends after at most 2·H·W passes.
            let fresh = |x: f64, y: f64| mask[y as usize * nx + x as usize] == 0;
            if qx >= 0.0 && qx < nx as f64 && qy >= 0.0 && qy < ny as f64 && fresh(qx, qy) {
                let sx = ((qx - rxp) as i64).max(0) as usize;
                let ex = ((qx + rxp + 1.0) as i64).min(nx as i64) as usize;
                let sy = ((qy - ryp) as i64).max(0) as usize;
                let ey = ((qy + ryp + 1.0) as i64).min(ny as i64) as usize;
                done = true;
                'scan: for x in sx..ex {
                    for y in sy..ey {
                        let j = y * nx + x;
                        if mask[j] == 1 && ((qx - x as f64) / rx[j]).powi(2) + ((qy - y as f64) / ry[j]).powi(2) < 1.0 {
                            done = false;
                            break 'scan;
                        }
                    }
                }
            }
            k += 1;
        }
        if done {
            let (ix, iy) = (qx as i64, qy as i64);
            pxs.push(ix);
            pys.push(iy);
            mask[iy as usize * nx + ix as usize] = 1;
        } else {
            pxs.swap_remove(i);
            pys.swap_remove(i);
        }
    }
    let (cy0, cy1) = ((ny as f64 / 2.0 - calib[0] / 2.0) as usize, (ny as f64 / 2.0 + calib[0] / 2.0) as usize);
    let (cx0, cx1) = ((nx as f64 / 2.0 - calib[1] / 2.0) as usize, (nx as f64 / 2.0 + calib[1] / 2.0) as usize);
    for y in cy0..cy1.min(ny) {
        for x in cx0..cx1.min(nx) {
            mask[y * nx + x] = 1;
        }
    }
    mask
}
