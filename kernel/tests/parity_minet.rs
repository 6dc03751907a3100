//! papers/baselines/minet.mcmr against MINet as the UniFS repository implements it (LIKP0/UniFS
//! @ 025205c, model/MINet.py): two fixtures made from that code by tools/parity/minet_fixture.py
//! (no shared fixture exists; the authors' own code does not run): 16 features, two groups of one
//! block, 12x16, with the third branch's unused modules in the checkpoint (the spec's `ignore`
//! list skips them); and 24 features, one group of two blocks, 14x10, lean (only the modules the
//! forward pass calls); and the FSMNet repository's form (networks/compare_models/MINet.py: tanh
//! outputs), network `minet_fsmnet_repo`, 16 features, one group of two blocks, 10x12, lean. Both
//! outputs, every group, fusion, attention and output layer, gradients
//! and one Adam step.

mod common;

#[test]
fn minet_matches_the_unifs_repository_at_two_configurations_and_the_fsmnet_repository_in_float64_and_float32() {
    // (fixture, network, hooked module calls, gradients PyTorch computed)
    for (name, network, activations, grads) in [
        ("minet_f16_12x16", None, 20, 73),
        ("minet_f24_14x10", None, 17, 67),
        ("minet_fsmnet_f16_10x12", Some("minet_fsmnet_repo"), 17, 67),
    ] {
        for float64 in [true, false] {
            let (r, config) = common::committed_parity("baselines/minet.mcmr", name, network, float64);
            common::assert_committed_parity(name, &r, &config, (2, activations, grads), 1e-5);
        }
    }
}
