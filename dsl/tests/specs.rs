//! The repository's specs parse and check; their parameter counts match the official modules.

use mcmr_dsl::check::{elaborate, Value};
use std::path::PathBuf;

fn spec(rel: &str) -> (String, mcmr_dsl::ast::Spec) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed = mcmr_dsl::parse(&text).unwrap_or_else(|d| panic!("{}", d.render(&text, rel)));
    (text, parsed)
}

#[test]
fn unet_has_the_official_parameter_count() {
    let (text, s) = spec("papers/baselines/unet.mcmr");
    let checked = elaborate(&s, None, None, &[])
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| d.render(&text, "unet")).collect::<String>()));
    // torch: Unet(1, 1, chans=32, num_pool_layers=4) has 7,756,097 parameters (research/baselines.md §1).
    assert_eq!(checked.graph.parameter_count(), 7_756_097);
    assert!(checked.warnings.is_empty(), "{:?}", checked.warnings);
    let small =
        elaborate(&s, None, None, &[("chans".into(), Value::Int(8)), ("num_pool_layers".into(), Value::Int(2))])
            .unwrap();
    let names: Vec<String> = small.graph.parameters().into_iter().map(|p| p.path).collect();
    assert!(names.contains(&"down_sample_layers.0.layers.0.weight".to_string()), "{names:?}");
    assert!(names.contains(&"up_conv.1.1.bias".to_string()));
    let acts: Vec<&str> = small.graph.activations.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        acts,
        [
            "down_sample_layers.0",
            "down_sample_layers.1",
            "conv",
            "up_transpose_conv.0",
            "up_conv.0",
            "up_transpose_conv.1",
            "up_conv.1.0",
            "up_conv.1"
        ]
    );
}
