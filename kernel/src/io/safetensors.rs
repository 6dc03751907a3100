//! Reading `.safetensors` files (the parity fixtures and checkpoints): header JSON plus raw
//! little-endian data. Floats and integers are returned as `f64`.

use crate::io::IoError;
use std::collections::BTreeMap;
use std::path::Path;

/// One tensor: its dtype name, shape and values.
#[derive(Clone, Debug, PartialEq)]
pub struct StTensor {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// Reads every tensor of a `.safetensors` file, by name.
pub fn read_safetensors(path: &Path) -> Result<BTreeMap<String, StTensor>, IoError> {
    read_safetensors_with_metadata(path).map(|(t, _)| t)
}

/// Reads every tensor of a `.safetensors` file and its string metadata (`__metadata__`).
#[allow(clippy::type_complexity)]
pub fn read_safetensors_with_metadata(
    path: &Path,
) -> Result<(BTreeMap<String, StTensor>, BTreeMap<String, String>), IoError> {
    let bytes = std::fs::read(path).map_err(|e| IoError::Read { path: path.to_path_buf(), source: e })?;
    let bad = |m: String| IoError::Format { path: path.to_path_buf(), message: m };
    if bytes.len() < 8 {
        return Err(bad("too short to be a safetensors file".into()));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = bytes.get(8..8 + n).ok_or_else(|| bad("truncated safetensors header".into()))?;
    let header: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| bad(format!("the safetensors header is not JSON: {e}")))?;
    let body = &bytes[8 + n..];
    let mut out = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    for (name, info) in header.as_object().ok_or_else(|| bad("the header is not a JSON object".into()))? {
        if name == "__metadata__" {
            for (k, v) in info.as_object().into_iter().flatten() {
                metadata.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
            }
            continue;
        }
        let field = |k: &str| info.get(k).ok_or_else(|| bad(format!("tensor `{name}` has no `{k}`")));
        let dtype = field("dtype")?.as_str().unwrap_or_default().to_string();
        let shape: Vec<usize> = field("shape")?
            .as_array()
            .ok_or_else(|| bad(format!("tensor `{name}`: `shape` is not a list")))?
            .iter()
            .map(|v| v.as_u64().unwrap_or(0) as usize)
            .collect();
        let offs =
            field("data_offsets")?.as_array().ok_or_else(|| bad(format!("tensor `{name}`: bad `data_offsets`")))?;
        let (a, b) = (offs[0].as_u64().unwrap_or(0) as usize, offs[1].as_u64().unwrap_or(0) as usize);
        let raw =
            body.get(a..b).ok_or_else(|| bad(format!("tensor `{name}`: data offsets {a}..{b} outside the file")))?;
        let data: Vec<f64> = match dtype.as_str() {
            "F32" => raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).collect(),
            "F64" => raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(),
            "I64" => raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64).collect(),
            "I32" => raw.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f64).collect(),
            "U8" | "BOOL" => raw.iter().map(|&v| v as f64).collect(),
            other => return Err(bad(format!("tensor `{name}`: unsupported dtype {other}"))),
        };
        out.insert(name.clone(), StTensor { dtype, shape, data });
    }
    Ok((out, metadata))
}

/// A tensor to write: float32 or float64 values and a shape.
#[derive(Clone, Debug, PartialEq)]
pub enum StWrite {
    F32(Vec<usize>, Vec<f32>),
    F64(Vec<usize>, Vec<f64>),
}

/// Writes tensors (by name) and string metadata as a `.safetensors` file, atomically.
pub fn write_safetensors(
    path: &Path,
    tensors: &BTreeMap<String, StWrite>,
    metadata: &BTreeMap<String, String>,
) -> Result<(), IoError> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::json!(metadata));
    }
    let mut body = Vec::new();
    for (name, t) in tensors {
        let start = body.len();
        let (dtype, shape) = match t {
            StWrite::F32(shape, data) => {
                body.extend(data.iter().flat_map(|v| v.to_le_bytes()));
                ("F32", shape)
            }
            StWrite::F64(shape, data) => {
                body.extend(data.iter().flat_map(|v| v.to_le_bytes()));
                ("F64", shape)
            }
        };
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [start, body.len()]}),
        );
    }
    let mut head = serde_json::to_vec(&serde_json::Value::Object(header)).expect("JSON header");
    // Pad the header with spaces so the data start 8-byte aligned, as the format recommends.
    while (8 + head.len()) % 8 != 0 {
        head.push(b' ');
    }
    let mut bytes = (head.len() as u64).to_le_bytes().to_vec();
    bytes.extend(head);
    bytes.extend(body);
    crate::io::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_tensors_read_back_exactly() {
        let dir = std::env::temp_dir().join(format!("mcmr-st-{}", std::process::id()));
        let path = dir.join("t.safetensors");
        let mut t = BTreeMap::new();
        t.insert("a".to_string(), StWrite::F32(vec![2, 2], vec![1.0, -2.5, 3.25, f32::MIN_POSITIVE]));
        t.insert("b.c".to_string(), StWrite::F64(vec![3], vec![0.1, 1e-300, -7.0]));
        let meta = BTreeMap::from([("step".to_string(), "12".to_string())]);
        write_safetensors(&path, &t, &meta).unwrap();
        let (r, m) = read_safetensors_with_metadata(&path).unwrap();
        assert_eq!(m, meta);
        assert_eq!(r["a"].shape, vec![2, 2]);
        assert_eq!(r["a"].data, vec![1.0, -2.5, 3.25, f32::MIN_POSITIVE as f64]);
        assert_eq!((r["b.c"].dtype.as_str(), r["b.c"].data.clone()), ("F64", vec![0.1, 1e-300, -7.0]));
        let bytes = std::fs::read(&path).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!((8 + n) % 8, 0, "data start aligned");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
