//! FSMNet's phase path takes `atan2` of an rfft2 spectrum. At the self-conjugate bins of a real
//! image ((0, 0), (0, W/2), (H/2, 0), (H/2, W/2)) the imaginary part is exactly zero in exact
//! arithmetic, so a negative real part sits on the branch cut: rounding noise of either sign
//! there flips the phase between −π and +π (research notes fsmnet.md §9; at 240×240 PyTorch
//! itself is rounding-dependent). The kit returns +0.0 there on both implementations, so the
//! phase is 0 or +π at every size, as PyTorch gives at sizes whose FFT is exact there.

use burn::tensor::{Device, Tensor, TensorData};
use mcmr::fft::Norm;
use mcmr::ops::{phase, rfft2_using, FftImpl};

#[test]
fn phase_at_self_conjugate_bins_is_zero_or_plus_pi_at_every_size() {
    for (h, w) in [(240, 240), (30, 30), (24, 40), (120, 60), (64, 64), (20, 21)] {
        // A real image with negative mean and a negative checkerboard component, so the DC and
        // Nyquist bins are negative real numbers (phase exactly +π wanted).
        let values: Vec<f32> = (0..h * w)
            .map(|i| {
                let (r, c) = (i / w, i % w);
                let checker = if (r + c) % 2 == 0 { -0.7 } else { 0.7 };
                -1.0 + checker + 0.3 * ((i * 7919 % 1000) as f32 / 1000.0 - 0.5)
                    - 0.2 * ((r % 2) as f32)
                    - 0.2 * ((c % 2) as f32)
            })
            .collect();
        let device = Device::flex();
        let x = Tensor::<4>::from_data(TensorData::new(values, [1, 1, h, w]), &device);
        for imp in [FftImpl::Host, FftImpl::Dense] {
            let (re, im) = rfft2_using(imp, x.clone(), Norm::Backward);
            let p = phase(re.clone(), im.clone()).into_data().try_to_vec::<f32>().unwrap();
            let (re, im) = (re.into_data().try_to_vec::<f32>().unwrap(), im.into_data().try_to_vec::<f32>().unwrap());
            let wh = w / 2 + 1;
            let rows: Vec<usize> = if h % 2 == 0 { vec![0, h / 2] } else { vec![0] };
            let cols: Vec<usize> = if w % 2 == 0 { vec![0, w / 2] } else { vec![0] };
            for &r in &rows {
                for &c in &cols {
                    let k = r * wh + c;
                    assert!(
                        im[k] == 0.0 && im[k].is_sign_positive(),
                        "{imp:?} {h}x{w} bin ({r}, {c}): imag {:e}",
                        im[k]
                    );
                    let want = if re[k] < 0.0 { std::f32::consts::PI } else { 0.0 };
                    assert_eq!(p[k], want, "{imp:?} {h}x{w} bin ({r}, {c}): re {} phase {}", re[k], p[k]);
                }
            }
        }
    }
}
