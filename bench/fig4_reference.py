"""The reverse-bottleneck paper's GMM protocol as its public code runs it
(see the lab's documentation): G with A·Bᵀ covariances sampled by NumPy,
anchors, M, scikit-learn fits with default settings, and the histogram KL
(50 bins per axis on each sample's own range, clipped at 1e-10) averaged
over 100 inner rounds of 1,000 draws. Written here to time the reference
protocol side by side with ggmi; prints JSON.

usage: fig4_reference.py base ROUNDS          # rounds at K=J=L=2
       fig4_reference.py sweep ROUNDS_PER_VALUE  # every Fig. 4 value, extrapolated to 100 rounds
"""
import json
import sys
import time
import warnings

import numpy as np
from scipy.stats import entropy
from sklearn.mixture import GaussianMixture

warnings.filterwarnings("ignore")


def random_cov(d):
    return np.random.rand(d, d) @ np.random.rand(d, d).T


def fixed_mixture(means, covs):
    g = GaussianMixture(n_components=len(means))
    g.means_ = np.asarray(means)
    g.covariances_ = np.asarray(covs)
    g.weights_ = np.ones(len(means)) / len(means)
    return g


def hist_kl(p, q, bins=50):
    ph, _ = np.histogramdd(p, bins=bins, density=True)
    qh, _ = np.histogramdd(q, bins=bins, density=True)
    return entropy(np.clip(ph, 1e-10, None).ravel(), np.clip(qh, 1e-10, None).ravel())


def one_round(k, j, l, nk=50, d=2, n=200, inner=100, m=1000):
    gm = np.random.rand(k + j, d) * 10
    gc = [random_cov(d) for _ in range(k + j)]
    anchors = [np.random.multivariate_normal(gm[i], gc[i], nk) for i in range(k)]
    mm = [a.mean(axis=0) for a in anchors] + list(gm[k:]) + list(np.random.rand(l, d) * 10)
    mc = [np.cov(a, rowvar=False) + 1e-6 * np.eye(d) for a in anchors] + gc[k:] + [random_cov(d) for _ in range(l)]
    model = fixed_mixture(mm, mc)
    truth = fixed_mixture(gm, gc)
    synthetic, _ = model.sample(n)
    pi_anchor = GaussianMixture(n_components=k).fit(np.vstack(anchors))
    pi_gen = GaussianMixture(n_components=k + j + l).fit(synthetic)
    gap = 0.0
    for _ in range(inner):
        g, _ = truth.sample(m)
        a, _ = pi_anchor.sample(m)
        s, _ = pi_gen.sample(m)
        gap += hist_kl(a, g) - hist_kl(s, g)
    return gap / inner


def main():
    mode, rounds = sys.argv[1], int(sys.argv[2])
    np.random.seed(1)
    if mode == "base":
        t = time.process_time()
        gaps = [one_round(2, 2, 2) for _ in range(rounds)]
        cpu = time.process_time() - t
        print(json.dumps({"rounds": rounds, "cpu_seconds": cpu, "cpu_seconds_per_round": cpu / rounds,
                          "gap_mean": float(np.mean(gaps)), "gap_std": float(np.std(gaps))}))
        return
    total, estimate = 0.0, 0.0
    for var in "KJL":
        for v in range(2, 16):
            kjl = {"K": 2, "J": 2, "L": 2}
            kjl[var] = v
            t = time.process_time()
            for _ in range(rounds):
                one_round(kjl["K"], kjl["J"], kjl["L"])
            cpu = time.process_time() - t
            total += cpu
            estimate += cpu / rounds * 100
    print(json.dumps({"rounds_per_value": rounds, "cpu_seconds": total, "estimated_full_cpu_seconds": estimate}))


if __name__ == "__main__":
    main()
