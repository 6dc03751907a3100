//! papers/baselines/mc_varnet.mcmr against MC-VarNet as the UniFS repository implements it
//! (LIKP0/UniFS @ 025205c, model/MC_VarNet.py `VANet`): two fixtures made from that code by
//! tools/parity/mc_varnet_fixture.py (no shared fixture exists): 4 channels, three iterations,
//! 16x24 (non-square), and 8 channels, two iterations, 24x24. Both outputs, every call of every
//! top-level module (the call index counts the unrolled iterations), gradients and one Adam step.

mod common;

#[test]
fn mc_varnet_matches_the_unifs_repository_at_two_configurations_in_float64_and_float32() {
    // (fixture, hooked module calls, gradients PyTorch computed)
    for (name, activations, grads) in [("mc_varnet_c4_16x24", 26, 304), ("mc_varnet_c8_24x24", 17, 192)] {
        for float64 in [true, false] {
            let (r, config) = common::committed_parity("baselines/mc_varnet.mcmr", name, None, float64);
            common::assert_committed_parity(name, &r, &config, (2, activations, grads), 2e-6);
        }
    }
}
