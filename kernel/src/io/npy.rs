//! NumPy `.npy` arrays (format versions 1.0–3.0): read `<f4`/`<f8` (also `<i2`, `<i4`, `|u1`,
//! promoted to `f64`), write `<f4`/`<f8`. C order only; a Fortran-order file gets a clear error.
//!
//! ```
//! use mcmr::io::npy::{Array, write_npy_f32, read_npy};
//! let dir = std::env::temp_dir().join("mcmr-npy-doc");
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("a.npy");
//! write_npy_f32(&path, &[2, 3], &[1., 2., 3., 4., 5., 6.]).unwrap();
//! let a: Array = read_npy(&path).unwrap();
//! assert_eq!(a.shape, vec![2, 3]);
//! assert_eq!(a.data[5], 6.0);
//! ```

use crate::io::{write_atomic, IoError};
use std::path::Path;

/// An array read from disk: its shape and its values (row-major) as `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Shape, outermost axis first.
    pub shape: Vec<usize>,
    /// Values in C (row-major) order.
    pub data: Vec<f64>,
    /// The dtype descriptor as stored in the file (`<f4`, `<f8`, …).
    pub dtype: String,
}

fn bad(path: &Path, what: impl Into<String>) -> IoError {
    IoError::Format { path: path.to_path_buf(), message: what.into() }
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<Array, IoError> {
    let bytes = std::fs::read(path).map_err(|e| IoError::Read { path: path.to_path_buf(), source: e })?;
    parse_npy(&bytes).map_err(|m| bad(path, m))
}

fn parse_npy(bytes: &[u8]) -> Result<Array, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a NumPy .npy file (missing the \\x93NUMPY magic string)".into());
    }
    let major = bytes[6];
    let (header_len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated .npy header".into());
            }
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => return Err(format!("unsupported .npy format version {v} (expected 1, 2 or 3)")),
    };
    let header = bytes.get(start..start + header_len).ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(header).map_err(|_| "the .npy header is not UTF-8 text")?;
    let descr = dict_value(header, "descr").ok_or("the .npy header has no 'descr' field")?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"').to_string();
    let fortran = dict_value(header, "fortran_order").ok_or("the .npy header has no 'fortran_order' field")?;
    if fortran.trim() == "True" {
        return Err("Fortran-order arrays are not supported: save with np.ascontiguousarray first".into());
    }
    let shape_text = dict_value(header, "shape").ok_or("the .npy header has no 'shape' field")?;
    let shape: Vec<usize> = shape_text
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad shape entry `{s}` in the .npy header")))
        .collect::<Result<_, _>>()?;
    let count: usize = shape.iter().product();
    let body = &bytes[start + header_len..];
    let (size, conv): (usize, fn(&[u8]) -> f64) = match descr.as_str() {
        "<f4" => (4, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64),
        "<f8" => (8, |b| f64::from_le_bytes(b.try_into().unwrap())),
        "<i2" => (2, |b| i16::from_le_bytes([b[0], b[1]]) as f64),
        "<i4" => (4, |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64),
        "|u1" | "<u1" => (1, |b| b[0] as f64),
        "|b1" => (1, |b| b[0] as f64),
        other => {
            return Err(format!("unsupported dtype `{other}` (expected little-endian float32 `<f4` or float64 `<f8`)"))
        }
    };
    if body.len() < count * size {
        return Err(format!(
            "the file holds {} bytes of data but shape {:?} of `{}` needs {}",
            body.len(),
            shape,
            descr,
            count * size
        ));
    }
    let data = body[..count * size].chunks_exact(size).map(conv).collect();
    Ok(Array { shape, data, dtype: descr })
}

/// The text after `'key':` up to the next top-level comma of a Python dict literal.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat_single = format!("'{key}':");
    let pat_double = format!("\"{key}\":");
    let pos = header
        .find(&pat_single)
        .map(|p| p + pat_single.len())
        .or_else(|| header.find(&pat_double).map(|p| p + pat_double.len()))?;
    let rest = &header[pos..];
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    Some(rest)
}

fn encode(shape: &[usize], descr: &str, data: Vec<u8>) -> Vec<u8> {
    let shape_text = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&data);
    out
}

/// Writes a float32 `.npy` atomically (temp file, then rename).
pub fn write_npy_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), IoError> {
    assert_eq!(shape.iter().product::<usize>(), data.len(), "shape does not match the data length");
    let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_atomic(path, &encode(shape, "<f4", bytes))
}

/// Writes a float64 `.npy` atomically (temp file, then rename).
pub fn write_npy_f64(path: &Path, shape: &[usize], data: &[f64]) -> Result<(), IoError> {
    assert_eq!(shape.iter().product::<usize>(), data.len(), "shape does not match the data length");
    let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_atomic(path, &encode(shape, "<f8", bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_float64_and_reports_a_bad_magic() {
        let dir = std::env::temp_dir().join(format!("mcmr-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.npy");
        write_npy_f64(&p, &[3], &[1.5, -2.0, 0.25]).unwrap();
        let a = read_npy(&p).unwrap();
        assert_eq!((a.shape.clone(), a.data.clone(), a.dtype.as_str()), (vec![3], vec![1.5, -2.0, 0.25], "<f8"));
        std::fs::write(&p, b"hello world").unwrap();
        let err = read_npy(&p).unwrap_err().to_string();
        assert!(err.contains("x.npy") && err.contains("magic"), "{err}");
    }
}
