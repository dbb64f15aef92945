#!/usr/bin/env python3
"""Times the float32 product of BenchmarkGemmGPT2MLP (llama package) in
PyTorch: 2048×768 by 768×3072 with --threads threads; prints GFLOP/s."""
import argparse
import time

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--reps", type=int, default=3)
a = ap.parse_args()
torch.set_num_threads(a.threads)
x, w = torch.randn(2048, 768), torch.randn(768, 3072)
x @ w
t0 = time.perf_counter()
for _ in range(a.reps):
    x @ w
dt = (time.perf_counter() - t0) / a.reps
print("pytorch %s: %.2f GFLOP/s" % (torch.__version__, 2 * 2048 * 768 * 3072 / dt / 1e9))
