"""scikit-learn reference for bench/forest: fits the same forest on the same file.

Usage: python forest_sklearn.py DATA.csv N_JOBS N_ESTIMATORS N_SEEDS
The CSV has columns split (train/test), label, then the features. Times the fit and
predict_proba of random_state 0 (predict_proba: the median of five calls after a first
one, as bench/forest times ours); balanced accuracy is the mean over random_state
0..N_SEEDS-1 (one forest's accuracy on small classes moves by ~0.02 with the seed).
Prints one JSON line.
"""
import json
import resource
import sys
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import balanced_accuracy_score

path, n_jobs, n_estimators, n_seeds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
raw = np.genfromtxt(path, delimiter=",", dtype=str, skip_header=1)
split, label, x = raw[:, 0], raw[:, 1], raw[:, 2:].astype(np.float64)
train, test = split == "train", split == "test"
scores = []
for seed in range(n_seeds):
    clf = RandomForestClassifier(
        n_estimators=n_estimators, min_samples_split=4, min_samples_leaf=2, max_features="sqrt",
        class_weight="balanced_subsample", n_jobs=n_jobs, random_state=seed,
    )
    t0 = time.perf_counter()
    clf.fit(x[train], label[train])
    fit_s = time.perf_counter() - t0 if seed == 0 else fit_s
    proba = clf.predict_proba(x[test])
    if seed == 0:
        # as bench/forest times ours: the median of five calls after a first one
        calls = []
        for _ in range(5):
            t0 = time.perf_counter()
            clf.predict_proba(x[test])
            calls.append(time.perf_counter() - t0)
        predict_s = sorted(calls)[2]
    scores.append(balanced_accuracy_score(label[test], clf.classes_[proba.argmax(axis=1)]))
print(json.dumps({
    "fit_s": fit_s, "predict_s": predict_s,
    "balanced_accuracy": float(np.mean(scores)), "balanced_accuracy_per_seed": scores,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "sklearn": __import__("sklearn").__version__,
}))
