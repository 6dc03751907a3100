//! fastMRI single-coil HDF5 volumes (pure Rust, no HDF5 C library).
//!
//! A volume file holds `kspace` (complex, `[slices, rows, columns]`), the target
//! `reconstruction_esc` (`[slices, 320, 320]` for the knee), the ISMRMRD XML header
//! (`ismrmrd_header`) and attributes such as `max` (the volume maximum fastMRI's validation uses
//! as data range) and `acquisition` (`CORPD_FBK` or `CORPDFS_FBK` for the knee). From the
//! header, as fastMRI does: the encoded and reconstructed matrix sizes, and the phase-encoding
//! limits `padding_left = encoded_y/2 − center` and `padding_right = padding_left + maximum + 1`.
//!
//! PD/PDFS pairs come from a CSV list (no header; first column the PD file's basename without
//! `.h5`, second the PDFS file's; further columns ignored), the format of MTrans's and FSMNet's
//! `singlecoil_{train,val}_split_less.csv`. Slices are paired by index up to the shorter volume.

use crate::data::dataset::{DataError, Dataset, ReferenceStats, SliceItem, SliceMeta};
use crate::data::prepare::{crop_or_pad, stats, NormStats, Normalisation};
use crate::kspace::{apply_mask, zero_filled_magnitude};
use crate::masks::Mask;
use num_complex::Complex32;
use std::path::{Path, PathBuf};

/// Sizes and limits read from the ISMRMRD header.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EncodingInfo {
    pub encoded_size: [usize; 3],
    pub recon_size: [usize; 3],
    pub padding_left: i64,
    pub padding_right: i64,
}

/// An opened fastMRI volume (metadata only; slices are read on demand).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FastMriVolume {
    pub path: PathBuf,
    pub slices: usize,
    /// `[rows, columns]` of each k-space slice.
    pub kspace_shape: [usize; 2],
    /// `[H, W]` of `reconstruction_esc`, when present.
    pub target_shape: Option<[usize; 2]>,
    /// The `max` attribute.
    pub max: Option<f64>,
    /// The `acquisition` attribute.
    pub acquisition: Option<String>,
    pub encoding: Option<EncodingInfo>,
}

fn err(path: &Path, m: impl std::fmt::Display) -> String {
    format!("`{}`: {m}", path.display())
}

/// The text of the first element at the nested tag path (namespace prefixes ignored).
fn xml_path(xml: &str, path: &[&str]) -> Option<String> {
    let mut rest = xml;
    for (i, tag) in path.iter().enumerate() {
        let open = format!("<{tag}");
        let mut start = None;
        let mut from = 0;
        while let Some(p) = rest[from..].find(&open) {
            let at = from + p + open.len();
            if rest[at..].starts_with('>') || rest[at..].starts_with(' ') {
                start = Some(at + rest[at..].find('>')? + 1);
                break;
            }
            from = at;
        }
        let start = start?;
        let close = format!("</{tag}>");
        let end = start + rest[start..].find(&close)?;
        rest = &rest[start..end];
        if i + 1 == path.len() {
            return Some(rest.trim().to_string());
        }
    }
    None
}

/// Parses the parts of the ISMRMRD header that fastMRI uses.
pub fn parse_ismrmrd_header(xml: &str) -> Result<EncodingInfo, String> {
    let num = |p: &[&str]| -> Result<usize, String> {
        let v = xml_path(xml, p).ok_or_else(|| format!("ISMRMRD header has no <{}>", p.join("/")))?;
        v.parse().map_err(|_| format!("ISMRMRD header <{}> is `{v}`, not a number", p.join("/")))
    };
    let size = |space: &str| -> Result<[usize; 3], String> {
        Ok([
            num(&["encoding", space, "matrixSize", "x"])?,
            num(&["encoding", space, "matrixSize", "y"])?,
            num(&["encoding", space, "matrixSize", "z"])?,
        ])
    };
    let encoded_size = size("encodedSpace")?;
    let recon_size = size("reconSpace")?;
    let center = num(&["encoding", "encodingLimits", "kspace_encoding_step_1", "center"])? as i64;
    let maximum = num(&["encoding", "encodingLimits", "kspace_encoding_step_1", "maximum"])? as i64 + 1;
    let padding_left = encoded_size[1] as i64 / 2 - center;
    Ok(EncodingInfo { encoded_size, recon_size, padding_left, padding_right: padding_left + maximum })
}

/// Any of HDF5's scalar string attribute encodings as a `String`.
fn attr_string(v: &hdf5_pure::AttrValue) -> Option<String> {
    use hdf5_pure::AttrValue as A;
    match v {
        A::String(s) | A::AsciiString(s) | A::VarLenString(s) | A::VarLenAsciiString(s) => Some(s.clone()),
        A::StringSized { value, .. } | A::AsciiStringSized { value, .. } => Some(value.clone()),
        _ => None,
    }
    .map(|s| s.trim_end_matches('\0').to_string())
}

fn shape_of(ds: &hdf5_pure::Dataset) -> Result<Vec<usize>, hdf5_pure::Error> {
    Ok(ds.shape()?.into_iter().map(|v| v as usize).collect())
}

/// Opens a volume and reads its metadata; errors name the file and what was expected.
pub fn open_volume(path: &Path) -> Result<FastMriVolume, String> {
    let file = hdf5_pure::File::open(path).map_err(|e| err(path, format!("not a readable HDF5 file: {e}")))?;
    let ks = file
        .dataset("kspace")
        .map_err(|_| err(path, "has no `kspace` dataset (expected a fastMRI single-coil volume)"))?;
    let shape = shape_of(&ks).map_err(|e| err(path, e))?;
    let [slices, rows, cols] = shape[..] else {
        return Err(err(path, format!("`kspace` has shape {shape:?}; expected [slices, rows, columns] (single-coil)")));
    };
    let target_shape = match file.dataset("reconstruction_esc") {
        Ok(t) => match shape_of(&t).map_err(|e| err(path, e))?[..] {
            [_, h, w] => Some([h, w]),
            ref other => {
                return Err(err(path, format!("`reconstruction_esc` has shape {other:?}; expected [slices, H, W]")))
            }
        },
        Err(_) => None,
    };
    let attrs = file.root().attrs().map_err(|e| err(path, e))?;
    let max = match attrs.get("max") {
        Some(hdf5_pure::AttrValue::F64(v)) => Some(*v),
        Some(hdf5_pure::AttrValue::F32(v)) => Some(*v as f64),
        _ => None,
    };
    let acquisition = attrs.get("acquisition").and_then(attr_string);
    let encoding = match file.dataset("ismrmrd_header") {
        Ok(h) => {
            let raw = h.read_raw().map_err(|e| err(path, e))?;
            let text = String::from_utf8_lossy(&raw).trim_end_matches('\0').to_string();
            Some(parse_ismrmrd_header(&text).map_err(|e| err(path, e))?)
        }
        Err(_) => None,
    };
    Ok(FastMriVolume {
        path: path.to_path_buf(),
        slices,
        kspace_shape: [rows, cols],
        target_shape,
        max,
        acquisition,
        encoding,
    })
}

impl FastMriVolume {
    /// k-space slice `s` as `rows × columns` complex values.
    pub fn kspace(&self, s: usize) -> Result<Vec<Complex32>, String> {
        let file = hdf5_pure::File::open(&self.path).map_err(|e| err(&self.path, e))?;
        let ds = file.dataset("kspace").map_err(|e| err(&self.path, e))?;
        let raw = ds.read_raw_rows(s as u64, 1).map_err(|e| err(&self.path, e))?;
        let n = self.kspace_shape[0] * self.kspace_shape[1];
        match raw.len() / n.max(1) {
            8 => Ok(raw
                .chunks_exact(8)
                .map(|c| {
                    Complex32::new(
                        f32::from_le_bytes(c[..4].try_into().unwrap()),
                        f32::from_le_bytes(c[4..].try_into().unwrap()),
                    )
                })
                .collect()),
            16 => Ok(raw
                .chunks_exact(16)
                .map(|c| {
                    Complex32::new(
                        f64::from_le_bytes(c[..8].try_into().unwrap()) as f32,
                        f64::from_le_bytes(c[8..].try_into().unwrap()) as f32,
                    )
                })
                .collect()),
            b => Err(err(&self.path, format!("`kspace` has {b}-byte elements; expected complex64 or complex128"))),
        }
    }

    /// `reconstruction_esc` slice `s`.
    pub fn target(&self, s: usize) -> Result<Vec<f32>, String> {
        let file = hdf5_pure::File::open(&self.path).map_err(|e| err(&self.path, e))?;
        let ds = file
            .dataset("reconstruction_esc")
            .map_err(|_| err(&self.path, "has no `reconstruction_esc` dataset (the single-coil target)"))?;
        ds.read_f32_rows(s as u64, 1).map_err(|e| err(&self.path, e))
    }
}

/// Reads a PD/PDFS pair list; errors name `file:line`.
pub fn read_pairs_csv(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| err(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        if cols.len() < 2 || cols[0].is_empty() || cols[1].is_empty() {
            return Err(format!("{}:{}: expected `pd_file,pdfs_file[,...]`, found `{line}`", path.display(), i + 1));
        }
        out.push((cols[0].trim_end_matches(".h5").to_string(), cols[1].trim_end_matches(".h5").to_string()));
    }
    Ok(out)
}

/// One paired slice.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedSlice {
    pub pd: usize,
    pub pdfs: usize,
    pub slice: usize,
}

/// Opens every pair's volumes under `root`; returns the volumes, the paired slices (by index up
/// to the shorter volume) and every problem found.
pub fn paired_slices(root: &Path, pairs: &[(String, String)]) -> (Vec<FastMriVolume>, Vec<PairedSlice>, Vec<String>) {
    let mut volumes: Vec<FastMriVolume> = Vec::new();
    let mut slices = Vec::new();
    let mut problems = Vec::new();
    let mut open = |name: &str, volumes: &mut Vec<FastMriVolume>| -> Option<usize> {
        let path = root.join(format!("{name}.h5"));
        if let Some(i) = volumes.iter().position(|v| v.path == path) {
            return Some(i);
        }
        match open_volume(&path) {
            Ok(v) => {
                volumes.push(v);
                Some(volumes.len() - 1)
            }
            Err(e) => {
                problems.push(e);
                None
            }
        }
    };
    for (pd, pdfs) in pairs {
        let (a, b) = (open(pd, &mut volumes), open(pdfs, &mut volumes));
        if let (Some(a), Some(b)) = (a, b) {
            for s in 0..volumes[a].slices.min(volumes[b].slices) {
                slices.push(PairedSlice { pd: a, pdfs: b, slice: s });
            }
        }
    }
    (volumes, slices, problems)
}

/// Writes a fastMRI single-coil volume: `kspace` `[slices, H, W]` complex64 (the centred,
/// orthonormal k-space of each slice of `image`, times `scale`: fastMRI's k-space is of order
/// 1e-5 to 1e-3), `reconstruction_esc` (the magnitude images, times `scale`) and the root
/// attribute `max`. For test data in fastMRI's format and units; the file is written atomically.
pub fn write_volume(path: &Path, image: &crate::io::volume::Volume, scale: f64) -> Result<(), String> {
    let (h, w) = (image.height, image.width);
    let mut kspace: Vec<(f32, f32)> = Vec::with_capacity(image.data.len());
    let mut target: Vec<f32> = Vec::with_capacity(image.data.len());
    for s in 0..image.slices {
        let mut k: Vec<Complex32> = image.slice(s).iter().map(|&v| Complex32::new((v * scale) as f32, 0.0)).collect();
        crate::fft::fft2c(&mut k, h, w);
        kspace.extend(k.iter().map(|z| (z.re, z.im)));
        target.extend(image.slice(s).iter().map(|&v| (v * scale) as f32));
    }
    let max = target.iter().cloned().fold(0.0f32, f32::max) as f64;
    let mut b = hdf5_pure::FileBuilder::new();
    let shape = [image.slices as u64, h as u64, w as u64];
    b.create_dataset("kspace").with_complex32_data(&kspace).with_shape(&shape);
    b.create_dataset("reconstruction_esc").with_f32_data(&target).with_shape(&shape);
    b.set_attr("max", hdf5_pure::AttrValue::F64(max));
    let tmp = path.with_extension(format!("h5.{}.tmp", std::process::id()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| err(path, e))?;
    }
    b.write(&tmp).map_err(|e| err(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(path, e)
    })
}

impl Dataset {
    /// A fastMRI pair with k-space simulated from its images (`fastmri_kspace = "simulated"`,
    /// IMA's pipeline): target (PDFS) and reference (PD) are the `reconstruction_esc` slices,
    /// min-max normalised when the normalisation says so, and the rest is what a NIfTI folder's
    /// item gets (the mask on the image grid, the target's centred FFT, the zero-filled input).
    fn simulated_from_images(
        &self,
        i: usize,
        epoch: usize,
        pair: &PairedSlice,
        pd: &FastMriVolume,
        pdfs: &FastMriVolume,
    ) -> Result<SliceItem, DataError> {
        let [h, w] = pdfs.target_shape.expect("checked at open");
        let image = |v: &FastMriVolume| -> Result<Vec<f64>, DataError> {
            let t = v.target(pair.slice).map_err(|e| DataError::Problems(vec![e]))?;
            let [th, tw] = v.target_shape.expect("checked at open");
            Ok(crop_or_pad(&t.into_iter().map(f64::from).collect::<Vec<_>>(), th, tw, h, w))
        };
        let images = self.before_simulation(h, w, image(pdfs)?, image(pd)?);
        let volume = pdfs.path.file_stem().unwrap().to_string_lossy().into_owned();
        let source = format!("fastmri:{}", pdfs.path.parent().map(|p| p.display().to_string()).unwrap_or_default());
        self.simulated_item(i, epoch, images, &volume, pair.slice, source)
    }

    /// fastMRI pairs: input from the masked raw PDFS k-space, target and reference from
    /// `reconstruction_esc`; the reference is normalised with its own statistics or, with
    /// [`ReferenceStats::ZeroFilled`] (FSMNet's knee pipeline), those of the zero-filled PD image
    /// under its own mask.
    pub(super) fn get_fastmri(&self, i: usize, epoch: usize) -> Result<SliceItem, DataError> {
        let (volumes, slices) = self.fastmri.as_deref().expect("fastMRI source");
        let pair = &slices[i];
        let (pd, pdfs) = (&volumes[pair.pd], &volumes[pair.pdfs]);
        let name = |v: &FastMriVolume| v.path.file_name().unwrap().to_string_lossy().into_owned();
        let zero_filled = |v: &FastMriVolume, mask: &Mask| -> Result<(Vec<Complex32>, Vec<f64>), DataError> {
            let [rows, cols] = v.kspace_shape;
            let k =
                apply_mask(&v.kspace(pair.slice).map_err(|e| DataError::Problems(vec![e]))?, &mask.data, rows, cols);
            let [th, tw] = v.target_shape.expect("checked at open");
            let img: Vec<f64> = zero_filled_magnitude(&k, rows, cols).into_iter().map(f64::from).collect();
            Ok((k, crop_or_pad(&img, rows, cols, th, tw)))
        };
        if self.config.fastmri_simulated {
            return self.simulated_from_images(i, epoch, pair, pd, pdfs);
        }
        let [rows, cols] = pdfs.kspace_shape;
        let (mask, mask_seed) = self.mask_for(&name(pdfs), i, epoch, rows, cols)?;
        let (kspace, mut input) = zero_filled(pdfs, &mask)?;
        let [th, tw] = pdfs.target_shape.expect("checked at open");
        let read_target = |v: &FastMriVolume| -> Result<Vec<f64>, DataError> {
            let t = v.target(pair.slice).map_err(|e| DataError::Problems(vec![e]))?;
            let [h, w] = v.target_shape.expect("checked at open");
            Ok(crop_or_pad(&t.into_iter().map(f64::from).collect::<Vec<_>>(), h, w, th, tw))
        };
        let mut target = read_target(pdfs)?;
        let mut reference = read_target(pd)?;
        let (mut is, mut rs) = (NormStats::IDENTITY, NormStats::IDENTITY);
        if self.config.normalisation != Normalisation::None {
            is = stats(self.config.normalisation, &input);
            rs = match self.config.reference_stats {
                ReferenceStats::Own => stats(self.config.normalisation, &reference),
                ReferenceStats::ZeroFilled => {
                    let [pr, pc] = pd.kspace_shape;
                    let (pd_mask, _) = self.mask_for(&name(pd), i, epoch, pr, pc)?;
                    let (_, pd_input) = zero_filled(pd, &pd_mask)?;
                    stats(self.config.normalisation, &pd_input)
                }
            };
            is.apply(&mut input);
            is.apply(&mut target);
            rs.apply(&mut reference);
        }
        let f32v = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        let meta = SliceMeta {
            source: format!("fastmri:{}", pdfs.path.parent().map(|p| p.display().to_string()).unwrap_or_default()),
            subject: pdfs.path.file_stem().unwrap().to_string_lossy().into_owned(),
            slice: pair.slice,
            target_stats: is,
            reference_stats: rs,
            input_stats: is,
            mask_family: mask.family.name(),
            mask_seed: mask_seed.describe(),
            mask_hash: mask.hash_hex(),
        };
        Ok(SliceItem {
            height: th,
            width: tw,
            target: f32v(target),
            reference: f32v(reference),
            input: f32v(input),
            kspace_shape: [rows, cols],
            kspace_convention: self.config.kspace_convention,
            full_kspace: None,
            kspace,
            mask,
            meta,
        })
    }
}
