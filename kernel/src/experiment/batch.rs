//! Slice items → network inputs and named tensors, and a prefetching batch reader.
//!
//! A batch stacks items along the first axis. Each network input stacks the data fields its
//! binding names (`input+reference` → 2 channels) in that order; the loss sees `input`,
//! `target` and `reference` as `[B, 1, H, W]`.

use crate::data::dataset::{Dataset, SliceItem};
use burn::tensor::{Device, Tensor, TensorData};
use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver};

fn field<'a>(item: &'a SliceItem, name: &str) -> &'a [f32] {
    match name {
        "reference" => &item.reference,
        "target" => &item.target,
        _ => &item.input,
    }
}

/// A tensor `[B, C, H, W]` of the items' fields, channel `c` = `fields[c]`.
pub fn stack(items: &[SliceItem], fields: &[String], device: &Device) -> Tensor<4> {
    let (h, w) = (items[0].height, items[0].width);
    let mut data = Vec::with_capacity(items.len() * fields.len() * h * w);
    for it in items {
        for f in fields {
            data.extend_from_slice(field(it, f));
        }
    }
    Tensor::<4>::from_data(TensorData::new(data, [items.len(), fields.len(), h, w]), device)
}

/// The network inputs (one per binding) and the named data tensors of a batch.
pub fn tensors(
    items: &[SliceItem],
    bindings: &[Vec<String>],
    device: &Device,
) -> (Vec<Tensor<4>>, BTreeMap<String, Tensor<4>>) {
    let inputs = bindings.iter().map(|b| stack(items, b, device)).collect();
    let named = ["input", "target", "reference"]
        .iter()
        .map(|f| (f.to_string(), stack(items, &[f.to_string()], device)))
        .collect();
    (inputs, named)
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
