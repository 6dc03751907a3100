"""Builds a DuDoRNet parity fixture from the official code at any width, depth, recurrence count
and size (non-square included).

The layout is that of shared/fixtures/parity/dudornet/small (see kernel/src/parity.rs and the
`parity` section of papers/baselines/dudornet.mcmr): weights (`net_G_I.*`, `net_G_K.*`), inputs
(`tag_image_sub`, `ref_image_full` as [B, 2, H, W] real/imaginary images; `ref_kspace_full`,
`tag_kspace_full` as [B, H, W, 2] k-space; `tag_kspace_mask2d` [B, H, W, 1]), outputs (every
recurrence's tensors as `net.r<i>_*`, `net.recon`, `loss`, and each DRDN child's output as
`act.net_G_{I,K}.<child>.call<i>`), targets, and one training step as released (Adam lr 5e-4,
betas (0.5, 0.999); L1 over every recurrence's data-consistent image and predicted k-space).

The official repository is not part of this kit: point DUDORNET_SRC at a checkout of
bbbbbbzhou/DuDoRNet (the kit's parity was written against 5e47030). The networks (DRDN, SEDRDB,
SELayer) and the data-consistency formula (`models/utils.py: data_consistency`) are the official
ones; the recurrent forward of `models/du_recurrent_model.py` is followed step by step, with the
legacy `torch.fft(x, 2, normalized=False)` of `models/utils.py` re-expressed as
`torch.fft.fft2` (norm "backward") between the same shifts. Needs torch, numpy and safetensors:

    DUDORNET_SRC=~/src/DuDoRNet python tools/parity/dudornet_fixture.py \\
        kernel/tests/fixtures/dudornet_g16_16x28 --G0 16 --G 12 --D 3 --C 3 --dilate 1,2,3 \\
        --n-recurrent 2 --height 16 --width 28
    mcmr parity papers/baselines/dudornet.mcmr --fixture kernel/tests/fixtures/dudornet_g16_16x28
"""

import argparse
import importlib.util
import os
import sys
import types

import numpy as np
import torch
import torch.nn as nn
from synthetic import ellipses, random_columns, save_fixture  # tools/parity/synthetic.py, beside this script


def official():
    """networks/networks.py and models/utils.py of the official repository, loaded by path (the
    `models` package's __init__ imports modules that need old scikit-image)."""
    src = os.environ.get("DUDORNET_SRC")
    if not src:
        sys.exit("set DUDORNET_SRC to a checkout of bbbbbbzhou/DuDoRNet")

    def load(name, rel):
        spec = importlib.util.spec_from_file_location(name, os.path.join(src, rel))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    sys.modules.setdefault("models", types.ModuleType("models"))
    utils = load("models.utils", "models/utils.py")
    networks = load("dudornet_networks", "networks/networks.py")
    return networks, utils


def fft2(x):
    """models/utils.py fft2 on [..., H, W, 2]: ifftshift, unnormalised FFT, fftshift."""
    z = torch.fft.ifftshift(torch.complex(x[..., 0], x[..., 1]), dim=(-2, -1))
    z = torch.fft.fftshift(torch.fft.fft2(z, norm="backward"), dim=(-2, -1))
    return torch.stack([z.real, z.imag], -1)


def ifft2(x):
    z = torch.fft.ifftshift(torch.complex(x[..., 0], x[..., 1]), dim=(-2, -1))
    z = torch.fft.fftshift(torch.fft.ifft2(z, norm="backward"), dim=(-2, -1))
    return torch.stack([z.real, z.imag], -1)


class Recurrent(nn.Module):
    """RecurrentModel.forward with use_prior (the T1 image and k-space concatenated)."""

    def __init__(self, networks, utils, ctor, n_recurrent):
        super().__init__()
        self.net_G_I = networks.DRDN(n_channels=4, **ctor)
        self.net_G_K = networks.DRDN(n_channels=4, **ctor)
        self.n_recurrent = n_recurrent
        self.dc = utils.data_consistency

    def forward(self, tag_image_sub, ref_image_full, ref_kspace_full, tag_kspace_full, tag_kspace_mask2d):
        mask = tag_kspace_mask2d.repeat(1, 1, 1, 2)
        image, net = tag_image_sub, {}
        for i in range(1, self.n_recurrent + 1):
            net[f"r{i}_img_pred"] = self.net_G_I(torch.cat((image, ref_image_full), 1))
            k = self.dc(fft2(net[f"r{i}_img_pred"].permute(0, 2, 3, 1)), tag_kspace_full, mask)
            net[f"r{i}_img_dc_pred"] = ifft2(k).permute(0, 3, 1, 2)
            net[f"r{i}_kspc_img_dc_pred"] = fft2(net[f"r{i}_img_dc_pred"].permute(0, 2, 3, 1))
            x_k = torch.cat((net[f"r{i}_kspc_img_dc_pred"].permute(0, 3, 1, 2), ref_kspace_full.permute(0, 3, 1, 2)), 1)
            net[f"r{i}_kspc_pred"] = self.net_G_K(x_k)
            k = self.dc(net[f"r{i}_kspc_pred"].permute(0, 2, 3, 1), tag_kspace_full, mask)
            image = ifft2(k).permute(0, 3, 1, 2)
        net["recon"] = image
        return net


def loss_of(net, n, target):
    l1 = nn.functional.l1_loss
    img = sum(l1(net[f"r{i}_img_dc_pred"], target["tag_image_full"]) for i in range(1, n + 1))
    kspc = sum(l1(net[f"r{i}_kspc_pred"].permute(0, 2, 3, 1), target["tag_kspace_full"]) for i in range(1, n + 1))
    return img + kspc, img, kspc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--G0", type=int, default=16, help="at least 16: SELayer squeezes to G0 // 16 channels")
    ap.add_argument("--G", type=int, default=12)
    ap.add_argument("--D", type=int, default=3)
    ap.add_argument("--C", type=int, default=3)
    ap.add_argument("--dilate", default="1,2,3")
    ap.add_argument("--n-recurrent", type=int, default=2,
                    help="2 to use the spec's parity section (its loss names two recurrences)")
    ap.add_argument("--height", type=int, default=16)
    ap.add_argument("--width", type=int, default=28)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=900)
    ap.add_argument("--act-calls", type=int, default=1,
                    help="keep the hooked activations of this many recurrences (the fixture's size)")
    args = ap.parse_args()
    dilate = [int(d) for d in args.dilate.split(",")]
    if len(dilate) < args.C:
        sys.exit("--dilate needs at least C entries")
    if args.G0 < 16:
        sys.exit("--G0 below 16 gives SELayer a zero-width squeeze (G0 // 16 = 0)")
    networks, utils = official()
    ctor = {"G0": args.G0, "kSize": 3, "D": args.D, "C": args.C, "G": args.G, "dilateSet": dilate}
    torch.manual_seed(0)
    model = Recurrent(networks, utils, ctor, args.n_recurrent)
    model.apply(networks.gaussian_weights_init)  # model.initialize(): N(0, 0.02) weights

    # Complex images: the synthetic magnitude with a smooth phase ramp, so imaginary parts and
    # odd k-space symmetry are exercised; the T1 prior likewise.
    rng = np.random.default_rng(args.seed)
    cols = random_columns(args.width, rng, center_fraction=1 / 8, acceleration=5)
    yy, xx = np.mgrid[0:args.height, 0:args.width]
    phase = 0.6 * np.sin(2 * np.pi * (yy / args.height + 0.5 * xx / args.width))
    two_ch = lambda z: np.stack([z.real, z.imag])  # noqa: E731
    last = lambda z: np.stack([z.real, z.imag], -1)  # noqa: E731
    centred_fft = lambda z: np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(z)))  # noqa: E731
    centred_ifft = lambda k: np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k)))  # noqa: E731
    tag_sub, ref_img, ref_k, tag_k, masks, tag_img = [], [], [], [], [], []
    for _ in range(args.batch):
        t1, t2 = ellipses(args.height, args.width, rng)
        z1, z2 = t1 * np.exp(1j * phase), t2 * np.exp(1j * phase)
        k1, k2 = centred_fft(z1), centred_fft(z2)
        tag_sub.append(two_ch(centred_ifft(k2 * cols[None, :])))
        ref_img.append(two_ch(z1)), ref_k.append(last(k1)), tag_k.append(last(k2)), tag_img.append(two_ch(z2))
        masks.append(np.broadcast_to(cols[None, :, None], (args.height, args.width, 1)))
    f32 = lambda xs: torch.tensor(np.stack(xs), dtype=torch.float32).contiguous()  # noqa: E731
    inputs = {"tag_image_sub": f32(tag_sub), "ref_image_full": f32(ref_img), "ref_kspace_full": f32(ref_k),
              "tag_kspace_full": f32(tag_k), "tag_kspace_mask2d": f32(masks)}
    target = {"tag_image_full": f32(tag_img), "tag_kspace_full": f32(tag_k)}

    acts, calls, handles = {}, {}, []
    for name, module in model.named_modules():
        # Each DRDN child (SFENet1, ..., UPNet) and each SEDRDB, as the shared fixture hooks them.
        if name.count(".") == 1 and not name.endswith("SEDRDBs") or name.count(".") == 2 and ".SEDRDBs." in name:
            def hook(m, i, o, name=name):
                n = calls.get(name, 0)
                calls[name] = n + 1
                if n < args.act_calls:
                    acts[f"act.{name}.call{n}"] = o.detach().clone().contiguous()
            handles.append(module.register_forward_hook(hook))
    weights = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.5, 0.999), weight_decay=0)
    opt.zero_grad()
    net = model(**inputs)
    for h in handles:
        h.remove()
    loss, loss_img, loss_kspc = loss_of(net, args.n_recurrent, target)
    loss.backward()
    grads = {f"grad.{n}": p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    opt.step()
    after = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}

    outputs = {f"net.{k}": v.detach().contiguous() for k, v in net.items()}
    outputs.update(acts)
    outputs.update({"loss": loss.detach().reshape(1), "loss_img": loss_img.detach().reshape(1),
                    "loss_kspc": loss_kspc.detach().reshape(1)})
    config = {
        "paper": "DuDoRNet",
        "repo": "bbbbbbzhou/DuDoRNet (DUDORNET_SRC); the kit's parity was written against 5e47030",
        "made_by": "tools/parity/dudornet_fixture.py " + " ".join(sys.argv[2:]),
        "constructor_args": {"G0": args.G0, "G": args.G, "D": args.D, "C": args.C, "kSize": 3,
                             "dilateSet": dilate, "n_recurrent": args.n_recurrent},
        "input_shapes": {k: list(v.shape) for k, v in inputs.items()},
        "mask": "fastMRI's random columns, centre fraction 1/8, acceleration 5 (the official validation setting)",
        "loss_value": loss.item(),
        "torch_version": torch.__version__,
    }
    save_fixture(args.out, {"weights": weights, "inputs": inputs, "target": target, "outputs": outputs,
                            "grads": grads, "weights_after_step": after}, config)


if __name__ == "__main__":
    main()
