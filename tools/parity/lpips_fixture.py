"""LPIPS fixture: the `lpips` package (v0.1, AlexNet) on two images, for kernel/tests/lpips.rs.

The package ships its linear layers (weights/v0.1/alex.pth); AlexNet's own weights would come
from torchvision's download, which this machine cannot reach, so the backbone gets weights from
a formula both sides compute: tensor number `t`, element `i`: sin(0.7 i + t) / sqrt(fan_in)
(biases: 0.05 (1 + sin(0.3 i + t)), keeping the ReLUs alive), in float64, then float32. The fixture keeps the package's linear
weights, the two images and the distances; the Rust test rebuilds the backbone from the formula.

    python tools/parity/lpips_fixture.py kernel/tests/fixtures/lpips_alex
(needs torch and lpips: pip install torch lpips; never in CI)"""

import json
import math
import os
import sys

import numpy as np
import torch
import lpips


def formula(shape, tag, bias):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    if bias:
        v = 0.05 * (1.0 + np.sin(0.3 * i + tag))
    else:
        fan_in = int(np.prod(shape[1:]))
        v = np.sin(0.7 * i + tag) / math.sqrt(fan_in)
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def main(out):
    net = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False).eval()
    sd = net.state_dict()
    tag = 0
    for key in sorted(sd):
        if key.startswith("net."):
            sd[key] = formula(tuple(sd[key].shape), tag, key.endswith("bias"))
            tag += 1
    net.load_state_dict(sd)
    h, w = 64, 48
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    a = np.tanh(np.sin(yy / 5.0) * np.cos(xx / 7.0) * 1.5 + 0.2 * (yy - h / 2) / h)
    b = np.clip(a + 0.6 * np.sin(xx / 2.0 + yy / 3.0) * np.exp(-((yy - 30) ** 2 + (xx - 20) ** 2) / 800.0), -1, 1)
    t = lambda x: torch.from_numpy(x.astype(np.float32)).reshape(1, 1, h, w).repeat(1, 3, 1, 1)
    with torch.no_grad():
        d_ab = float(net(t(a), t(b)).reshape(-1)[0])
        d_aa = float(net(t(a), t(a)).reshape(-1)[0])
        # Per layer, to locate a disagreement.
        layers = [float(x.reshape(-1)[0]) for x in net(t(a), t(b), retPerLayer=True)[1]]
    keys = sorted(k for k in sd if k.startswith("net."))
    fixture = {
        "what": "lpips.LPIPS(net='alex', version='0.1'), backbone from the formula of lpips_fixture.py",
        "lpips_version": lpips.__version__ if hasattr(lpips, "__version__") else "unknown",
        "torch": torch.__version__,
        "backbone_keys_in_tag_order": keys,
        "shift": sd["scaling_layer.shift"].reshape(-1).tolist(),
        "scale": sd["scaling_layer.scale"].reshape(-1).tolist(),
        "lin": [sd[f"lin{i}.model.1.weight"].reshape(-1).tolist() for i in range(5)],
        "height": h,
        "width": w,
        "a": a.astype(np.float32).reshape(-1).tolist(),
        "b": b.astype(np.float32).reshape(-1).tolist(),
        "distance_ab": d_ab,
        "distance_aa": d_aa,
        "layers_ab": layers,
    }
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "fixture.json"), "w") as f:
        json.dump(fixture, f)
    print(f"d(a, b) = {d_ab:.6f}, d(a, a) = {d_aa:.3g}, layers {[round(x, 6) for x in layers]}")


if __name__ == "__main__":
    main(sys.argv[1])
