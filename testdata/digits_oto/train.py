#!/usr/bin/python3
"""Train effc's structured-pruning test model: a residual CNN on sklearn's digits
whose training (OTOv2-style, with a DHSPG-like optimizer) left about half of its
zero-invariant groups (ZIGs) exactly zero.

Run from anywhere with the Debian python (it has torch, onnx, sklearn, numpy):

    /usr/bin/python3 testdata/digits_oto/train.py [--keep-compact]

Writes, next to this script:
  digits_oto.onnx  the sparse model, opset 13, input "image" f32[N,1,8,8] in
                   [0,1], output "logits" f32[N,10]; BatchNormalization nodes are
                   kept (eval mode, no constant folding). Every channel of a zero
                   group has exactly 0.0 in all its producer weight rows and in
                   its BN scale and bias.
  test_x.npy       f32[360,1,8,8] held-out images (the same split and seed as
                   testdata/digits)
  test_y.npy       i64[360] their labels
  test_logits.npy  f32[360,10] PyTorch's logits of the sparse model for test_x
  accuracy.json    accuracies (dense warm-up, sparse, compact), the groups per
                   family and how many are exactly zero, MACs per sample of the
                   dense and the compact model, the zero channel indices
With --keep-compact it also writes digits_oto_compact.onnx, the same network with
the zero groups physically removed (not committed; the script always builds and
checks it in a temporary directory).

Before it writes anything the script checks, on the exported ONNX files
themselves (with a small numpy evaluator, since there is no onnxruntime here):
every zero group is exactly zero in the ONNX initializers, no other group is,
and the compact ONNX model gives the sparse ONNX model's logits within 1e-4.

Everything is seeded and runs on one CPU thread, so a re-run with the same
torch version reproduces the files.
"""

import json
import os
import re
import sys
import tempfile
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 20261126  # the same seed and split as testdata/digits/train.py
N_TEST = 360
BATCH = 64
HERE = os.path.dirname(os.path.abspath(__file__))

# Schedule (epochs of 1437 images, 23 steps each).
WARMUP_EPOCHS = 20  # dense training, plain SGD with momentum
SPARSE_EPOCHS = 30  # DHSPG-like: group-lasso on the redundant groups, then half-space projection
HS_START_EPOCH = 10  # half-space projection starts this many epochs into the sparse phase
FINETUNE_EPOCHS = 15  # zero groups held at exactly 0, cosine lr to 0

LR = 0.05
MOMENTUM = 0.9
WEIGHT_DECAY = 1e-4
TARGET_GROUP_SPARSITY = 0.5  # per family: this share of each family's groups ends exactly zero
TOLERANCE_GROUP_SPARSITY = 0.05  # as in OTOv2: penalise target + tolerance, project at most target
# DHSPG hyper-parameters (names as in OTOv2's dhspg.py).
LMBDA = 0.2  # base group-lasso coefficient (OTOv2's SGD default is 1e-3, for schedules of ~100x more steps)
LMBDA_AMPLIFY = 2.0
HAT_LMBDA_COEFF = 10.0  # lambda_g is clipped to [LMBDA, LMBDA * HAT_LMBDA_COEFF]
EPSILON = 0.9  # half-space projection: x_g := 0 when <x_hat_g, x_g> < EPSILON * |x_g|^2


class Block(nn.Module):
    """Conv-BN-ReLU-Conv-BN plus a skip (identity, or 1x1 conv + BN), then ReLU.

    cmid is conv1's output width (the block's inner channels); cout is the width
    of the residual stream it writes.
    """

    def __init__(self, cin, cmid, cout, stride, proj):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cmid, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cmid)
        self.conv2 = nn.Conv2d(cmid, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = None
        if proj:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.proj is None else self.proj(x)
        return torch.relu(y + skip)


# Widths by group family; the dense model is 64/64/128/128/256/256.
DENSE_WIDTHS = {"s1": 64, "b1": 64, "b2": 128, "s2": 128, "b3": 256, "s3": 256}


class DigitsOtoNet(nn.Module):
    """Stem conv, three residual blocks (the last two strided, with projections), pool, linear."""

    def __init__(self, w=DENSE_WIDTHS):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, w["s1"], 3, padding=1, bias=False), nn.BatchNorm2d(w["s1"]), nn.ReLU())
        self.block1 = Block(w["s1"], w["b1"], w["s1"], 1, proj=False)
        self.block2 = Block(w["s1"], w["b2"], w["s2"], 2, proj=True)
        self.block3 = Block(w["s2"], w["b3"], w["s3"], 2, proj=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w["s3"], 10)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


# Zero-invariant groups, one group per channel index c of a family.
#   producers: (conv weight / BN scale / BN bias) whose row c belongs to group c
#              (rows = dim 0); these are the group's parameters and its penalty.
#   bn:        the BN modules whose running stats follow the channel (not in the group).
#   consumers: weights whose input column c (dim 1) goes away with the group; not
#              part of the group's penalty.
FAMILIES = [
    {
        "name": "s1",
        "what": "residual stream of stem + block1 (identity skip): stem conv/BN and block1.conv2/bn2 feed one Add",
        "producers": ["stem.0.weight", "stem.1.weight", "stem.1.bias",
                      "block1.conv2.weight", "block1.bn2.weight", "block1.bn2.bias"],
        "bn": ["stem.1", "block1.bn2"],
        "consumers": ["block1.conv1.weight", "block2.conv1.weight", "block2.proj.0.weight"],
    },
    {
        "name": "b1",
        "what": "block1 inner channels: block1.conv1 rows + bn1",
        "producers": ["block1.conv1.weight", "block1.bn1.weight", "block1.bn1.bias"],
        "bn": ["block1.bn1"],
        "consumers": ["block1.conv2.weight"],
    },
    {
        "name": "b2",
        "what": "block2 inner channels: block2.conv1 rows + bn1",
        "producers": ["block2.conv1.weight", "block2.bn1.weight", "block2.bn1.bias"],
        "bn": ["block2.bn1"],
        "consumers": ["block2.conv2.weight"],
    },
    {
        "name": "s2",
        "what": "residual stream of block2: block2.conv2/bn2 and the projection conv/BN feed one Add",
        "producers": ["block2.conv2.weight", "block2.bn2.weight", "block2.bn2.bias",
                      "block2.proj.0.weight", "block2.proj.1.weight", "block2.proj.1.bias"],
        "bn": ["block2.bn2", "block2.proj.1"],
        "consumers": ["block3.conv1.weight", "block3.proj.0.weight"],
    },
    {
        "name": "b3",
        "what": "block3 inner channels: block3.conv1 rows + bn1",
        "producers": ["block3.conv1.weight", "block3.bn1.weight", "block3.bn1.bias"],
        "bn": ["block3.bn1"],
        "consumers": ["block3.conv2.weight"],
    },
    {
        "name": "s3",
        "what": "residual stream of block3: block3.conv2/bn2 and the projection conv/BN feed one Add, then GlobalAveragePool, Flatten, Gemm",
        "producers": ["block3.conv2.weight", "block3.bn2.weight", "block3.bn2.bias",
                      "block3.proj.0.weight", "block3.proj.1.weight", "block3.proj.1.bias"],
        "bn": ["block3.bn2", "block3.proj.1"],
        "consumers": ["fc.weight"],
    },
]


class Family:
    """The groups of one family: views of the producer rows, zero/penalised masks."""

    def __init__(self, spec, params):
        self.name = spec["name"]
        self.parts = [params[n] for n in spec["producers"]]
        self.size = self.parts[0].shape[0]
        assert all(p.shape[0] == self.size for p in self.parts), self.name
        self.group_len = sum(p[0].numel() for p in self.parts)  # parameters per group
        self.penalised = torch.zeros(self.size, dtype=torch.bool)
        self.zero = torch.zeros(self.size, dtype=torch.bool)
        self.target = int(round(TARGET_GROUP_SPARSITY * self.size))

    def rows(self, tensors):
        return [t.reshape(self.size, -1) for t in tensors]

    def dot(self, a, b):
        """Per-group <a_g, b_g> over all parts (lists of tensors shaped like the parts)."""
        return sum((x * y).sum(1) for x, y in zip(self.rows(a), self.rows(b)))

    def exactly_zero(self):
        return torch.stack([(r == 0).all(1) for r in self.rows(self.parts)]).all(0)


class DHSPGLike:
    """SGD with momentum plus OTOv2's DHSPG treatment of the penalised groups.

    Every step: d = momentum buffer of (grad + weight_decay * x); x_hat = x - lr * d.
    For penalised groups not yet zero: x_hat_g -= lr * lambda_g * x_g / |x_g|, with
    lambda_g adapted as in dhspg.py when <x_g, d_g> < 0 (the loss wants the group
    to grow): L = -<x,d>/|x|, U = -|d|^2 |x| / <x,d>, lambda_g = clip(amplify * L,
    lambda, lambda * hat_coeff), and (L + U) / 2 if that is >= U.
    With projection on: x_hat_g := 0 when <x_hat_g, x_g> < epsilon * |x_g|^2, at
    most up to the family's target count; a family at its target stops being
    penalised (its remaining penalised groups train freely). A group once zero stays exactly zero (its parameters and momentum are re-zeroed
    after every step; BN running stats are left alone).
    """

    def __init__(self, model, families):
        self.params = [p for p in model.parameters()]
        self.buf = {p: torch.zeros_like(p) for p in self.params}
        self.families = families

    @torch.no_grad()
    def step(self, lr, penalise, project):
        new = {}
        for p in self.params:
            d = p.grad + WEIGHT_DECAY * p
            self.buf[p].mul_(MOMENTUM).add_(d)
            new[p] = p - lr * self.buf[p]
        stats = {"projected": 0}
        if penalise:
            for fam in self.families:
                active = fam.penalised & ~fam.zero
                if not active.any():
                    continue
                x = fam.parts
                d = [self.buf[p] for p in x]
                xx = fam.dot(x, x)
                xd = fam.dot(x, d)
                dd = fam.dot(d, d)
                n = xx.sqrt().clamp_min(1e-30)
                lam = torch.full_like(xx, LMBDA)
                neg = xd < 0
                low = -xd / n
                up = -dd * n / torch.where(neg, xd, torch.full_like(xd, -1.0))
                adapt = (LMBDA_AMPLIFY * low).clamp(LMBDA, LMBDA * HAT_LMBDA_COEFF)
                adapt = torch.where(adapt >= up, (low + up) / 2, adapt)
                lam = torch.where(neg, adapt, lam)
                coef = torch.where(active, lr * lam / n, torch.zeros_like(n))
                xh = [new[p] for p in x]
                for xr, hr in zip(fam.rows(x), fam.rows(xh)):
                    hr.sub_(coef[:, None] * xr)
                if project:
                    cand = active & (fam.dot(xh, x) < EPSILON * xx)
                    # Cap the family's zero groups at its target (OTOv2 picks the
                    # surplus at random; here the smallest |x_g| go first).
                    room = fam.target - int(fam.zero.sum())
                    if int(cand.sum()) > room:
                        order = torch.argsort(torch.where(cand, xx, torch.full_like(xx, float("inf"))), stable=True)
                        cand = torch.zeros_like(cand)
                        cand[order[:room]] = True
                    fam.zero |= cand
                    stats["projected"] += int(cand.sum())
                    if int(fam.zero.sum()) >= fam.target:
                        # Target reached: stop penalising this family.
                        fam.penalised &= fam.zero
        for p in self.params:
            p.copy_(new[p])
        self.hold_zero()
        return stats

    @torch.no_grad()
    def hold_zero(self):
        for fam in self.families:
            if not fam.zero.any():
                continue
            for p in fam.parts:
                p[fam.zero] = 0.0
                self.buf[p][fam.zero] = 0.0


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).numpy()
    return logits, float((logits.argmax(1) == y).mean())


def macs_per_sample(model):
    """Conv and Linear multiply-accumulates for one 8x8 image, from the real shapes."""
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            total[0] += out.shape[1] * out.shape[2] * out.shape[3] * (mod.in_channels // mod.groups) * kh * kw
        else:
            total[0] += mod.in_features * mod.out_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 8, 8))
    for h in hs:
        h.remove()
    return total[0]


@torch.no_grad()
def build_compact(model, families):
    """A smaller DigitsOtoNet with every zero group's channel removed from its
    producers (rows, BN params and running stats) and its consumers (columns)."""
    keep = {f.name: (~f.zero).nonzero().flatten() for f in families}
    widths = {k: len(v) for k, v in keep.items()}
    compact = DigitsOtoNet(widths)
    src = dict(model.state_dict())
    out_idx, in_idx = {}, {}
    for spec in FAMILIES:
        k = keep[spec["name"]]
        for n in spec["producers"]:
            out_idx[n] = k
        for m in spec["bn"]:
            out_idx[m + ".running_mean"] = k
            out_idx[m + ".running_var"] = k
        for n in spec["consumers"]:
            in_idx[n] = k
    new = {}
    for name, t in src.items():
        if name in out_idx:
            t = t.index_select(0, out_idx[name])
        if name in in_idx:
            t = t.index_select(1, in_idx[name])
        new[name] = t.clone()
    compact.load_state_dict(new)
    return compact, widths


def export(model, path):
    model.eval()
    torch.onnx.export(
        model,
        torch.zeros(1, 1, 8, 8),
        path,
        opset_version=13,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}},
        do_constant_folding=False,
        # PRESERVE with the model in eval mode exports inference-mode
        # BatchNormalization (EVAL would fuse each BN into its Conv).
        training=torch.onnx.TrainingMode.PRESERVE,
    )
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def onnx_initializers(m):
    """Initializer values by name, including names the exporter aliased with an
    Identity node (it deduplicates initializers with equal values)."""
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    aliases = {}
    for node in m.graph.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            inits[node.output[0]] = inits[node.input[0]]
            aliases[node.output[0]] = node.input[0]
    return inits, aliases


def run_onnx(m, x):
    """A numpy evaluator for the ops this exporter emits here (float64 accumulation)."""
    env = {"image": x.astype(np.float64)}
    for i in m.graph.initializer:
        env[i.name] = numpy_helper.to_array(i).astype(np.float64)
    for node in m.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[n] for n in node.input]
        op = node.op_type
        if op == "Identity":
            r = ins[0]
        elif op == "Conv":
            xx, w = ins[0], ins[1]
            assert a.get("group", 1) == 1
            s = a.get("strides", [1, 1])
            p = a.get("pads", [0, 0, 0, 0])
            kh, kw = w.shape[2], w.shape[3]
            xp = np.pad(xx, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
            ho = (xp.shape[2] - kh) // s[0] + 1
            wo = (xp.shape[3] - kw) // s[1] + 1
            r = np.zeros((xx.shape[0], w.shape[0], ho, wo))
            for i in range(kh):
                for j in range(kw):
                    patch = xp[:, :, i : i + s[0] * ho : s[0], j : j + s[1] * wo : s[1]]
                    r += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
            if len(ins) > 2:
                r += ins[2][None, :, None, None]
        elif op == "BatchNormalization":
            xx, g, b, mu, var = ins
            e = a.get("epsilon", 1e-5)
            sh = (1, -1, 1, 1)
            r = g.reshape(sh) * (xx - mu.reshape(sh)) / np.sqrt(var.reshape(sh) + e) + b.reshape(sh)
        elif op == "Relu":
            r = np.maximum(ins[0], 0)
        elif op == "Add":
            r = ins[0] + ins[1]
        elif op == "GlobalAveragePool":
            r = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            r = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "Gemm":
            wt = ins[1].T if a.get("transB", 0) else ins[1]
            r = a.get("alpha", 1.0) * ins[0] @ wt + a.get("beta", 1.0) * ins[2]
        else:
            raise ValueError(f"run_onnx: unexpected op {op}")
        env[node.output[0]] = r
    return env["logits"]


def group_saliency(model, families, xt, yt):
    """OTOv2's partition score: 0.5 * normalize(cos(-x_g, -grad_g)) +
    0.5 * normalize(1 / (|x_g| / |g| + 1e-6)), the gradient taken over the whole
    training set; higher = more redundant. normalize = L2 normalisation over the family (OTOv2 normalises over
    all groups at once; here each family is partitioned on its own)."""
    model.train()
    model.zero_grad()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    for i in range(0, len(xt), 256):
        loss_fn(model(xt[i : i + 256]), yt[i : i + 256]).backward()
    scores = []
    with torch.no_grad():
        for fam in families:
            g = [p.grad / len(xt) for p in fam.parts]
            xx = fam.dot(fam.parts, fam.parts)
            cos = fam.dot(fam.parts, g) / (xx.sqrt() * fam.dot(g, g).sqrt()).clamp_min(1e-30)
            inv = 1.0 / (xx.sqrt() / fam.group_len + 1e-6)

            scores.append(0.5 * F.normalize(cos, dim=0) + 0.5 * F.normalize(inv, dim=0))
    model.zero_grad()
    return scores


def main():
    keep_compact = "--keep-compact" in sys.argv[1:]
    t_start = time.process_time()
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    # The same data and split as testdata/digits/train.py.
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]  # [1797,1,8,8] in [0,1]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=N_TEST, random_state=SEED % (2**32), stratify=y
    )

    model = DigitsOtoNet()
    params = dict(model.named_parameters())
    families = [Family(spec, params) for spec in FAMILIES]
    opt = DHSPGLike(model, families)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(SEED)

    def run_epoch(lr, penalise=False, project=False):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        total, projected = 0.0, 0
        for i in range(0, len(xt), BATCH):
            idx = perm[i : i + BATCH]
            model.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            projected += opt.step(lr, penalise, project)["projected"]
            total += loss.item() * len(idx)
        return total / len(xt), projected

    def report(tag, epoch, loss, extra=""):
        _, acc = evaluate(model, x_test, y_test)
        zeros = " ".join(f"{f.name}:{int(f.zero.sum())}/{f.size}" for f in families)
        print(f"{tag} epoch {epoch}: train loss {loss:.4f} test acc {acc:.4f} zero {zeros} {extra}", flush=True)
        return acc

    # 1. Dense warm-up.
    for epoch in range(WARMUP_EPOCHS):
        loss, _ = run_epoch(LR)
        if epoch % 5 == 4 or epoch == WARMUP_EPOCHS - 1:
            report("warmup", epoch + 1, loss)
    _, dense_acc = evaluate(model, x_test, y_test)
    dense_macs = macs_per_sample(model)

    # 2. Partition: per family, the target + tolerance share of groups with the
    #    highest saliency become the penalised (redundant) set G_p.
    for fam, score in zip(families, group_saliency(model, families, xt, yt)):
        k = int(round((TARGET_GROUP_SPARSITY + TOLERANCE_GROUP_SPARSITY) * fam.size))
        fam.penalised[torch.argsort(score, descending=True, stable=True)[:k]] = True

    # 3. DHSPG-like sparsification.
    for epoch in range(SPARSE_EPOCHS):
        project = epoch >= HS_START_EPOCH
        loss, projected = run_epoch(LR, penalise=True, project=project)
        with torch.no_grad():
            norms = " ".join(
                f"{f.name}:{float(f.dot(f.parts, f.parts)[f.penalised & ~f.zero].sqrt().mean()) if (f.penalised & ~f.zero).any() else 0:.3f}"
                for f in families
            )
        report("sparse", epoch + 1, loss, f"(+{projected} projected; mean |x_g| of live penalised {norms})")
    forced = 0
    for fam in families:
        # Safety net: a family short of its target gets its smallest live
        # penalised groups zeroed here (counted in accuracy.json as
        # groups_forced_zero_after_projection).
        short = fam.target - int(fam.zero.sum())
        if short > 0:
            with torch.no_grad():
                xx = fam.dot(fam.parts, fam.parts)
            live = fam.penalised & ~fam.zero
            order = torch.argsort(torch.where(live, xx, torch.full_like(xx, float("inf"))), stable=True)
            fam.zero[order[:short]] = True
            forced += short
    opt.hold_zero()

    # 4. Fine-tune with the zero groups held at exactly 0.
    for epoch in range(FINETUNE_EPOCHS):
        lr = 0.5 * LR * (1 + np.cos(np.pi * epoch / FINETUNE_EPOCHS))
        loss, _ = run_epoch(lr)
        if epoch % 5 == 4 or epoch == FINETUNE_EPOCHS - 1:
            report("finetune", epoch + 1, loss)

    # Checks on the torch model.
    for fam in families:
        if not torch.equal(fam.exactly_zero(), fam.zero):
            sys.exit(f"train.py: family {fam.name}: the exactly-zero groups are not the projected ones")
    logits, acc = evaluate(model, x_test, y_test)
    correct = int((logits.argmax(1) == y_test).sum())
    top2 = np.sort(logits, axis=1)[:, -2:]
    margin = float((top2[:, 1] - top2[:, 0]).min())
    n_groups = sum(f.size for f in families)
    n_zero = sum(int(f.zero.sum()) for f in families)
    print(f"sparse model: test accuracy {acc:.4f} ({correct}/{len(y_test)}), dense {dense_acc:.4f}; "
          f"{n_zero}/{n_groups} groups exactly zero; smallest top-1/top-2 margin {margin:.4f}")
    if n_zero < 0.4 * n_groups:
        sys.exit("train.py: fewer than 40% of the groups are zero")
    if acc < dense_acc - 0.011:
        sys.exit(f"train.py: sparse accuracy {acc:.4f} is more than 1 point below dense {dense_acc:.4f}")

    compact, widths = build_compact(model, families)
    compact_logits, compact_acc = evaluate(compact, x_test, y_test)
    torch_diff = float(np.abs(compact_logits - logits).max())
    compact_macs = macs_per_sample(compact)
    print(f"compact torch model widths {widths}: max |logit diff| {torch_diff:.2e}, accuracy {compact_acc:.4f}")
    print(f"MACs per sample: dense {dense_macs}, compact {compact_macs} ({compact_macs / dense_macs:.3f}x)")
    if torch_diff > 1e-4:
        sys.exit("train.py: the compact torch model's logits differ by more than 1e-4")

    # Export both; check the ONNX files themselves.
    out_path = os.path.join(HERE, "digits_oto.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        sparse_onnx = export(model, os.path.join(tmp, "digits_oto.onnx"))
        compact_path = os.path.join(HERE if keep_compact else tmp, "digits_oto_compact.onnx")
        compact_onnx = export(compact, compact_path)
        with open(os.path.join(tmp, "digits_oto.onnx"), "rb") as f:
            sparse_bytes = f.read()

    ops = [n.op_type for n in sparse_onnx.graph.node]
    if ops.count("BatchNormalization") != 9:
        sys.exit(f"train.py: expected 9 BatchNormalization nodes, got {ops.count('BatchNormalization')}")
    inits, aliases = onnx_initializers(sparse_onnx)
    groups_json = []
    for fam, spec in zip(families, FAMILIES):
        rows = [inits[n].reshape(fam.size, -1) for n in spec["producers"]]
        onnx_zero = np.stack([(r == 0).all(1) for r in rows]).all(0)
        if not np.array_equal(onnx_zero, fam.zero.numpy()):
            sys.exit(f"train.py: family {fam.name}: zero groups in the ONNX initializers differ from training")
        for n, r in zip(spec["producers"], rows):
            # No half-zero channels: a producer row is all-zero iff its group is.
            if not np.array_equal((r == 0).all(1), onnx_zero):
                sys.exit(f"train.py: {n}: its all-zero rows are not exactly family {fam.name}'s zero groups")
        groups_json.append({
            "family": fam.name,
            "what": spec["what"],
            "groups": fam.size,
            "zero": int(onnx_zero.sum()),
            "params_per_group": fam.group_len,
            "producers": spec["producers"],
            "onnx_aliases": {n: aliases[n] for n in spec["producers"] if n in aliases},
            "bn_running_stats": [m + s for m in spec["bn"] for s in (".running_mean", ".running_var")],
            "consumer_input_columns": spec["consumers"],
            "zero_channels": [int(c) for c in np.nonzero(onnx_zero)[0]],
        })
    onnx_logits = run_onnx(sparse_onnx, x_test)
    onnx_compact_logits = run_onnx(compact_onnx, x_test)
    onnx_diff = float(np.abs(onnx_compact_logits - onnx_logits).max())
    onnx_vs_torch = float(np.abs(onnx_logits - logits).max())
    print(f"ONNX (numpy evaluator): sparse vs compact max |diff| {onnx_diff:.2e}, sparse ONNX vs torch {onnx_vs_torch:.2e}")
    if onnx_diff > 1e-4 or onnx_vs_torch > 1e-4:
        sys.exit("train.py: ONNX logits differ by more than 1e-4")
    print(f"exported {out_path}: {len(ops)} nodes, {ops.count('BatchNormalization')} BatchNormalization, "
          f"{ops.count('Identity')} Identity ({aliases})")

    with open(out_path, "wb") as f:
        f.write(sparse_bytes)
    np.save(os.path.join(HERE, "test_x.npy"), np.ascontiguousarray(x_test, dtype=np.float32))
    np.save(os.path.join(HERE, "test_y.npy"), np.ascontiguousarray(y_test, dtype=np.int64))
    np.save(os.path.join(HERE, "test_logits.npy"), np.ascontiguousarray(logits, dtype=np.float32))
    result = {
        "test_accuracy": acc,
        "n_test": len(y_test),
        "n_correct": correct,
        "dense_test_accuracy": dense_acc,
        "dense_n_correct": int(round(dense_acc * len(y_test))),
        "compact_test_accuracy": compact_acc,
        "compact_vs_sparse_max_abs_logit_diff_torch": torch_diff,
        "compact_vs_sparse_max_abs_logit_diff_onnx": onnx_diff,
        "min_top1_top2_logit_margin": margin,
        "groups_total": n_groups,
        "groups_zero": n_zero,
        "group_sparsity": n_zero / n_groups,
        "groups_forced_zero_after_projection": forced,
        "dense_widths": DENSE_WIDTHS,
        "compact_widths": widths,
        "macs_per_sample_dense": dense_macs,
        "macs_per_sample_compact": compact_macs,
        "macs_ratio_compact_over_dense": compact_macs / dense_macs,
        "families": groups_json,
        "torch": torch.__version__,
        "seed": SEED,
    }
    text = json.dumps(result, indent=2)
    # One line per list (the zero-channel lists would otherwise take one line per index).
    text = re.sub(r"\[([^\[\]{}]*)\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    with open(os.path.join(HERE, "accuracy.json"), "w") as f:
        f.write(text + "\n")
    print(f"done in {time.process_time() - t_start:.0f} s CPU")


if __name__ == "__main__":
    main()
