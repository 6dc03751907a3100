//! The spec checker takes the names the kernel owns from the kernel (`mcmr::spec::vocabulary`),
//! so `check-spec` rejects a misspelt mask family, protocol, normalisation or layout before any
//! run, with the kernel's own list as suggestions.

use mcmr::data::layout::Layout;
use mcmr::data::prepare::Normalisation;
use mcmr::masks::MaskFamily;
use mcmr::protocols::Protocol;

#[test]
fn the_checker_knows_exactly_the_kernels_names() {
    let v = mcmr::spec::vocabulary();
    for f in &v.mask_families {
        assert!(MaskFamily::parse_with_preset(f).is_ok(), "{f}");
    }
    for p in &v.protocols {
        assert!(Protocol::parse(p).is_ok(), "{p}");
    }
    for n in &v.normalisations {
        assert!(Normalisation::parse(n).is_ok(), "{n}");
    }
    for l in &v.layouts {
        assert!(Layout::parse(l).is_ok(), "{l}");
    }
    for i in &v.intensities {
        assert!(mcmr::data::dataset::Intensity::parse(i).is_ok(), "{i}");
    }
    for r in &v.resizes {
        assert!(mcmr::data::prepare::Resize::parse(r).is_ok(), "{r}");
    }
    for r in &v.roundings {
        assert!(mcmr::masks::Rounding::parse(r).is_ok(), "{r}");
    }
    assert_eq!(
        (v.intensities.len(), v.resizes.len(), v.roundings.len()),
        (
            mcmr::data::dataset::Intensity::ALL.len(),
            mcmr::data::prepare::Resize::ALL.len(),
            mcmr::masks::Rounding::ALL.len()
        )
    );
    assert_eq!(
        (v.mask_families.len(), v.protocols.len(), v.normalisations.len(), v.layouts.len()),
        (
            MaskFamily::ALL.len() + mcmr::masks::PRESETS.len(),
            Protocol::ALL.len(),
            Normalisation::ALL.len(),
            Layout::ALL.len()
        )
    );
}

#[test]
fn misspelt_kernel_names_are_refused_with_a_suggestion() {
    let text = "experiment {\n    mask {\n        family = \"equispaced_fractoin\"\n        acceleration = 4\n        rounding = \"flor\"\n    }\n    data {\n        resize = \"kspac\"\n    }\n    evaluate {\n        protocol = \"fastmri-volum\"\n    }\n}\n";
    let spec = mcmr_dsl::parse(text).unwrap();
    let errors = mcmr_dsl::sections::check_with(&spec, &mcmr::spec::vocabulary());
    let helps: Vec<Option<&str>> = errors.iter().map(|d| d.help.as_deref()).collect();
    assert_eq!(
        helps,
        [
            Some("did you mean `equispaced_fraction`?"),
            Some("did you mean `floor`?"),
            Some("did you mean `kspace`?"),
            Some("did you mean `fastmri-volume`?")
        ]
    );
    assert!(mcmr_dsl::sections::check(&spec).is_empty(), "the language alone leaves the kernel's names open");
}
