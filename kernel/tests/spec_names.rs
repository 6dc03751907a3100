//! The spec language lists names that the kernel owns (`mcmr_dsl::sections`), so that
//! `check-spec` can reject a misspelt mask family before any run; these lists must stay equal.

use mcmr::data::layout::Layout;
use mcmr::data::prepare::Normalisation;
use mcmr::masks::MaskFamily;
use mcmr::protocols::Protocol;
use mcmr_dsl::sections;

#[test]
fn the_spec_schema_knows_exactly_the_kernels_names() {
    let families: Vec<&str> = MaskFamily::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(sections::MASK_FAMILIES, families.as_slice());
    let protocols: Vec<&str> = Protocol::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(sections::PROTOCOLS, protocols.as_slice());
    let norms: Vec<&str> = Normalisation::ALL.iter().map(|n| n.name()).collect();
    assert_eq!(sections::NORMALISATIONS, norms.as_slice());
    for layout in sections::LAYOUTS {
        assert!(Layout::parse(layout).is_ok(), "{layout}");
    }
}
