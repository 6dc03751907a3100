//! One dataset interface over every source: slice items with target, reference, zero-filled
//! input, masked k-space, mask and metadata.
//!
//! Per item, in this order (the papers' pipelines):
//! 1. the target and reference slices are extracted, oriented and cropped/padded;
//! 2. `min_max` normalisation (UniFS) maps each to [0, 1] *before* the k-space simulation;
//! 3. paired augmentation (if configured): the same rotation (nearest neighbour, as torchvision's
//!    `RandomRotation`) and horizontal flip for target and reference;
//! 4. the mask is chosen by the [`MaskPolicy`];
//! 5. k-space = `fft2c(target)`, masked; input = `|ifft2c(masked k-space)|`;
//! 6. `mean_std`/`instance` normalisation: the input by its own statistics, **the target by the
//!    input's statistics**, the reference by its own ([`ReferenceStats::Own`]) or by those of its
//!    zero-filled image under its own mask ([`ReferenceStats::ZeroFilled`]: FSMNet's knee data).
//!
//! Every random choice is seeded from the configuration's seed, the epoch and the item index,
//! so the same configuration gives the same items in the same order. Prepared slices (step 1–2)
//! are cached in memory, so a second epoch does no decoding or resampling work.

use crate::data::cc359::KSpaceVolume;
use crate::data::fastmri::{paired_slices, read_pairs_csv, FastMriVolume, PairedSlice};
use crate::data::layout::{discover, load_subject, Layout};
use crate::data::phantom::{self, Kind, PhantomOptions};
use crate::data::prepare::{
    check_split_names, read_split_file, split_by_ratio, NormStats, Normalisation, Orientation, Part, Resize,
    SliceSelection,
};
use crate::data::simulate::{augment, Prepared};
use crate::io::volume::Volume;
use crate::kspace::KSpaceConvention;
use crate::masks::{generate, Mask, MaskParams};
use crate::rng::{NumpyRng, Seed};
use num_complex::Complex32;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where the data come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// The embedded phantom, generated in memory.
    Phantom { kind: Kind, subjects: usize, size: usize, slices: usize, seed: u32, options: PhantomOptions },
    /// A folder of NIfTI volumes in one of the [`Layout`]s (detected when `None`).
    Folder { root: PathBuf, layout: Option<Layout> },
    /// fastMRI single-coil knee volumes under `root`, paired by a CSV list (target = the
    /// second column's volume, PDFS; reference = the first's, PD). Input = the zero-filled
    /// image of the masked *raw* k-space, centre-cropped to `reconstruction_esc`'s size; target
    /// and reference = `reconstruction_esc`.
    FastMri { root: PathBuf, pairs: PathBuf },
    /// Measured single-coil k-space, one volume per subject under `root`: `.npy` (CC359's
    /// single-channel raw data) or fastMRI single-coil `.h5` ([`crate::data::cc359`]).
    /// Single-contrast: the reference is the
    /// target. The complex image is normalised before masking, so k-space and images share one
    /// scale; `size` cuts the centred k-space (same field of view).
    KSpace { root: PathBuf },
}

/// How masks are chosen for the items.
#[derive(Clone, Debug, PartialEq)]
pub enum MaskPolicy {
    /// One mask for every slice (FSMNet's BraTS data).
    Fixed(MaskParams),
    /// A fixed mask per slice, seeded by the mask seed, the subject and the slice (offline).
    PerSlice(MaskParams),
    /// One mask per volume from fastMRI's per-file seed (the character codes of the file's
    /// basename, or of the subject id for sources without files): every slice of a volume
    /// shares it (fastMRI and FSMNet validation).
    PerVolume(MaskParams),
    /// A new draw on every call, seeded by the mask seed, the epoch and the item (UniFS).
    Online(MaskParams),
    /// Per call, a seeded choice among several patterns, then a new draw (UniFS training).
    OnlineChoice(Vec<MaskParams>),
}

/// How stored intensities reach the scale a protocol expects, per volume and before any
/// normalisation (`data { intensity = ... }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Intensity {
    /// As stored (fastMRI's volumes, the phantoms' [0, 1]).
    #[default]
    AsStored,
    /// Each volume divided by its maximum: [0, 1].
    VolumeMax,
    /// Each volume divided by its maximum and rounded to 8 bits (`round(255·x)/255`): the PNG
    /// export FSMNet's BraTS loader reads (its generator is not released; this is our choice).
    Uint8,
}

impl Intensity {
    pub const ALL: [Intensity; 3] = [Intensity::AsStored, Intensity::VolumeMax, Intensity::Uint8];

    pub fn name(self) -> &'static str {
        match self {
            Intensity::AsStored => "as_stored",
            Intensity::VolumeMax => "volume_max",
            Intensity::Uint8 => "uint8",
        }
    }

    pub fn parse(s: &str) -> Result<Intensity, String> {
        Intensity::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| format!("unknown intensity `{s}` (as_stored, volume_max, uint8)"))
    }

    /// Maps one volume in place. A volume without a positive maximum is left as it is.
    pub fn apply(self, v: &mut Volume) {
        if self == Intensity::AsStored {
            return;
        }
        let max = v.data.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if !(max > 0.0 && max.is_finite()) {
            return;
        }
        for x in &mut v.data {
            *x = (*x / max).max(0.0);
            if self == Intensity::Uint8 {
                *x = (*x * 255.0).round() / 255.0;
            }
        }
    }
}

/// Which statistics normalise the reference (`mean_std`, `instance`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReferenceStats {
    /// The reference's own (FSMNet's BraTS data, fastMRI's convention).
    #[default]
    Own,
    /// Those of the reference's zero-filled image under its own mask (FSMNet's knee pipeline,
    /// which normalises the fully sampled PD image with its under-sampled image's statistics).
    ZeroFilled,
}

/// Paired augmentation (UniFS: rotation up to ±15°, horizontal flip).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Augment {
    pub max_rotation_deg: f64,
    pub horizontal_flip: bool,
}

/// Which subjects belong to which part.
#[derive(Clone, Debug, PartialEq)]
pub enum Split {
    /// Every subject in every part.
    None,
    /// Ratios such as `[3, 1]` or `[7, 1, 2]`, after a seeded shuffle.
    Ratios(Vec<f64>, u32),
    /// A file of `subject,part` lines.
    File(PathBuf),
}

/// Everything that defines a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetConfig {
    pub source: Source,
    /// Contrast to reconstruct (e.g. `t2`, `pdfs`).
    pub target: String,
    /// Fully sampled reference contrast (e.g. `t1`, `pd`).
    pub reference: String,
    pub slices: SliceSelection,
    pub orientation: Orientation,
    /// Crop or pad every slice to `[H, W]`.
    pub size: Option<[usize; 2]>,
    pub normalisation: Normalisation,
    /// Each volume's mapping to the protocol's scale, before normalisation (default: as stored).
    pub intensity: Intensity,
    /// How slices reach `size` (default: k-space, keeping the field of view).
    pub resize: Resize,
    /// The images a network reads, its loss and the metrics see (input, reference, target)
    /// bilinearly interpolated to `N×N` after masking and normalisation, as UniFS's MTrans
    /// wrapper does (224); the mask and k-space stay on the acquisition grid, so fields of
    /// theirs are refused. `None`: the data's own size.
    pub interpolate_to: Option<usize>,
    pub reference_stats: ReferenceStats,
    pub mask: MaskPolicy,
    pub augment: Option<Augment>,
    pub split: Split,
    pub part: Option<Part>,
    /// Complex Gaussian noise added to the target's k-space before under-sampling, per
    /// component, as a fraction of the slice's mean target intensity (MANet: 0.1); 0: none.
    /// The target stays clean; training items draw fresh noise every epoch.
    pub kspace_noise: f64,
    /// The layout and scale of the k-space fields a network reads.
    pub kspace_convention: KSpaceConvention,
    /// fastMRI pairs: k-space simulated from the `reconstruction_esc` magnitude images (IMA's
    /// pipeline: the images min-max normalised, then the centred FFT, as for NIfTI folders)
    /// instead of the measured raw k-space.
    pub fastmri_simulated: bool,
    /// Seed of shuffling and augmentation.
    pub seed: u32,
    /// Keep the good subjects when some are broken (their problems are still reported).
    pub skip_bad_subjects: bool,
}

impl DatasetConfig {
    /// Every slice as stored, no crop, no normalisation, no augmentation, no split, seed 0,
    /// broken subjects an error; change fields with struct update syntax.
    pub fn new(source: Source, target: &str, reference: &str, mask: MaskPolicy) -> Self {
        DatasetConfig {
            source,
            target: target.into(),
            reference: reference.into(),
            slices: SliceSelection::All,
            orientation: Orientation::default(),
            size: None,
            normalisation: Normalisation::None,
            intensity: Intensity::AsStored,
            resize: Resize::KSpace,
            interpolate_to: None,
            reference_stats: ReferenceStats::Own,
            mask,
            augment: None,
            split: Split::None,
            part: None,
            kspace_noise: 0.0,
            kspace_convention: KSpaceConvention::Fft2c,
            fastmri_simulated: false,
            seed: 0,
            skip_bad_subjects: false,
        }
    }
}

/// Where an item came from and how it was normalised.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SliceMeta {
    pub source: String,
    pub subject: String,
    pub slice: usize,
    pub target_stats: NormStats,
    pub reference_stats: NormStats,
    /// The zero-filled input's statistics (the target was normalised with these for
    /// `mean_std`/`instance`).
    pub input_stats: NormStats,
    pub mask_family: &'static str,
    pub mask_seed: String,
    pub mask_hash: String,
}

/// One training or evaluation example.
#[derive(Clone, Debug)]
pub struct SliceItem {
    pub height: usize,
    pub width: usize,
    pub target: Vec<f32>,
    pub reference: Vec<f32>,
    /// Zero-filled magnitude of the masked target k-space.
    pub input: Vec<f32>,
    /// The measured, fully sampled k-space (`fft2c` layout, the image grid) where the source
    /// measures it (`None`: it is simulated from `target`).
    pub full_kspace: Option<Vec<Complex32>>,
    /// Masked k-space of the (pre-normalisation) target, `kspace_shape[0] × kspace_shape[1]`
    /// (the image size, except for fastMRI's raw k-space, which is larger than the target crop).
    pub kspace: Vec<Complex32>,
    pub kspace_shape: [usize; 2],
    /// The convention the k-space fields are handed to networks in (`kspace` is stored as `fft2c`).
    pub kspace_convention: KSpaceConvention,
    pub mask: Mask,
    pub meta: SliceMeta,
}

/// Why a dataset could not be opened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    #[error("the dataset has problems:\n  - {}", .0.join("\n  - "))]
    Problems(Vec<String>),
    #[error("{0}")]
    Config(String),
}

struct SubjectData {
    id: String,
    target: Volume,
    reference: Volume,
    files: Vec<(String, String)>,
}

/// An opened dataset.
pub struct Dataset {
    pub(super) config: DatasetConfig,
    /// Shared with the datasets [`Dataset::with_mask`] makes (the volumes are read once).
    subjects: Arc<Vec<SubjectData>>,
    pub(super) fastmri: Option<Arc<(Vec<FastMriVolume>, Vec<PairedSlice>)>>,
    /// Measured k-space volumes (`Source::KSpace`); `index` holds `(volume, slice)`.
    pub(super) kvolumes: Option<Arc<Vec<KSpaceVolume>>>,
    pub(super) index: Vec<(usize, usize)>,
    problems: Vec<String>,
    cache: Mutex<HashMap<(usize, usize), Arc<Prepared>>>,
    /// Measured slices: the normalised full k-space and the target magnitude.
    pub(super) complex_cache: Mutex<HashMap<(usize, usize), Arc<(Vec<Complex32>, Vec<f32>)>>>,
}

fn fnv_file(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    format!("{:016x}", crate::io::fnv1a(crate::io::FNV_OFFSET, &bytes))
}

impl Dataset {
    /// Opens the dataset: loads the needed contrasts of every subject of the chosen part.
    pub fn open(config: DatasetConfig) -> Result<Dataset, DataError> {
        let mut problems = Vec::new();
        let mut subjects = Vec::new();
        let mut kvolumes = None;
        match &config.source {
            Source::FastMri { .. } => {}
            Source::KSpace { root } => {
                if config.target != config.reference {
                    return Err(DataError::Config(format!(
                        "measured single-coil k-space is one contrast: set `reference` to the target `{}`, not `{}`",
                        config.target, config.reference
                    )));
                }
                let (volumes, p) = crate::data::cc359::discover(root);
                problems.extend(p);
                kvolumes = Some(volumes);
            }
            Source::Phantom { kind, subjects: n, size, slices, seed, options } => {
                for i in 0..*n {
                    let s = phantom::subject(*kind, *seed, i, *size, *slices, options);
                    let take = |c: &str| {
                        s.contrasts.get(c).cloned().ok_or_else(|| {
                            DataError::Config(format!(
                                "the {kind:?} phantom has no contrast `{c}` (it has {})",
                                s.contrasts.keys().cloned().collect::<Vec<_>>().join(", ")
                            ))
                        })
                    };
                    let (mut target, mut reference) = (take(&config.target)?, take(&config.reference)?);
                    config.intensity.apply(&mut target);
                    config.intensity.apply(&mut reference);
                    subjects.push(SubjectData { id: s.id.clone(), target, reference, files: Vec::new() });
                }
            }
            Source::Folder { root, layout } => {
                let d = discover(root, *layout);
                problems.extend(d.problems.clone());
                for s in &d.subjects {
                    let needed = [config.target.as_str(), config.reference.as_str()];
                    let mut files = s.clone();
                    files.files.retain(|c, _| needed.contains(&c.as_str()));
                    let (mut vols, p) = load_subject(&files, &needed);
                    if !p.is_empty() {
                        problems.extend(p);
                        continue;
                    }
                    let mut target = vols.remove(&config.target).expect("checked");
                    // Single-contrast runs (IGKR-Net's IXI) name the target as the reference too.
                    let mut reference = match vols.remove(&config.reference) {
                        Some(v) => v,
                        None => target.clone(),
                    };
                    config.intensity.apply(&mut target);
                    config.intensity.apply(&mut reference);
                    subjects.push(SubjectData {
                        id: s.id.clone(),
                        target,
                        reference,
                        files: files.files.values().map(|p| (p.display().to_string(), fnv_file(p))).collect(),
                    });
                }
            }
        }
        let mut fastmri = None;
        if let Source::FastMri { root, pairs } = &config.source {
            if config.intensity != Intensity::AsStored {
                return Err(DataError::Config(format!(
                    "`intensity = \"{}\"`: fastMRI data keep their stored intensities (scored with the volume maximum)",
                    config.intensity.name()
                )));
            }
            // A relative pair list that is not found from here is looked up in the data folder.
            let pairs = if pairs.is_relative() && !pairs.exists() { root.join(pairs) } else { pairs.clone() };
            let list = read_pairs_csv(&pairs).map_err(|e| DataError::Problems(vec![e]))?;
            let (volumes, slices, p) = paired_slices(root, &list);
            problems.extend(p);
            for v in &volumes {
                if v.target_shape.is_none() {
                    problems
                        .push(format!("`{}` has no `reconstruction_esc` (the single-coil target)", v.path.display()));
                }
            }
            if !(config.target == "pdfs" && config.reference == "pd") {
                return Err(DataError::Config(format!(
                    "fastMRI pairs give target `pdfs` and reference `pd`, not `{}` and `{}`",
                    config.target, config.reference
                )));
            }
            if !problems.is_empty() && !config.skip_bad_subjects {
                return Err(DataError::Problems(problems));
            }
            let usable: Vec<PairedSlice> = slices
                .into_iter()
                .filter(|p| volumes[p.pd].target_shape.is_some() && volumes[p.pdfs].target_shape.is_some())
                .collect();
            if usable.is_empty() {
                return Err(DataError::Problems(if problems.is_empty() {
                    vec!["no usable PD/PDFS pair".into()]
                } else {
                    problems
                }));
            }
            fastmri = Some((volumes, usable));
        } else if !problems.is_empty()
            && (!config.skip_bad_subjects || (subjects.is_empty() && kvolumes.as_ref().is_none_or(Vec::is_empty)))
        {
            return Err(DataError::Problems(problems));
        }
        // Split and keep the requested part.
        let ids: Vec<String> = match &kvolumes {
            Some(v) => v.iter().map(|v| v.id.clone()).collect(),
            None => subjects.iter().map(|s| s.id.clone()).collect(),
        };
        let assignment: BTreeMap<String, Part> = match &config.split {
            Split::None => ids.iter().map(|id| (id.clone(), Part::Train)).collect(),
            Split::Ratios(r, seed) => split_by_ratio(&ids, r, *seed).map_err(DataError::Config)?.into_iter().collect(),
            Split::File(path) => {
                // A relative split file that is not found from here is looked up in the data folder.
                let path = match &config.source {
                    Source::KSpace { root } | Source::Folder { root, .. } if path.is_relative() && !path.exists() => {
                        root.join(path)
                    }
                    _ => path.clone(),
                };
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| DataError::Config(format!("cannot read split file `{}`: {e}", path.display())))?;
                let list = read_split_file(&text, &path.display().to_string()).map_err(DataError::Config)?;
                if !matches!(config.source, Source::FastMri { .. }) {
                    check_split_names(&list, &text, &path.display().to_string(), &ids, &problems)
                        .map_err(DataError::Config)?;
                }
                list.into_iter().collect()
            }
        };
        if let (Some(part), false) = (config.part, matches!(config.split, Split::None)) {
            subjects.retain(|s| assignment.get(&s.id) == Some(&part));
            if let Some(v) = &mut kvolumes {
                v.retain(|v| assignment.get(&v.id) == Some(&part));
            }
        }
        let mut index = Vec::new();
        for (si, s) in subjects.iter().enumerate() {
            for k in config.slices.indices(s.target.slices) {
                index.push((si, k));
            }
        }
        for (vi, v) in kvolumes.iter().flatten().enumerate() {
            for k in config.slices.indices(v.slices) {
                index.push((vi, k));
            }
        }
        if let Some((volumes, slices)) = &mut fastmri {
            // Subjects are pairs, named by their PDFS file; splits and slice selection apply per pair.
            let name = |p: &PairedSlice| volumes[p.pdfs].path.file_stem().unwrap().to_string_lossy().into_owned();
            let ids: Vec<String> = {
                let mut v: Vec<String> = slices.iter().map(name).collect();
                v.dedup();
                v
            };
            let keep: Vec<String> = match (&config.split, config.part) {
                (Split::None, _) | (_, None) => ids.clone(),
                (Split::Ratios(r, seed), Some(part)) => split_by_ratio(&ids, r, *seed)
                    .map_err(DataError::Config)?
                    .into_iter()
                    .filter(|(_, p)| *p == part)
                    .map(|(id, _)| id)
                    .collect(),
                (Split::File(path), Some(part)) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| DataError::Config(format!("cannot read split file `{}`: {e}", path.display())))?;
                    read_split_file(&text, &path.display().to_string())
                        .map_err(DataError::Config)?
                        .into_iter()
                        .filter(|(_, p)| *p == part)
                        .map(|(id, _)| id)
                        .collect()
                }
            };
            let mut kept = Vec::new();
            for id in &keep {
                let of_pair: Vec<PairedSlice> = slices.iter().filter(|p| &name(p) == id).cloned().collect();
                for k in config.slices.indices(of_pair.len()) {
                    kept.push(of_pair[k].clone());
                }
            }
            *slices = kept;
            index = (0..slices.len()).map(|i| (i, slices[i].slice)).collect();
        }
        Ok(Dataset {
            config,
            subjects: Arc::new(subjects),
            fastmri: fastmri.map(Arc::new),
            kvolumes: kvolumes.map(Arc::new),
            index,
            problems,
            cache: Mutex::new(HashMap::new()),
            complex_cache: Mutex::new(HashMap::new()),
        })
    }

    /// The same items under another mask policy, without reading the data again (the prepared
    /// slices do not depend on the mask, so the cache is shared as it stands).
    pub fn with_mask(&self, mask: MaskPolicy) -> Dataset {
        Dataset {
            config: DatasetConfig { mask, ..self.config.clone() },
            subjects: self.subjects.clone(),
            fastmri: self.fastmri.clone(),
            kvolumes: self.kvolumes.clone(),
            index: self.index.clone(),
            problems: self.problems.clone(),
            cache: Mutex::new(self.cache.lock().unwrap_or_else(|e| e.into_inner()).clone()),
            complex_cache: Mutex::new(self.complex_cache.lock().unwrap_or_else(|e| e.into_inner()).clone()),
        }
    }

    /// The configuration the dataset was opened with.
    pub fn config(&self) -> &DatasetConfig {
        &self.config
    }

    /// Number of slice items.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the dataset has no items.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Number of prepared slices held in the cache.
    pub fn cached_slices(&self) -> usize {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Problems found while opening (subjects skipped with `skip_bad_subjects`).
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Subject ids in the dataset (for fastMRI: the PDFS file of each pair).
    pub fn subject_ids(&self) -> Vec<String> {
        if let Some((volumes, slices)) = self.fastmri.as_deref() {
            let mut ids: Vec<String> = slices
                .iter()
                .map(|p| volumes[p.pdfs].path.file_stem().unwrap().to_string_lossy().into_owned())
                .collect();
            ids.dedup();
            return ids;
        }
        if let Some(v) = self.kvolumes.as_deref() {
            return v.iter().map(|v| v.id.clone()).collect();
        }
        self.subjects.iter().map(|s| s.id.clone()).collect()
    }

    /// The item order of an epoch: `0..len` or a shuffle seeded by `(seed, epoch)`.
    pub fn order(&self, epoch: usize, shuffle: bool) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        if shuffle {
            let mut rng = NumpyRng::new(&Seed::Array(vec![self.config.seed, epoch as u32, 0x5348]));
            for i in (1..order.len()).rev() {
                let j = rng.randint(i as u64 + 1) as usize;
                order.swap(i, j);
            }
        }
        order
    }

    fn prepared(&self, i: usize) -> Arc<Prepared> {
        let key = self.index[i];
        if let Some(p) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return p.clone();
        }
        let s = &self.subjects[key.0];
        let take = |v: &Volume| -> (Vec<f64>, usize, usize) {
            let (img, h, w) = self.config.orientation.apply(v.slice(key.1), v.height, v.width);
            match self.config.size {
                Some([th, tw]) => (self.config.resize.apply(&img, h, w, th, tw), th, tw),
                None => (img, h, w),
            }
        };
        let (target, h, w) = take(&s.target);
        let (reference, _, _) = take(&s.reference);
        let p = Arc::new(self.before_simulation(h, w, target, reference));
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, p.clone());
        p
    }

    /// The mask of item `i` for the volume called `volume` (its file name, or the subject id).
    pub(super) fn mask_for(
        &self,
        volume: &str,
        i: usize,
        epoch: usize,
        h: usize,
        w: usize,
    ) -> Result<(Mask, Seed), DataError> {
        let k = self.index[i].1;
        let with_name = |p: &MaskParams, extra: Option<usize>| -> Seed {
            let mut key = match &p.seed {
                Seed::Int(n) => vec![*n],
                Seed::Array(a) => a.clone(),
            };
            key.extend(volume.chars().map(|c| c as u32));
            key.extend(extra.map(|k| k as u32));
            Seed::Array(key)
        };
        let (params, seed) = match &self.config.mask {
            MaskPolicy::Fixed(p) => (p.clone(), p.seed.clone()),
            MaskPolicy::PerVolume(p) => (p.clone(), Seed::from_name(volume)),
            MaskPolicy::PerSlice(p) => (p.clone(), with_name(p, Some(k))),
            MaskPolicy::Online(p) => (p.clone(), self.call_seed(&p.seed, epoch, i)),
            MaskPolicy::OnlineChoice(list) => {
                if list.is_empty() {
                    return Err(DataError::Config("mask policy `online_choice` needs at least one pattern".into()));
                }
                let mut rng = NumpyRng::new(&Seed::Array(vec![self.config.seed, epoch as u32, i as u32, 0x4d43]));
                let p = &list[rng.randint(list.len() as u64) as usize];
                (p.clone(), self.call_seed(&p.seed, epoch, i))
            }
        };
        let params = MaskParams { shape: [h, w], seed: seed.clone(), ..params };
        let mask = generate(&params).map_err(|e| DataError::Config(e.to_string()))?;
        Ok((mask, seed))
    }

    fn call_seed(&self, base: &Seed, epoch: usize, i: usize) -> Seed {
        let mut key = match base {
            Seed::Int(n) => vec![*n],
            Seed::Array(a) => a.clone(),
        };
        key.extend([epoch as u32, i as u32]);
        Seed::Array(key)
    }

    /// Item `i` of epoch `epoch` (the epoch only matters for online masks and augmentation).
    pub fn get(&self, i: usize, epoch: usize) -> Result<SliceItem, DataError> {
        let item = self.get_on_data_grid(i, epoch)?;
        Ok(match self.config.interpolate_to {
            Some(n) if [item.height, item.width] != [n, n] => {
                let (h, w) = (item.height, item.width);
                let resize = |img: &[f32]| crate::data::prepare::bilinear_resize(img, h, w, n, n);
                SliceItem {
                    target: resize(&item.target),
                    reference: resize(&item.reference),
                    input: resize(&item.input),
                    height: n,
                    width: n,
                    // Measured k-space belongs to the old grid: k-space fields are refused there.
                    full_kspace: None,
                    ..item
                }
            }
            _ => item,
        })
    }

    fn get_on_data_grid(&self, i: usize, epoch: usize) -> Result<SliceItem, DataError> {
        if i >= self.len() {
            return Err(DataError::Config(format!("item {i} out of range (the dataset has {} items)", self.len())));
        }
        if self.fastmri.is_some() {
            return self.get_fastmri(i, epoch);
        }
        if self.kvolumes.is_some() {
            return self.get_measured(i, epoch);
        }
        let p = self.prepared(i);
        let (h, w) = (p.h, p.w);
        let (mut target, mut reference) = (p.target.clone(), p.reference.clone());
        if let Some(a) = self.config.augment {
            let mut rng = NumpyRng::new(&Seed::Array(vec![self.config.seed, epoch as u32, i as u32, 0x4147]));
            let angle = (2.0 * rng.random_sample() - 1.0) * a.max_rotation_deg;
            let flip = a.horizontal_flip && rng.random_sample() < 0.5;
            target = augment(&target, h, w, angle, flip);
            reference = augment(&reference, h, w, angle, flip);
        }
        let (si, k) = self.index[i];
        let source = match &self.config.source {
            Source::Phantom { kind, seed, .. } => format!("phantom:{kind:?}:seed{seed}").to_lowercase(),
            Source::Folder { root, .. } => format!("folder:{}", root.display()),
            Source::FastMri { root, .. } => format!("fastmri:{}", root.display()),
            Source::KSpace { root } => format!("kspace:{}", root.display()),
        };
        let images =
            Prepared { h, w, target, reference, target_stats: p.target_stats, reference_stats: p.reference_stats };
        self.simulated_item(i, epoch, images, &self.subjects[si].id, k, source)
    }

    /// `(path, FNV-1a hash)` of every file the dataset read.
    pub fn file_hashes(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self.subjects.iter().flat_map(|s| s.files.clone()).collect();
        if let Some((volumes, _)) = self.fastmri.as_deref() {
            v.extend(volumes.iter().map(|f| (f.path.display().to_string(), fnv_file(&f.path))));
        }
        for f in self.kvolumes.iter().flat_map(|k| k.iter()) {
            v.push((f.path.display().to_string(), fnv_file(&f.path)));
        }
        v
    }
}
