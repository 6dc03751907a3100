"""Synthetic inputs shared by the parity fixture scripts (no official code needed), and how
they write a fixture folder."""

import json
import os

import numpy as np


def ellipses(h, w, rng, texture=0.0):
    """Aligned T1 and T2 images, each in [0, 1]: a head ellipse and five random ellipses with
    different intensities per contrast; `texture` adds that much Gaussian noise to T2 inside the
    head (UniFS's fixtures: 0.05; MANet's: none)."""
    yy, xx = np.mgrid[0:h, 0:w]
    y = (yy - h / 2 + 0.5) / (h / 2)
    x = (xx - w / 2 + 0.5) / (w / 2)
    t1, t2 = np.zeros((h, w)), np.zeros((h, w))
    for k in range(6):
        cy, cx = rng.uniform(-0.4, 0.4, 2) if k else (0.0, 0.0)
        ry, rx = rng.uniform(0.15, 0.45, 2) if k else (0.85, 0.75)
        inside = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1
        t1[inside] += rng.uniform(0.2, 0.6)
        t2[inside] += rng.uniform(0.1, 0.9) * (1 if k % 2 else -0.5)
    if texture:
        t2 = np.abs(t2) + texture * rng.standard_normal((h, w)) * (t1 > 0)

    def unit(a):
        return (a - a.min()) / (a.max() - a.min())

    return unit(t1), unit(np.abs(t2))


def random_columns(w, rng, center_fraction=0.08, acceleration=4):
    """fastMRI's random column mask (RandomMaskFunc's formula), centred layout, as 0/1 floats."""
    low = int(round(w * center_fraction))
    prob = (w / acceleration - low) / (w - low)
    cols = rng.uniform(size=w) < prob
    pad = (w - low + 1) // 2
    cols[pad:pad + low] = True
    return cols.astype(np.float64)


def save_fixture(out, files, config):
    """Writes `files` ({name: {key: tensor}}) as `<name>.safetensors` and `config.json` into
    `out`, and prints the configuration."""
    from safetensors.torch import save_file

    os.makedirs(out, exist_ok=True)
    for name, tensors in files.items():
        save_file(tensors, os.path.join(out, f"{name}.safetensors"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(json.dumps(config, indent=2))


def adam_step_with_hooks(model, hooked, forward, loss_fn, lr=1e-4):
    """One Adam step of `model` as the fixtures record it: forward hooks on the modules named in
    `hooked` (state_dict paths; the n-th call of each as `act.<path>.call<n>`), `forward()`
    giving the outputs, `loss_fn(outputs)` the loss. Returns (outputs, activations, loss,
    gradients as `grad.<name>`, the state_dict before and after the step)."""
    import torch

    before = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    acts, calls, handles = {}, {}, []
    for name in hooked:
        def hook(m, i, o, name=name):
            n = calls.get(name, 0)
            calls[name] = n + 1
            acts[f"act.{name}.call{n}"] = o.detach().clone().contiguous()
        handles.append(model.get_submodule(name).register_forward_hook(hook))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    opt.zero_grad()
    outputs = forward()
    for h in handles:
        h.remove()
    loss = loss_fn(outputs)
    loss.backward()
    grads = {f"grad.{n}": p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    opt.step()
    after = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    return outputs, acts, loss, grads, before, after


def save_step_fixture(out, model, inputs, target, outputs, step, config):
    """Writes a fixture from `adam_step_with_hooks`'s `step` (its activations already in
    `outputs`), with the configuration completed by the inputs' shapes, the loss, the parameter
    count and torch's version."""
    import torch

    _, _, loss, grads, before, after = step
    config = dict(config, input_shapes={k: list(v.shape) for k, v in inputs.items()}, loss_value=loss.item(),
                  n_params=sum(p.numel() for p in model.parameters()), torch_version=torch.__version__)
    save_fixture(out, {"weights": before, "inputs": inputs, "target": target, "outputs": outputs, "grads": grads,
                       "weights_after_step": after}, config)


def zero_filled_batch(height, width, batch, seed):
    """`batch` phantom pairs under one random column mask (seed `seed`), as float32 tensors
    [B, 1, H, W]: the reference (T1), the target's zero-filled magnitude (orthonormal centred
    FFTs) and the target (T2)."""
    import torch

    rng = np.random.default_rng(seed)
    cols = random_columns(width, rng)
    refs, zfs, ts = [], [], []
    for _ in range(batch):
        t1, t2 = ellipses(height, width, rng, texture=0.05)
        k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(t2), norm="ortho")) * cols[None, :]
        zf = np.abs(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k), norm="ortho")))
        refs.append(t1[None]), zfs.append(zf[None]), ts.append(t2[None])
    return tuple(torch.tensor(np.stack(v), dtype=torch.float32).contiguous() for v in (refs, zfs, ts))
