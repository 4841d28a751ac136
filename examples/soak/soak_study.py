"""A SOAK study: does a model trained on one subset of the data predict another subset?

scikit-learn's diabetes data (442 patients, disease progression after one
year) with `sex` as the subset: for each sex, is a model trained on the
*same* sex better than one trained on the *other* sex, and does training on
*all* patients help? (Same/Other/All K-fold cross-validation, docs/soak.md.)

    python soak_study.py                # 3 learners, 3 folds: 54 jobs on 2 workers
    python soak_study.py --small        # 2 learners (what the tests run)

Writes <dir>.csv (scores), <dir>-pvalue.png and prints the p-values.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sklearn.datasets import load_diabetes
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

import benchgrid as bg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default="soak", help="project directory")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--small", action="store_true", default=os.environ.get("BENCHGRID_EXAMPLE_SMALL") == "1")
    args = parser.parse_args()

    df = load_diabetes(as_frame=True, scaled=False).frame  # sex is coded 1 and 2
    df["sex"] = df["sex"].map({1.0: "sex1", 2.0: "sex2"})
    features = [c for c in df.columns if c not in ("target", "sex")]
    # subset: what SOAK compares; stratum: keep each sex's share in every fold;
    # the target holds whole numbers, so say it is a regression (else: classes)
    tasks = {"diabetes": bg.Task(df, target="target", features=features, subset="sex", stratum="sex",
                                 task_type="regression")}
    learners = {
        "featureless": DummyRegressor(),
        "ridge": make_pipeline(StandardScaler(), RidgeCV()),
    }
    if not args.small:
        learners["tree"] = DecisionTreeRegressor(min_samples_leaf=10)

    if (Path(args.dir) / "project.json").exists():
        proj = bg.Project.open(args.dir)
    else:
        proj = bg.Project.create(args.dir, tasks, learners, bg.SOAK(folds=3, random_state=0),
                                 measures=["rmse", "mae"])
    proj.run(n_workers=args.workers)

    scores = proj.scores()  # columns as mlr3resampling's score(): test.subset, train.subsets, ...
    scores.to_csv(f"{args.dir}.csv", index=False)
    pv = bg.pvalue(scores, "rmse")
    print(pv)  # other-same and all-same differences per learner and test subset, with p-values
    bg.plot_pvalue(pv, path=f"{args.dir}-pvalue.png")
    print(f"wrote {args.dir}.csv and {args.dir}-pvalue.png")


if __name__ == "__main__":
    main()
