//! Reading an image or a volume for metrics: `.npy` (2D slice or 3D `[slices, H, W]`) or NIfTI
//! (`.nii`, `.nii.gz`; 2D, or 3D sliced along its third axis).
//!
//! NIfTI axes are `(x, y, z)`; slice `k` is `data[:, :, k]` with `H = x` and `W = y`, as nibabel
//! indexes it. Metrics compare two files read the same way, so the orientation only has to be
//! consistent, not radiological.

use crate::io::{npy, IoError};
use std::path::Path;

/// A stack of 2D slices `[slices, H, W]` in `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    /// Number of slices.
    pub slices: usize,
    /// Rows per slice.
    pub height: usize,
    /// Columns per slice.
    pub width: usize,
    /// Values, slice-major, row-major within a slice.
    pub data: Vec<f64>,
}

impl Volume {
    /// Wraps `data` of shape `[slices, height, width]`.
    pub fn new(slices: usize, height: usize, width: usize, data: Vec<f64>) -> Self {
        assert_eq!(slices * height * width, data.len(), "volume shape does not match the data");
        Volume { slices, height, width, data }
    }

    /// Slice `k` as a row-major `H×W` slice of values.
    pub fn slice(&self, k: usize) -> &[f64] {
        let n = self.height * self.width;
        &self.data[k * n..(k + 1) * n]
    }

    /// `[slices, H, W]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.slices, self.height, self.width]
    }
}

/// Reads a `.npy` or NIfTI file as a [`Volume`].
pub fn read_volume(path: &Path) -> Result<Volume, IoError> {
    let name = path.to_string_lossy().to_lowercase();
    if name.ends_with(".npy") {
        let a = npy::read_npy(path)?;
        match a.shape.as_slice() {
            [h, w] => Ok(Volume::new(1, *h, *w, a.data)),
            [s, h, w] => Ok(Volume::new(*s, *h, *w, a.data)),
            other => Err(IoError::Format {
                path: path.to_path_buf(),
                message: format!("expected a 2D slice [H, W] or a 3D volume [slices, H, W], found shape {other:?}"),
            }),
        }
    } else if name.ends_with(".nii") || name.ends_with(".nii.gz") {
        read_nifti(path)
    } else {
        Err(IoError::Format {
            path: path.to_path_buf(),
            message: "unknown file type: expected `.npy`, `.nii` or `.nii.gz`".into(),
        })
    }
}

/// Writes a volume `[slices, H, W]` as a float32 NIfTI file (`.nii` or `.nii.gz`), stored as
/// `(x, y, z) = (H, W, slices)` so that [`read_volume`] gives it back unchanged. Atomic: the data
/// go to a temporary file in the same folder, which is then renamed.
pub fn write_nifti(path: &Path, v: &Volume) -> Result<(), IoError> {
    let arr = ndarray::Array3::<f32>::from_shape_fn((v.height, v.width, v.slices), |(r, c, k)| {
        v.data[k * v.height * v.width + r * v.width + c] as f32
    });
    write_with(path, |tmp| nifti::writer::WriterOptions::new(tmp).write_nifti(&arr))
}

/// Writes a volume as an int16 NIfTI file, as BraTS and IXI ship theirs: each value `x` stored
/// as `round(x·scale)`, clamped to the int16 range (no slope: the file holds the integers).
pub fn write_nifti_int16(path: &Path, v: &Volume, scale: f64) -> Result<(), IoError> {
    let arr = ndarray::Array3::<i16>::from_shape_fn((v.height, v.width, v.slices), |(r, c, k)| {
        (v.data[k * v.height * v.width + r * v.width + c] * scale).round().clamp(i16::MIN as f64, i16::MAX as f64)
            as i16
    });
    write_with(path, |tmp| nifti::writer::WriterOptions::new(tmp).write_nifti(&arr))
}

/// Runs `write` on a temporary file beside `path`, then renames it to `path`.
fn write_with(path: &Path, write: impl FnOnce(&Path) -> nifti::Result<()>) -> Result<(), IoError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = if name.ends_with(".nii.gz") { "nii.gz" } else { "nii" };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| IoError::Write { path: path.to_path_buf(), source: e })?;
    }
    let tmp = path.with_file_name(format!(".{name}.{}.tmp.{ext}", std::process::id()));
    write(&tmp)
        .map_err(|e| IoError::Format { path: path.to_path_buf(), message: format!("cannot write NIfTI: {e}") })?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        IoError::Write { path: path.to_path_buf(), source: e }
    })
}

fn read_nifti(path: &Path) -> Result<Volume, IoError> {
    // The nifti crate can panic on inconsistent files; never let that escape.
    match std::panic::catch_unwind(|| read_nifti_inner(path)) {
        Ok(r) => r,
        Err(_) => Err(IoError::Format {
            path: path.to_path_buf(),
            message: "malformed NIfTI file (its header does not match its data)".into(),
        }),
    }
}

fn read_nifti_inner(path: &Path) -> Result<Volume, IoError> {
    use nifti::{IntoNdArray, NiftiObject, NiftiType, ReaderOptions};
    let fmt = |m: String| IoError::Format { path: path.to_path_buf(), message: m };
    let obj = ReaderOptions::new().read_file(path).map_err(|e| fmt(format!("not a readable NIfTI file: {e}")))?;
    let header = obj.header();
    match header.data_type() {
        Ok(NiftiType::Uint8 | NiftiType::Int8 | NiftiType::Int16 | NiftiType::Uint16 | NiftiType::Int32)
        | Ok(NiftiType::Uint32 | NiftiType::Int64 | NiftiType::Uint64 | NiftiType::Float32 | NiftiType::Float64) => {}
        Ok(other) => {
            return Err(fmt(format!(
                "unsupported NIfTI data type {other:?} (expected a scalar integer or floating-point type)"
            )))
        }
        Err(_) => return Err(fmt(format!("unknown NIfTI data type code {}", header.datatype))),
    }
    let arr = obj
        .into_volume()
        .into_ndarray::<f64>()
        .map_err(|e| fmt(format!("cannot convert the NIfTI data to floating point: {e}")))?;
    let shape = arr.shape().to_vec();
    let (x, y, z) = match shape.as_slice() {
        [x, y] => (*x, *y, 1),
        [x, y, z] => (*x, *y, *z),
        [x, y, z, 1] => (*x, *y, *z),
        other => return Err(fmt(format!("expected a 2D or 3D NIfTI image, found dimensions {other:?}"))),
    };
    let ndim = shape.len();
    let mut data = Vec::with_capacity(x * y * z);
    for k in 0..z {
        for i in 0..x {
            for j in 0..y {
                let index = [i, j, k, 0];
                data.push(arr[&index[..ndim]]);
            }
        }
    }
    Ok(Volume::new(z, x, y, data))
}
