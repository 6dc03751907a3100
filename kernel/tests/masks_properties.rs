//! Properties of the non-fastMRI families and the errors for impossible parameters.

use mcmr::masks::{generate, MaskFamily, MaskParams};
use mcmr::rng::Seed;

fn make(
    family: MaskFamily,
    shape: [usize; 2],
    acc: f64,
    cf: Option<f64>,
    seed: u32,
) -> Result<mcmr::masks::Mask, String> {
    let mut p = MaskParams::new(family, shape, acc).seed(Seed::Int(seed));
    p.center_fraction = cf;
    generate(&p).map_err(|e| e.to_string())
}

#[test]
fn every_family_is_deterministic_for_a_seed_and_reaches_its_target() {
    for family in MaskFamily::ALL {
        for &acc in &[4.0, 8.0] {
            let a = make(family, [96, 80], acc, None, 7).unwrap_or_else(|e| panic!("{family:?} {acc}: {e}"));
            let b = make(family, [96, 80], acc, None, 7).unwrap();
            assert_eq!(a, b, "{family:?}: same seed, different mask");
            // Randomised families hit the target on average: average the sampled fraction over seeds.
            let seeds = 20;
            let mean_fraction =
                (0..seeds).map(|s| make(family, [96, 80], acc, None, s).unwrap().sampled_fraction()).sum::<f64>()
                    / seeds as f64;
            let achieved = 1.0 / mean_fraction;
            let ok = match family {
                // The integer-stride families add the centre block on top of W/A lines.
                MaskFamily::Equispaced | MaskFamily::Magic => achieved > 0.6 * acc && achieved <= acc,
                // "x4" keeps a 1/4 x 1/4 block: 16x in points.
                MaskFamily::CenterSquare => (achieved - acc * acc).abs() / (acc * acc) < 0.1,
                _ => (achieved - acc).abs() / acc < 0.1,
            };
            assert!(ok, "{family:?} at {acc}x achieved {achieved} on average");
            if family == MaskFamily::PoissonDisc {
                assert!((a.achieved_acceleration() - acc).abs() < 0.1, "Poisson disc misses the 0.1 tolerance");
            }
        }
    }
}

#[test]
fn variable_density_masks_sample_the_centre_more_densely() {
    // (An Archimedean spiral has a constant pitch, hence a uniform areal density: not tested here.)
    for family in [MaskFamily::Gaussian2d, MaskFamily::PoissonDisc, MaskFamily::Radial] {
        let m = make(family, [128, 128], 6.0, None, 3).unwrap();
        let density = |r0: usize, r1: usize| {
            let mut n = 0;
            for r in r0..r1 {
                for c in r0..r1 {
                    n += m.data[r * 128 + c] as usize;
                }
            }
            n as f64 / ((r1 - r0) * (r1 - r0)) as f64
        };
        assert!(density(56, 72) > 2.0 * m.sampled_fraction(), "{family:?}: centre not denser");
    }
}

/// Blue noise: a Poisson-disc mask has far fewer touching sampled points (4-neighbours) away
/// from the centre than a uniformly random mask of the same acceleration.
#[test]
fn poisson_disc_points_keep_their_distance() {
    let touching = |m: &mcmr::masks::Mask| {
        let n = m.width;
        let mut t = 0;
        for r in 0..n - 1 {
            for c in 0..n - 1 {
                let d = ((r as f64 - 32.0).powi(2) + (c as f64 - 32.0).powi(2)).sqrt();
                if d > 12.0 && m.data[r * n + c] == 1 && (m.data[r * n + c + 1] == 1 || m.data[(r + 1) * n + c] == 1) {
                    t += 1;
                }
            }
        }
        t
    };
    let poisson = make(MaskFamily::PoissonDisc, [64, 64], 8.0, None, 11).unwrap();
    let uniform = make(MaskFamily::Random2d, [64, 64], 8.0, Some(0.01), 11).unwrap();
    let (p, u) = (touching(&poisson), touching(&uniform));
    assert!(p * 4 < u, "Poisson disc {p} touching pairs vs uniform {u}");
}

/// The Poisson-disc sampler ends for every seed: on a 32x32 grid with a 25% calibration region
/// (UniFS's unseen pattern at smoke size), seeds 2 and 3 used to loop forever, re-accepting
/// candidates in cells already sampled, and some seeds found no slope within 0.1 of 4x: every
/// seed now gives a mask within the tolerance.
#[test]
fn poisson_disc_ends_for_every_seed_on_small_grids() {
    for seed in 0..40 {
        for shape in [[32, 32], [24, 40]] {
            let m = make(MaskFamily::PoissonDisc, shape, 4.0, Some(0.25), seed)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert!((m.achieved_acceleration() - 4.0).abs() < 0.1, "seed {seed}");
            let m = make(MaskFamily::PoissonDisc, shape, 4.0, Some(0.25), seed);
            assert_eq!(
                m,
                make(MaskFamily::PoissonDisc, shape, 4.0, Some(0.25), seed),
                "seed {seed}: not deterministic"
            );
        }
    }
}

#[test]
fn impossible_parameters_name_the_parameter() {
    let cases: [(MaskFamily, [usize; 2], f64, Option<f64>, &str); 7] = [
        (MaskFamily::Random, [64, 64], 1.0, None, "acceleration"),
        (MaskFamily::Random, [64, 64], 4.0, Some(1.2), "center_fraction"),
        (MaskFamily::Random, [64, 64], 4.0, Some(0.0), "center_fraction"),
        (MaskFamily::Random, [64, 64], 4.0, Some(0.3), "center_fraction"),
        // fastMRI issue #344: the centre takes every line the acceleration allows.
        (MaskFamily::MagicFraction, [640, 368], 4.0, Some(0.37), "center_fraction"),
        (MaskFamily::Radial, [2, 2], 4.0, None, "shape"),
        (MaskFamily::PoissonDisc, [16, 16], 50.0, None, "acceleration"),
    ];
    for (family, shape, acc, cf, param) in cases {
        let e = make(family, shape, acc, cf, 0).expect_err("must fail");
        assert!(e.contains(&format!("`{param}`")), "{family:?}: {e}");
    }
    let e = make(MaskFamily::Equispaced, [64, 64], 4.5, Some(0.08), 0).unwrap_err();
    assert!(e.contains("integer acceleration"), "{e}");
}

#[test]
fn a_random_2d_mask_without_a_centre_is_uniform() {
    // IGKR-Net's Table 5 "2D random" at 10%: no fully sampled centre (16% cannot fit in 10%),
    // every point with the same probability. The central 16% square is then sampled at the
    // overall rate, not fully; averaged over seeds, both reach 10% within sampling error.
    let (n, seeds) = (128usize, 20u32);
    let (mut all, mut centre) = (0.0, 0.0);
    let side = (n as f64 * 0.4).round() as usize;
    let lo = (n - side) / 2;
    for s in 0..seeds {
        let m = make(MaskFamily::Random2d, [n, n], 10.0, Some(0.0), s).unwrap();
        all += m.sampled_fraction() / seeds as f64;
        let hits =
            (lo..lo + side).flat_map(|r| (lo..lo + side).map(move |c| (r, c))).filter(|&(r, c)| m.data[r * n + c] != 0);
        centre += hits.count() as f64 / (side * side) as f64 / seeds as f64;
    }
    assert!((all - 0.1).abs() < 0.005, "overall {all}");
    assert!((centre - 0.1).abs() < 0.01, "centre {centre}");
    // Other families still need a centre.
    assert!(make(MaskFamily::Random, [64, 64], 4.0, Some(0.0), 0).is_err());
}
