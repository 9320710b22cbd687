"""Times one training step (forward, backward, Adam update) of frugal's zoo CNN in PyTorch.

Same architecture as src/models/cnn.ts: conv3x3(32)-relu, conv3x3(64)-relu, maxpool 2,
dense(128)-relu, dense(10), softmax cross-entropy, on random 28x28x1 inputs. Prints one JSON line.
Used by bench/train-step.ts and bench/parallel-step.ts (through torch-cnn.ts) when torch is importable; not a dependency of frugal.
"""

import argparse
import json
import time

import torch
from torch import nn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(),
        nn.Conv2d(32, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(9216, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    ms = (time.perf_counter() - start) * 1000 / args.steps
    print(json.dumps({"msPerStep": ms, "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "steps": args.steps}))


if __name__ == "__main__":
    main()
