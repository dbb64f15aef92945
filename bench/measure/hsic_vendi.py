#!/usr/bin/env python3
"""numpy reference for ggmi's exact HSIC and Vendi score (bench/measure).

Reads DIR/x.f64, DIR/y.f64 (row-major little-endian float64) and
DIR/meta.json (n, dx, dy, sigma2_x, sigma2_y) written by
`go run ./bench/measure export -dir DIR`, computes

  HSIC_b = tr(KHLH)/(n-1)^2 with Gaussian kernels k = exp(-|x-x'|^2/(2 s2)),
           the bandwidths given explicitly (those Go's median heuristic chose),
           centring by row means (the same O(n^2) algorithm as Go);
  Vendi  = exp(-sum l log l) over the eigenvalues of X^T X / n (cosine
           kernel, dual form, rows scaled to unit length),

times each over RUNS runs and prints JSON with the values and median times.
"""
import json
import os
import sys
import time

import numpy as np


def gram(x, s2):
    sq = np.einsum("ij,ij->i", x, x)
    g = x @ x.T
    g *= -2.0
    g += sq[:, None]
    g += sq[None, :]
    np.maximum(g, 0.0, out=g)
    g *= -1.0 / (2.0 * s2)
    np.exp(g, out=g)
    np.fill_diagonal(g, 1.0)
    return g


def hsic(x, y, s2x, s2y):
    n = x.shape[0]
    k = gram(x, s2x)
    l = gram(y, s2y)
    r = k.mean(axis=1)
    a = r.mean()
    k -= r[:, None]
    k -= (r - a)[None, :]
    k *= l
    return k.sum() / float((n - 1) * (n - 1))


def vendi(x):
    n, d = x.shape
    xs = x / np.linalg.norm(x, axis=1, keepdims=True)
    k = (xs.T @ xs) / n if n > d else (xs @ xs.T) / n
    w = np.linalg.eigvalsh(k)
    w = w[w > 1e-12]
    return float(np.exp(-np.sum(w * np.log(w))))


def main():
    d = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    meta = json.load(open(os.path.join(d, "meta.json")))
    n = meta["n"]
    x = np.fromfile(os.path.join(d, "x.f64"), dtype="<f8").reshape(n, meta["dx"])
    y = np.fromfile(os.path.join(d, "y.f64"), dtype="<f8").reshape(n, meta["dy"])
    th, tv = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        h = hsic(x, y, meta["sigma2_x"], meta["sigma2_y"])
        th.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        v = vendi(x)
        tv.append(time.perf_counter() - t0)
    out = {"n": n, "runs": runs, "numpy": np.__version__,
           "hsic": float(h), "hsic_median_seconds": float(np.median(th)), "hsic_seconds": th,
           "vendi": v, "vendi_median_seconds": float(np.median(tv)), "vendi_seconds": tv}
    json.dump(out, open(os.path.join(d, "numpy.json"), "w"), indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
