//! The fastMRI HDF5 reader on files written by h5py (tests/fixtures/fastmri/make_fixture.py).

use mcmr::data::fastmri::{open_volume, paired_slices, parse_ismrmrd_header, read_pairs_csv};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fastmri")
}

#[test]
fn volume_metadata_kspace_and_target_are_read_as_written() {
    let v = open_volume(&fixtures().join("file_pd.h5")).unwrap();
    assert_eq!((v.slices, v.kspace_shape, v.target_shape), (3, [16, 12], Some([8, 8])));
    assert_eq!(v.acquisition.as_deref(), Some("CORPD_FBK"));
    assert_eq!(v.max, Some(277.0));
    let enc = v.encoding.clone().unwrap();
    assert_eq!((enc.encoded_size, enc.recon_size), ([32, 12, 1], [8, 8, 1]));
    // fastMRI: padding_left = enc_y/2 - center = 6 - 6; padding_right = left + maximum + 1.
    assert_eq!((enc.padding_left, enc.padding_right), (0, 11));
    let k = v.kspace(2).unwrap();
    for (r, c) in [(0usize, 0usize), (5, 7), (15, 11)] {
        let z = k[r * 12 + c];
        let (re, im) = (3.0 + 0.01 * r as f32 + 0.001 * c as f32, 0.5 * 2.0 - 0.01 * c as f32);
        assert!((z.re - re).abs() < 1e-6 && (z.im - im).abs() < 1e-6, "({r},{c}): {z}");
    }
    let t = v.target(1).unwrap();
    assert_eq!(t[3 * 8 + 5], 100.0 + 30.0 + 5.0);
}

#[test]
fn pairs_are_read_from_the_csv_and_sliced_up_to_the_shorter_volume() {
    let pairs = read_pairs_csv(&fixtures().join("pairs.csv")).unwrap();
    assert_eq!(pairs, vec![("file_pd".to_string(), "file_pdfs".to_string())]);
    let (volumes, slices, problems) = paired_slices(&fixtures(), &pairs);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(slices.len(), 2, "3 PD slices, 2 PDFS slices");
    assert_eq!(volumes[slices[1].pdfs].acquisition.as_deref(), Some("CORPDFS_FBK"));
}

#[test]
fn bad_hdf5_inputs_name_the_file_and_the_problem() {
    let e = open_volume(&fixtures().join("no_kspace.h5")).unwrap_err();
    assert!(e.contains("no_kspace.h5") && e.contains("no `kspace` dataset"), "{e}");
    let e = open_volume(&fixtures().join("pairs.csv")).unwrap_err();
    assert!(e.contains("not a readable HDF5 file"), "{e}");
    let (_, slices, problems) = paired_slices(&fixtures(), &[("file_pd".into(), "missing".into())]);
    assert!(slices.is_empty() && problems[0].contains("missing.h5"), "{problems:?}");
    let dir = std::env::temp_dir().join(format!("mcmr-pairs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("p.csv"), "a,b\nonlyone\n").unwrap();
    let e = read_pairs_csv(&dir.join("p.csv")).unwrap_err();
    assert!(e.ends_with(":2: expected `pd_file,pdfs_file[,...]`, found `onlyone`"), "{e}");
    assert!(parse_ismrmrd_header("<ismrmrdHeader/>").unwrap_err().contains("encodedSpace"));
}
