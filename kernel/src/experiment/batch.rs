//! Slice items → network inputs and named tensors, and a prefetching batch reader.
//!
//! A batch stacks items along the first axis. Each network input stacks the data fields its
//! binding names (`input+reference` → 2 channels) in that order ([`FIELDS`]: images, the
//! mask, and the complex k-space and zero-filled image); the loss sees the fields it reads as
//! `[B, 1, H, W]` (`[B, 2, H, W]` for complex ones).

use crate::data::dataset::{Dataset, SliceItem};
use burn::tensor::{Device, Tensor, TensorData};
use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver};

/// One data field a network input binds or a loss reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    /// Complex fields fill two channels of a complex network input (real parts, then imaginary).
    pub complex: bool,
    /// Only meaningful when images carry no normalisation (`normalisation = "none"`) or one applied
    /// before the k-space simulation (`min_max` on simulated k-space): k-space and the complex
    /// image are the target's, before the per-item normalisations of the images.
    pub unnormalised: bool,
    pub about: &'static str,
}

/// Every data field, in the order messages list them.
pub const FIELDS: &[Field] = &[
    Field { name: "input", complex: false, unnormalised: false, about: "the zero-filled magnitude image, normalised" },
    Field { name: "reference", complex: false, unnormalised: false, about: "the fully sampled reference contrast" },
    Field { name: "target", complex: false, unnormalised: false, about: "the fully sampled target contrast" },
    Field {
        name: "mask",
        complex: false,
        unnormalised: false,
        about: "the sampling mask, 1 where sampled, in k-space's centred layout",
    },
    Field {
        name: "kspace",
        complex: true,
        unnormalised: true,
        about: "the under-sampled target k-space (in the data's `kspace_convention`, default fft2c)",
    },
    Field {
        name: "target_kspace",
        complex: true,
        unnormalised: true,
        about: "the fully sampled k-space of the target (measured, or simulated from the image without the data's k-space noise)",
    },
    Field {
        name: "reference_kspace",
        complex: true,
        unnormalised: true,
        about: "the fully sampled k-space of the reference image",
    },
    Field {
        name: "zero_filled",
        complex: true,
        unnormalised: true,
        about: "the complex zero-filled image, ifft2c of `kspace`",
    },
    Field {
        name: "target_image",
        complex: true,
        unnormalised: true,
        about: "the fully sampled target as a complex image, ifft2c of `target_kspace` (DuDoRNet's 2-channel images)",
    },
    Field {
        name: "reference_image",
        complex: true,
        unnormalised: true,
        about: "the fully sampled reference as a complex image, ifft2c of `reference_kspace`",
    },
];

/// The field called `name`.
pub fn field(name: &str) -> Option<Field> {
    FIELDS.iter().copied().find(|f| f.name == name)
}

/// The planes of field `name` of an item: one for real fields, real then imaginary for complex.
fn planes(item: &SliceItem, name: &str) -> Result<Vec<Vec<f32>>, String> {
    let (h, w) = (item.height, item.width);
    let same_grid = |what: &str, [kh, kw]: [usize; 2]| {
        if [kh, kw] == [h, w] {
            Ok(())
        } else {
            Err(format!(
                "field `{name}`: the {what} is {kh}x{kw} but the images are {h}x{w} (fastMRI's raw k-space is larger \
                 than the image crop; `interpolate_to` resizes the images only); bind it only where k-space and \
                 image sizes agree"
            ))
        }
    };
    Ok(match name {
        "input" => vec![item.input.clone()],
        "reference" => vec![item.reference.clone()],
        "target" => vec![item.target.clone()],
        "mask" => {
            same_grid("mask", [item.mask.height, item.mask.width])?;
            vec![item.mask.data.iter().map(|&m| f32::from(m)).collect()]
        }
        "kspace" | "zero_filled" | "target_kspace" | "reference_kspace" => {
            let values = match name {
                "kspace" => {
                    same_grid("k-space", item.kspace_shape)?;
                    item.kspace_convention.from_fft2c(&item.kspace, h, w)
                }
                "zero_filled" => {
                    same_grid("k-space", item.kspace_shape)?;
                    crate::kspace::to_image(&item.kspace, h, w)
                }
                // From the (clean) images, so they exist for every source and grid.
                // Measured data (single-contrast: the reference is the target) keep their phase.
                _ => match &item.full_kspace {
                    Some(k) => item.kspace_convention.from_fft2c(k, h, w),
                    None => {
                        let image = if name == "target_kspace" { &item.target } else { &item.reference };
                        let k = crate::kspace::simulate_kspace(image, None, h, w);
                        item.kspace_convention.from_fft2c(&k, h, w)
                    }
                },
            };
            vec![values.iter().map(|v| v.re).collect(), values.iter().map(|v| v.im).collect()]
        }
        // Measured k-space keeps its phase; a simulated one is the image itself.
        "target_image" | "reference_image" => {
            let values = match &item.full_kspace {
                Some(k) => crate::kspace::to_image(k, h, w),
                None => {
                    let image = if name == "target_image" { &item.target } else { &item.reference };
                    image.iter().map(|&v| num_complex::Complex32::new(v, 0.0)).collect()
                }
            };
            vec![values.iter().map(|v| v.re).collect(), values.iter().map(|v| v.im).collect()]
        }
        other => return Err(format!("`{other}` is not a data field")),
    })
}

/// A tensor `[B, C, H, W]` of the items' fields: each real field one channel, each complex one
/// two (a complex network input takes its real parts first, then its imaginary parts).
pub fn stack(items: &[SliceItem], fields: &[String], device: &Device) -> Result<Tensor<4>, String> {
    let (h, w) = (items[0].height, items[0].width);
    let mut data = Vec::new();
    for it in items {
        // Per item: every field's real plane, then the complex fields' imaginary planes.
        let mut imag = Vec::new();
        for f in fields {
            let mut p = planes(it, f)?.into_iter();
            data.extend(p.next().expect("a real plane"));
            imag.extend(p.flatten());
        }
        data.extend(imag);
    }
    let channels = data.len() / (items.len() * h * w);
    Ok(Tensor::<4>::from_data(TensorData::new(data, [items.len(), channels, h, w]), device))
}

/// The network inputs (one per binding) and, by name, the data fields among `read` (what the
/// loss reads; complex fields with real parts first, then imaginary parts).
pub fn tensors(
    items: &[SliceItem],
    bindings: &[Vec<String>],
    read: &[String],
    device: &Device,
) -> Result<(Vec<Tensor<4>>, BTreeMap<String, Tensor<4>>), String> {
    let inputs = bindings.iter().map(|b| stack(items, b, device)).collect::<Result<Vec<_>, _>>()?;
    let mut named = BTreeMap::new();
    for name in read.iter().filter(|n| field(n).is_some()) {
        named.insert(name.clone(), stack(items, std::slice::from_ref(name), device)?);
    }
    Ok((inputs, named))
}

/// Reads `batches` (lists of item indices, each with its epoch) on a background thread, at most
/// `ahead` batches ahead of the consumer, in order. Errors arrive in place of their batch.
pub fn prefetch<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    data: &'s Dataset,
    batches: Vec<(usize, Vec<usize>)>,
    ahead: usize,
) -> Receiver<Result<Vec<SliceItem>, String>> {
    let (tx, rx) = sync_channel(ahead.max(1));
    scope.spawn(move || {
        for (epoch, idx) in batches {
            let items: Result<Vec<SliceItem>, String> =
                idx.iter().map(|&i| data.get(i, epoch).map_err(|e| e.to_string())).collect();
            if tx.send(items).is_err() {
                return;
            }
        }
    });
    rx
}
