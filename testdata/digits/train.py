#!/usr/bin/python3
"""Train effc's bundled example model: a small residual CNN on sklearn's digits.

Run from anywhere with the Debian python (it has torch, onnx, sklearn, numpy):

    /usr/bin/python3 testdata/digits/train.py

Writes, next to this script:
  digits.onnx     the model, opset 13, input "image" f32[N,1,8,8] in [0,1],
                  output "logits" f32[N,10]; BatchNormalization nodes are kept
                  (eval mode, no constant folding) so effc's bn-fold pass has work.
  test_x.npy      f32[360,1,8,8] held-out images
  test_y.npy      i64[360] their labels
  test_logits.npy f32[360,10] PyTorch's logits for test_x (a reference for
                  interpreter tests)
  accuracy.json   test accuracy of the PyTorch model on test_x/test_y

Everything is seeded and runs on one CPU thread, so a re-run with the same
torch version reproduces the files.
"""

import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 20261126
EPOCHS = 40
BATCH = 64
N_TEST = 360
HERE = os.path.dirname(os.path.abspath(__file__))


class Block(nn.Module):
    """Conv-BN-ReLU-Conv-BN plus a skip connection, then ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.proj is None else self.proj(x)
        return torch.relu(y + skip)


class DigitsNet(nn.Module):
    """Stem conv, two residual blocks (the second strided), pool, linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.block1 = Block(16, 16, 1)
        self.block2 = Block(16, 32, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def main():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]  # [1797,1,8,8] in [0,1]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=N_TEST, random_state=SEED % (2**32), stratify=y
    )

    model = DigitsNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), BATCH):
            idx = perm[i : i + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1}: train loss {total / len(xt):.4f}", flush=True)

    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x_test)).numpy()
    pred = logits.argmax(1)
    top2 = np.sort(logits, axis=1)[:, -2:]
    print(f"smallest top-1/top-2 logit margin {float((top2[:, 1] - top2[:, 0]).min()):.4f}")
    correct = int((pred == y_test).sum())
    acc = correct / len(y_test)
    print(f"test accuracy {acc:.4f} ({correct}/{len(y_test)})")
    if acc <= 0.95:
        sys.exit(f"train.py: test accuracy {acc:.4f} is not above 0.95; change EPOCHS or lr")

    path = os.path.join(HERE, "digits.onnx")
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
        # BatchNormalization; EVAL would run the exporter's eval peephole,
        # which fuses each BN into the preceding Conv.
        training=torch.onnx.TrainingMode.PRESERVE,
    )
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = [n.op_type for n in m.graph.node]
    n_bn = ops.count("BatchNormalization")
    if n_bn == 0:
        sys.exit("train.py: exported graph has no BatchNormalization nodes; export without constant folding")
    print(f"exported {path}: {len(ops)} nodes, {n_bn} BatchNormalization")

    np.save(os.path.join(HERE, "test_x.npy"), np.ascontiguousarray(x_test, dtype=np.float32))
    np.save(os.path.join(HERE, "test_y.npy"), np.ascontiguousarray(y_test, dtype=np.int64))
    np.save(os.path.join(HERE, "test_logits.npy"), np.ascontiguousarray(logits, dtype=np.float32))
    with open(os.path.join(HERE, "accuracy.json"), "w") as f:
        json.dump(
            {"test_accuracy": acc, "n_test": len(y_test), "n_correct": correct, "torch": torch.__version__, "seed": SEED},
            f,
            indent=2,
        )
        f.write("\n")


if __name__ == "__main__":
    main()
