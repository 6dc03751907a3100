//! LPIPS (Zhang et al. 2018, version 0.1, AlexNet backbone), scored only with weights the user
//! supplies: the kit ships no pretrained network (`MCMR_LPIPS_WEIGHTS`, see [`Lpips::from_env`]).
//!
//! The distance of two images `x₀, x₁` in [−1, 1], 3 channels:
//! 1. each channel shifted and scaled: `(x − shift_c) / scale_c` (the package's scaling layer);
//! 2. AlexNet's features after its five ReLUs (conv 11×11/4 pad 2 → ReLU; max-pool 3/2, conv
//!    5×5 pad 2 → ReLU; max-pool 3/2, conv 3×3 pad 1 → ReLU; conv 3×3 → ReLU; conv 3×3 → ReLU);
//! 3. per layer, each position's feature vector divided by its norm (+1e-10), the squared
//!    difference weighted per channel by the layer's non-negative `lin` weights, averaged over
//!    the positions; the five layer terms summed.
//!
//! The weights are the state dict of `lpips.LPIPS(net='alex')` saved as safetensors, keys
//! `scaling_layer.{shift,scale}`, `net.slice{1..5}.{0,3,6,8,10}.{weight,bias}` and
//! `lin{0..4}.model.1.weight`. Single-channel MRI magnitudes are replicated to 3 channels.
//! Plain loops on the host: scoring, never training.

use crate::io::safetensors::read_safetensors;
use std::path::{Path, PathBuf};

struct Conv {
    weight: Vec<f32>,
    bias: Vec<f32>,
    cout: usize,
    cin: usize,
    k: usize,
    stride: usize,
    pad: usize,
}

/// A feature map `[C, H, W]`.
#[derive(Clone)]
struct Map {
    c: usize,
    h: usize,
    w: usize,
    v: Vec<f32>,
}

impl Conv {
    fn apply_relu(&self, x: &Map) -> Map {
        let (oh, ow) =
            ((x.h + 2 * self.pad - self.k) / self.stride + 1, (x.w + 2 * self.pad - self.k) / self.stride + 1);
        let mut out = vec![0.0f32; self.cout * oh * ow];
        for o in 0..self.cout {
            let plane = &mut out[o * oh * ow..(o + 1) * oh * ow];
            plane.iter_mut().for_each(|p| *p = self.bias[o]);
            for ci in 0..self.cin {
                let input = &x.v[ci * x.h * x.w..(ci + 1) * x.h * x.w];
                for ky in 0..self.k {
                    for kx in 0..self.k {
                        let wv = self.weight[((o * self.cin + ci) * self.k + ky) * self.k + kx];
                        for r in 0..oh {
                            let y = (r * self.stride + ky) as isize - self.pad as isize;
                            if y < 0 || y >= x.h as isize {
                                continue;
                            }
                            let row = &input[y as usize * x.w..(y as usize + 1) * x.w];
                            for c in 0..ow {
                                let xx = (c * self.stride + kx) as isize - self.pad as isize;
                                if xx >= 0 && xx < x.w as isize {
                                    plane[r * ow + c] += wv * row[xx as usize];
                                }
                            }
                        }
                    }
                }
            }
            plane.iter_mut().for_each(|p| *p = p.max(0.0));
        }
        Map { c: self.cout, h: oh, w: ow, v: out }
    }
}

/// Max-pooling 3×3, stride 2, no padding (AlexNet's).
fn max_pool(x: &Map) -> Map {
    let (oh, ow) = ((x.h - 3) / 2 + 1, (x.w - 3) / 2 + 1);
    let mut v = vec![f32::NEG_INFINITY; x.c * oh * ow];
    for c in 0..x.c {
        for r in 0..oh {
            for col in 0..ow {
                let mut m = f32::NEG_INFINITY;
                for dy in 0..3 {
                    for dx in 0..3 {
                        m = m.max(x.v[(c * x.h + 2 * r + dy) * x.w + 2 * col + dx]);
                    }
                }
                v[(c * oh + r) * ow + col] = m;
            }
        }
    }
    Map { c: x.c, h: oh, w: ow, v }
}

/// LPIPS with AlexNet and the v0.1 linear layers, loaded from a safetensors file.
pub struct Lpips {
    shift: [f32; 3],
    scale: [f32; 3],
    convs: Vec<Conv>,
    lins: Vec<Vec<f32>>,
    /// The weights file (named in results and errors).
    pub path: PathBuf,
    hash: String,
}

impl Lpips {
    /// The smallest image side AlexNet's five layers accept.
    pub const MIN_SIZE: usize = 31;

    /// Loads the weights; errors name the file and the missing or mis-shaped tensor.
    pub fn load(path: &Path) -> Result<Lpips, String> {
        let t = read_safetensors(path).map_err(|e| format!("LPIPS weights `{}`: {e}", path.display()))?;
        let get = |key: &str, shape: &[usize]| -> Result<Vec<f32>, String> {
            let x = t.get(key).ok_or_else(|| {
                format!(
                    "LPIPS weights `{}`: no tensor `{key}` (expected lpips.LPIPS(net='alex')'s state dict)",
                    path.display()
                )
            })?;
            if x.shape != shape {
                return Err(format!(
                    "LPIPS weights `{}`: `{key}` has shape {:?}, expected {shape:?}",
                    path.display(),
                    x.shape
                ));
            }
            if let Some(v) = x.data.iter().find(|v| !v.is_finite()) {
                return Err(format!("LPIPS weights `{}`: `{key}` holds a non-finite value ({v})", path.display()));
            }
            Ok(x.data.iter().map(|&v| v as f32).collect())
        };
        let three = |key: &str| -> Result<[f32; 3], String> {
            let v = get(key, &[1, 3, 1, 1])?;
            Ok([v[0], v[1], v[2]])
        };
        // (slice, index in AlexNet's `features`, out, in, kernel, stride, padding)
        let layers = [
            (1, 0, 64, 3, 11, 4, 2),
            (2, 3, 192, 64, 5, 1, 2),
            (3, 6, 384, 192, 3, 1, 1),
            (4, 8, 256, 384, 3, 1, 1),
            (5, 10, 256, 256, 3, 1, 1),
        ];
        let mut convs = Vec::new();
        let mut lins = Vec::new();
        for (i, &(slice, idx, cout, cin, k, stride, pad)) in layers.iter().enumerate() {
            let weight = get(&format!("net.slice{slice}.{idx}.weight"), &[cout, cin, k, k])?;
            let bias = get(&format!("net.slice{slice}.{idx}.bias"), &[cout])?;
            convs.push(Conv { weight, bias, cout, cin, k, stride, pad });
            lins.push(get(&format!("lin{i}.model.1.weight"), &[1, cout, 1, 1])?);
        }
        Ok(Lpips {
            shift: three("scaling_layer.shift")?,
            scale: three("scaling_layer.scale")?,
            convs,
            lins,
            path: path.to_path_buf(),
            hash: format!("{:016x}", crate::io::fnv1a(crate::io::FNV_OFFSET, &std::fs::read(path).unwrap_or_default())),
        })
    }

    /// The weights file and its FNV-1a hash, for results.
    pub fn describe(&self) -> String {
        format!("{} (fnv1a {})", self.path.display(), self.hash)
    }

    /// The weights named by `MCMR_LPIPS_WEIGHTS`, or `None` when it is unset.
    pub fn from_env() -> Option<Result<Lpips, String>> {
        std::env::var_os("MCMR_LPIPS_WEIGHTS").map(|p| Lpips::load(Path::new(&p)))
    }

    fn features(&self, img: &[f32], h: usize, w: usize) -> Vec<Map> {
        let mut v = Vec::with_capacity(3 * h * w);
        for c in 0..3 {
            v.extend(img.iter().map(|&x| (x - self.shift[c]) / self.scale[c]));
        }
        let mut x = Map { c: 3, h, w, v };
        let mut out = Vec::with_capacity(5);
        for (i, conv) in self.convs.iter().enumerate() {
            if i == 1 || i == 2 {
                x = max_pool(&x);
            }
            x = conv.apply_relu(&x);
            out.push(x.clone());
        }
        out
    }

    /// The distance of two single-channel images `h × w` already in [−1, 1] (replicated to
    /// three channels). Errors when an image is smaller than AlexNet accepts.
    pub fn distance(&self, a: &[f32], b: &[f32], h: usize, w: usize) -> Result<f64, String> {
        Ok(self.layer_distances(a, b, h, w)?.iter().sum())
    }

    /// The five layers' terms of [`Lpips::distance`].
    pub fn layer_distances(&self, a: &[f32], b: &[f32], h: usize, w: usize) -> Result<Vec<f64>, String> {
        if h < Self::MIN_SIZE || w < Self::MIN_SIZE {
            return Err(format!(
                "LPIPS needs images of at least {0}x{0} (AlexNet's layers), got {h}x{w}",
                Self::MIN_SIZE
            ));
        }
        if a.len() != h * w || b.len() != h * w {
            return Err(format!("LPIPS: images of {} and {} values for {h}x{w}", a.len(), b.len()));
        }
        let (fa, fb) = (self.features(a, h, w), self.features(b, h, w));
        let mut terms = Vec::with_capacity(5);
        for ((x, y), lin) in fa.iter().zip(&fb).zip(&self.lins) {
            let n = x.h * x.w;
            let mut sum = 0.0f64;
            for p in 0..n {
                let norm = |m: &Map| (0..m.c).map(|c| m.v[c * n + p] * m.v[c * n + p]).sum::<f32>().sqrt() + 1e-10;
                let (nx, ny) = (norm(x), norm(y));
                let mut s = 0.0f32;
                for c in 0..x.c {
                    let d = x.v[c * n + p] / nx - y.v[c * n + p] / ny;
                    s += lin[c] * d * d;
                }
                sum += s as f64;
            }
            terms.push(sum / n as f64);
        }
        Ok(terms)
    }

    /// LPIPS of a reconstruction against its target, both magnitudes mapped to [−1, 1] by the
    /// target's range (the same map for both, so a prediction off in scale scores so).
    pub fn magnitude_distance(&self, target: &[f64], pred: &[f64], h: usize, w: usize) -> Result<f64, String> {
        let (lo, hi) = target.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, u), &v| (l.min(v), u.max(v)));
        let range = if hi > lo { hi - lo } else { 1.0 };
        let map = |v: &[f64]| v.iter().map(|&x| (2.0 * (x - lo) / range - 1.0) as f32).collect::<Vec<f32>>();
        self.distance(&map(target), &map(pred), h, w)
    }
}
