"""scikit-learn side of bench/emcompare: fits GaussianMixture (defaults:
k-means init, tol 1e-3, max_iter 100, reg_covar 1e-6, full covariance) to
the points of a CSV file `reps` times and prints the median wall time, mean
iterations, lower bound and mean log-likelihood as JSON."""
import json
import sys
import time
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture

warnings.filterwarnings("ignore")
path, k, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x = np.loadtxt(path, delimiter=",", ndmin=2)
times, iters, lbs, lls = [], [], [], []
for r in range(reps):
    t = time.perf_counter()
    g = GaussianMixture(n_components=k, random_state=r).fit(x)
    times.append((time.perf_counter() - t) * 1000)
    iters.append(g.n_iter_)
    lbs.append(g.lower_bound_)
    lls.append(g.score(x))
try:
    from threadpoolctl import threadpool_info
    threads = max((p.get("num_threads", 1) for p in threadpool_info()), default=1)
except Exception:
    threads = -1
print(json.dumps({
    "median_ms": float(np.median(times)),
    "iterations": float(np.mean(iters)),
    "lower_bound": float(np.mean(lbs)),
    "log_likelihood": float(np.mean(lls)),
    "threads": threads,
}))
