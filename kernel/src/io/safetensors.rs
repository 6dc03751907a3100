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
    for (name, info) in header.as_object().ok_or_else(|| bad("the header is not a JSON object".into()))? {
        if name == "__metadata__" {
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
    Ok(out)
}
