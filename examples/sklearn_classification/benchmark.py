"""A classification benchmark on three datasets scikit-learn ships (no download).

Four learners (a featureless baseline, logistic regression and k-nearest
neighbours in scaling pipelines, a random forest) on breast cancer (binary),
wine and iris (3 classes), stratified 5-fold cross-validation, accuracy and
AUC; then which learner is better across the tasks (ranks, Friedman,
Nemenyi, Wilcoxon-Holm).

    python benchmark.py                 # 3 tasks x 4 learners x 5 folds = 60 jobs, 2 workers
    python benchmark.py --small         # 3 folds, fewer trees (what the tests run)

The same from the command line, with this file as the grid file (its
grid() function gives tasks, learners, cv and measures):

    benchgrid init classification --grid benchmark.py
    benchgrid run classification --workers 2
    benchgrid compare classification --measure accuracy -o cd.png --latex table.tex

Edit grid() for your own benchmark. Learners may be classes defined in this
file: run as a script, they are stored with the project by value; as a grid
file, this file's folder is recorded in the project's code path, so the
workers import it from there.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import benchgrid as bg


def grid(small: bool = os.environ.get("BENCHGRID_EXAMPLE_SMALL") == "1") -> dict:
    """Tasks, learners, cv and measures; also a grid file: `benchgrid init DIR --grid benchmark.py`."""
    tasks = {
        name: bg.Task(loader(as_frame=True).frame, target="target")  # features: every other column
        for name, loader in (("breast_cancer", load_breast_cancer), ("wine", load_wine), ("iris", load_iris))
    }
    learners = {
        "featureless": DummyClassifier(strategy="prior"),
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        "knn": make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=7)),
        "forest": RandomForestClassifier(n_estimators=20 if small else 200),  # random_state: the job's seed
    }
    cv = StratifiedKFold(n_splits=3 if small else 5, shuffle=True, random_state=0)
    return {"tasks": tasks, "learners": learners, "cv": cv, "measures": ["accuracy", "auc"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default="classification", help="project directory")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--small", action="store_true", default=os.environ.get("BENCHGRID_EXAMPLE_SMALL") == "1")
    args = parser.parse_args()

    if (Path(args.dir) / "project.json").exists():
        proj = bg.Project.open(args.dir)  # run what is left of an earlier start
    else:
        g = grid(args.small)
        proj = bg.Project.create(args.dir, g.pop("tasks"), g.pop("learners"), g.pop("cv"), **g)
    proj.run(n_workers=args.workers)

    scores = proj.scores()  # one row per (task, learner, fold)
    table = scores.groupby(["task_id", "learner_id"])[["accuracy", "auc"]].agg(["mean", "std"]).round(3)
    print(table.to_string())
    comparison = proj.compare("accuracy")  # which learner is better across the tasks (docs/ml.md)
    print(comparison)
    cd_path = Path(f"{args.dir}-cd.png")
    bg.plot_cd(comparison, path=cd_path)
    print(f"critical-difference diagram: {cd_path}")
    report = bg.write_report(proj, path=Path(args.dir).with_suffix(".html"))
    print(f"report: {report}")


if __name__ == "__main__":
    main()
