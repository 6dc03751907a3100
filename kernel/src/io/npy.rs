//! NumPy `.npy` arrays (format versions 1.0–3.0): read float (`f4`, `f8`), complex (`c8`,
//! `c16`) and integer (`i2`, `i4`, `u1`, `b1`) arrays of either byte order, promoted to `f64`;
//! write `<f4`/`<f8`. A complex array reads as real and imaginary parts interleaved, with a
//! trailing axis of 2 added to its shape (numpy's `a.view(float).reshape(*a.shape, 2)`). C order
//! only; a Fortran-order file gets a clear error. Large files are read in parts:
//! [`read_npy_header`] reads only the header and [`read_npy_elements`] a run of elements.
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
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// An array read from disk: its shape and its values (row-major) as `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Shape, outermost axis first (complex arrays: with a trailing axis of 2).
    pub shape: Vec<usize>,
    /// Values in C (row-major) order.
    pub data: Vec<f64>,
    /// The dtype descriptor as stored in the file (`<f4`, `<f8`, …).
    pub dtype: String,
}

/// What a `.npy` header says.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyHeader {
    /// Shape as stored (a complex array's, without the trailing 2 of [`Array`]).
    pub shape: Vec<usize>,
    /// The dtype descriptor as stored.
    pub dtype: String,
    /// Whether the elements are complex (two scalars each).
    pub complex: bool,
    /// Byte offset of the first element.
    pub data_offset: u64,
    /// Bytes per element.
    pub element_size: usize,
    little_endian: bool,
    kind: char,
}

impl NpyHeader {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One element's scalars (two for complex) as `f64`.
    fn decode(&self, b: &[u8], out: &mut Vec<f64>) {
        let n = if self.complex { self.element_size / 2 } else { self.element_size };
        for part in b.chunks_exact(n) {
            let mut a = [0u8; 8];
            a[..n].copy_from_slice(part);
            if self.little_endian != cfg!(target_endian = "little") {
                a[..n].reverse();
            }
            out.push(match (self.kind, n) {
                ('f' | 'c', 4) => f32::from_ne_bytes([a[0], a[1], a[2], a[3]]) as f64,
                ('f' | 'c', 8) => f64::from_ne_bytes(a),
                ('i', 2) => i16::from_ne_bytes([a[0], a[1]]) as f64,
                ('i', 4) => i32::from_ne_bytes([a[0], a[1], a[2], a[3]]) as f64,
                _ => a[0] as f64,
            });
        }
    }
}

fn bad(path: &Path, what: impl Into<String>) -> IoError {
    IoError::Format { path: path.to_path_buf(), message: what.into() }
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<Array, IoError> {
    let bytes = std::fs::read(path).map_err(|e| IoError::Read { path: path.to_path_buf(), source: e })?;
    parse_npy(&bytes).map_err(|m| bad(path, m))
}

/// Reads only the header of a `.npy` file (the data are not read).
pub fn read_npy_header(path: &Path) -> Result<NpyHeader, IoError> {
    let read = |e| IoError::Read { path: path.to_path_buf(), source: e };
    let mut f = std::fs::File::open(path).map_err(read)?;
    let mut head = vec![0u8; 12];
    let n = read_up_to(&mut f, &mut head).map_err(read)?;
    head.truncate(n);
    let (header_len, start) = preamble(&head).map_err(|m| bad(path, m))?;
    if header_len > 1 << 20 {
        return Err(bad(
            path,
            format!("the .npy header claims {header_len} bytes (more than 1 MiB): not a .npy file?"),
        ));
    }
    let mut all = vec![0u8; start + header_len];
    f.seek(SeekFrom::Start(0)).map_err(read)?;
    let n = read_up_to(&mut f, &mut all).map_err(read)?;
    all.truncate(n);
    let h = parse_header(&all).map_err(|m| bad(path, m))?;
    let file_len = f.metadata().map_err(read)?.len();
    let need = h.data_offset + (h.len() * h.element_size) as u64;
    if file_len < need {
        return Err(bad(
            path,
            format!("the file has {file_len} bytes but shape {:?} of `{}` needs {need}", h.shape, h.dtype),
        ));
    }
    Ok(h)
}

/// Elements `start .. start + count` (row-major) of the array `header` describes, as `f64`
/// scalars (complex elements: real and imaginary parts interleaved).
pub fn read_npy_elements(path: &Path, header: &NpyHeader, start: usize, count: usize) -> Result<Vec<f64>, IoError> {
    if start + count > header.len() {
        return Err(bad(
            path,
            format!("elements {start}..{} asked for, but the array has {}", start + count, header.len()),
        ));
    }
    let read = |e| IoError::Read { path: path.to_path_buf(), source: e };
    let mut f = std::fs::File::open(path).map_err(read)?;
    f.seek(SeekFrom::Start(header.data_offset + (start * header.element_size) as u64)).map_err(read)?;
    let mut bytes = vec![0u8; count * header.element_size];
    f.read_exact(&mut bytes).map_err(read)?;
    let mut out = Vec::with_capacity(count * if header.complex { 2 } else { 1 });
    for b in bytes.chunks_exact(header.element_size) {
        header.decode(b, &mut out);
    }
    Ok(out)
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// `(header length, header start)` from the magic string and version.
fn preamble(bytes: &[u8]) -> Result<(usize, usize), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a NumPy .npy file (missing the \\x93NUMPY magic string)".into());
    }
    match bytes[6] {
        1 => Ok((u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated .npy header".into());
            }
            Ok((u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12))
        }
        v => Err(format!("unsupported .npy format version {v} (expected 1, 2 or 3)")),
    }
}

fn parse_header(bytes: &[u8]) -> Result<NpyHeader, String> {
    let (header_len, start) = preamble(bytes)?;
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
    let unsupported = || {
        format!(
            "unsupported dtype `{descr}` (expected float `f4`/`f8`, complex `c8`/`c16`, or integer `i2`/`i4`/`u1`/`b1`)"
        )
    };
    let mut chars = descr.chars();
    let little_endian = match chars.next() {
        Some('<' | '|' | '=') => true,
        Some('>') => false,
        _ => return Err(unsupported()),
    };
    let kind = chars.next().ok_or_else(unsupported)?;
    let size: usize = chars.as_str().parse().map_err(|_| unsupported())?;
    if !matches!((kind, size), ('f', 4 | 8) | ('c', 8 | 16) | ('i', 2 | 4) | ('u' | 'b', 1)) {
        return Err(unsupported());
    }
    shape
        .iter()
        .try_fold(size, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} in the .npy header is too large"))?;
    Ok(NpyHeader {
        shape,
        complex: kind == 'c',
        dtype: descr,
        data_offset: (start + header_len) as u64,
        element_size: size,
        little_endian,
        kind,
    })
}

fn parse_npy(bytes: &[u8]) -> Result<Array, String> {
    let h = parse_header(bytes)?;
    let body = &bytes[h.data_offset as usize..];
    let need = h.len() * h.element_size;
    if body.len() < need {
        return Err(format!(
            "the file holds {} bytes of data but shape {:?} of `{}` needs {need}",
            body.len(),
            h.shape,
            h.dtype
        ));
    }
    let mut data = Vec::with_capacity(h.len() * if h.complex { 2 } else { 1 });
    for b in body[..need].chunks_exact(h.element_size) {
        h.decode(b, &mut data);
    }
    let mut shape = h.shape.clone();
    if h.complex {
        shape.push(2);
    }
    Ok(Array { shape, data, dtype: h.dtype })
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

    #[test]
    fn reads_complex_and_big_endian_arrays_whole_and_in_parts() {
        let dir = std::env::temp_dir().join(format!("mcmr-npy-c-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // complex64, shape (2, 3): element k = k + (−k/2)i; stored little-endian.
        let p = dir.join("c.npy");
        let bytes: Vec<u8> = (0..6).flat_map(|k| [k as f32, -(k as f32) / 2.0]).flat_map(f32::to_le_bytes).collect();
        std::fs::write(&p, encode(&[2, 3], "<c8", bytes)).unwrap();
        let a = read_npy(&p).unwrap();
        assert_eq!(a.shape, vec![2, 3, 2]);
        assert_eq!(&a.data[8..10], &[4.0, -2.0]);
        let h = read_npy_header(&p).unwrap();
        assert!(h.complex && h.len() == 6 && h.element_size == 8);
        assert_eq!(read_npy_elements(&p, &h, 3, 2).unwrap(), vec![3.0, -1.5, 4.0, -2.0]);
        let e = read_npy_elements(&p, &h, 5, 2).unwrap_err().to_string();
        assert!(e.contains("c.npy") && e.contains("5..7"), "{e}");
        // float64 stored big-endian.
        let q = dir.join("be.npy");
        let bytes: Vec<u8> = [1.5f64, -300.25].iter().flat_map(|v| v.to_be_bytes()).collect();
        std::fs::write(&q, encode(&[2], ">f8", bytes)).unwrap();
        assert_eq!(read_npy(&q).unwrap().data, vec![1.5, -300.25]);
        // A truncated file and an unknown dtype are named.
        let mut t = encode(&[4], "<f4", vec![0u8; 16]);
        t.truncate(t.len() - 3);
        std::fs::write(&q, &t).unwrap();
        let e = read_npy_header(&q).unwrap_err().to_string();
        assert!(e.contains("be.npy") && e.contains("needs"), "{e}");
        std::fs::write(&q, encode(&[1], "<U8", vec![0u8; 32])).unwrap();
        let e = read_npy(&q).unwrap_err().to_string();
        assert!(e.contains("unsupported dtype `<U8`"), "{e}");
    }
}
