"""A large sparse least-squares problem: synthetic bundle adjustment, SciPy's 2-point
Jacobian on a hand-written pattern against dualjac's Jacobian on the pattern it finds.

The problem (deterministic, one seeded RNG): n_cameras cameras of 6 parameters (a rotation
vector and a translation) and n_points 3-D points; each point is seen by a few cameras and
each observation gives 2 residuals (projected minus observed image coordinates) that depend
on one camera and one point. The residual is NumPy code vectorized over the observations:
`cameras[camera_index]`, `points[point_index]` (fancy indexing), Rodrigues' rotation and a
pinhole projection. The start is the truth perturbed; the observations carry noise, so the
final cost is not zero.

Both runs call `scipy.optimize.least_squares(method="trf", tr_solver="lsmr", x_scale="jac")`:

- (a) `jac="2-point", jac_sparsity=P` with P built by hand from the observation indices;
- (b) `jac=dj.least_squares_jacobian(residuals, x0, args)` (the pattern found by tracing
  residuals once; its preparation is part of (b)'s time).

Printed: end-to-end wall time, nfev / njev, the final cost, the time spent in Jacobians,
the ratio (a) / (b), and whether both reach the same cost (rtol 1e-6). Before solving, the
pattern dualjac finds is compared with P and dualjac's Jacobian at x0 with the 2-point one.

    PYTHONPATH=. nice python benchmarks/least_squares.py             # the large problem
    PYTHONPATH=. nice python benchmarks/least_squares.py --quick     # a small one, a few s
    PYTHONPATH=. nice python benchmarks/least_squares.py --cameras 50 --points 20000 --json ls.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import scipy
import scipy.sparse as sp
from scipy.optimize import least_squares
from scipy.optimize._numdiff import approx_derivative, group_columns

import dualjac as dj

CAMERA_PARAMETERS = 6     # rotation vector (3), translation (3)
POINT_PARAMETERS = 3


# --------------------------------------------------------------------------- the model

def rotate(points, rotation_vectors):
    """Rodrigues' formula, row by row: rotate points[i] by rotation_vectors[i]. The rotation
    vectors are never zero here (the synthetic cameras are all rotated), so the axis
    k = r / |r| needs no special case."""
    theta = np.sqrt(np.sum(rotation_vectors ** 2, axis=1, keepdims=True))
    k = rotation_vectors / theta
    kx, ky, kz = k[:, 0:1], k[:, 1:2], k[:, 2:3]
    px, py, pz = points[:, 0:1], points[:, 1:2], points[:, 2:3]
    k_cross_p = np.concatenate([ky * pz - kz * py, kz * px - kx * pz, kx * py - ky * px], axis=1)
    k_dot_p = kx * px + ky * py + kz * pz
    cos, sin = np.cos(theta), np.sin(theta)
    return cos * points + sin * k_cross_p + (k_dot_p * (1 - cos)) * k


def residuals(params, n_cameras, camera_index, point_index, observed):
    """Projected minus observed image coordinates, 2 per observation, as one vector."""
    cameras = params[:n_cameras * CAMERA_PARAMETERS].reshape(n_cameras, CAMERA_PARAMETERS)
    points = params[n_cameras * CAMERA_PARAMETERS:].reshape(-1, POINT_PARAMETERS)
    seen_by = cameras[camera_index]
    in_camera = rotate(points[point_index], seen_by[:, :3]) + seen_by[:, 3:]
    projected = in_camera[:, :2] / in_camera[:, 2:3]
    return (projected - observed).reshape(-1)


def hand_pattern(n_cameras, n_points, camera_index, point_index):
    """Row 2i (observation i's first image coordinate) depends on its camera's rotation,
    translations 0 and 2, and its point's 3 columns; row 2i + 1 on translations 1 and 2
    instead of 0 and 2 (x / z does not involve the y translation)."""
    n_observations = camera_index.size
    first_row = np.array([0, 1, 2, 3, 5])
    second_row = np.array([0, 1, 2, 4, 5])
    camera_columns = camera_index[:, None, None] * CAMERA_PARAMETERS + np.stack(
        [first_row, second_row])[None]                                   # (observations, 2, 5)
    point_columns = (n_cameras * CAMERA_PARAMETERS + point_index[:, None, None] * POINT_PARAMETERS
                     + np.arange(POINT_PARAMETERS)[None, None])          # (observations, 1, 3)
    point_columns = np.broadcast_to(point_columns, (n_observations, 2, POINT_PARAMETERS))
    columns = np.concatenate([camera_columns, point_columns], axis=2).reshape(-1, 8)
    rows = np.repeat(np.arange(2 * n_observations), columns.shape[1])
    shape = (2 * n_observations, n_cameras * CAMERA_PARAMETERS + n_points * POINT_PARAMETERS)
    return sp.csr_array((np.ones(rows.size, dtype=bool), (rows, columns.ravel())), shape=shape)


class Problem:
    """Cameras looking at a cloud of points from nearby positions; every point seen by
    `views` distinct cameras; observations with Gaussian noise; a perturbed start."""

    def __init__(self, n_cameras, n_points, views=4, noise=1e-3, seed=0):
        rng = np.random.default_rng(seed)
        rotations = rng.normal(0.0, 0.1, (n_cameras, 3))
        translations = rng.normal(0.0, 0.3, (n_cameras, 3))
        points = np.column_stack([rng.uniform(-1, 1, n_points), rng.uniform(-1, 1, n_points),
                                  rng.uniform(4, 6, n_points)])
        truth = np.concatenate([np.column_stack([rotations, translations]).ravel(),
                                points.ravel()])
        # Each point: `views` distinct cameras (argsort of random keys draws them without
        # replacement for all points at once).
        cameras_of_point = np.argsort(rng.random((n_points, n_cameras)), axis=1)[:, :views]
        self.n_cameras, self.n_points = n_cameras, n_points
        self.camera_index = cameras_of_point.ravel()
        self.point_index = np.repeat(np.arange(n_points), views)
        exact = residuals(truth, n_cameras, self.camera_index, self.point_index, 0.0)
        self.observed = exact.reshape(-1, 2) + rng.normal(0.0, noise, (exact.size // 2, 2))
        self.x0 = truth + np.concatenate([rng.normal(0.0, 0.01, n_cameras * CAMERA_PARAMETERS),
                                          rng.normal(0.0, 0.05, n_points * POINT_PARAMETERS)])
        self.args = (n_cameras, self.camera_index, self.point_index, self.observed)

    def pattern(self):
        return hand_pattern(self.n_cameras, self.n_points, self.camera_index, self.point_index)

    def describe(self):
        rows = 2 * self.camera_index.size
        return (f"{self.n_cameras} cameras, {self.n_points:,} points, "
                f"{self.camera_index.size:,} observations: {rows:,} residuals x "
                f"{self.x0.size:,} parameters")


# --------------------------------------------------------------------------- solving

class TimedJacobian:
    """Counts and times the Jacobian calls the solver makes."""

    def __init__(self, jac):
        self.jac, self.seconds, self.calls = jac, 0.0, 0

    def __call__(self, x, *args):
        started = time.perf_counter()
        J = self.jac(x, *args)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        return J


def solve(problem, jac_choice, **solver_options):
    """One least_squares run: "2-point" (hand pattern) or "dualjac"; returns its record."""
    started = time.perf_counter()
    extra, timed, prepare_s = {}, None, 0.0
    if jac_choice == "2-point":
        jac = "2-point"
        extra["jac_sparsity"] = problem.pattern()
    else:
        jac = dj.least_squares_jacobian(residuals, problem.x0, problem.args)
        prepare_s = time.perf_counter() - started
        jac = timed = TimedJacobian(jac)
    fit = least_squares(residuals, problem.x0, jac=jac, args=problem.args, method="trf",
                        tr_solver="lsmr", x_scale="jac", **extra, **solver_options)
    wall_s = time.perf_counter() - started
    return dict(jac=jac_choice, wall_s=wall_s, prepare_s=prepare_s, nfev=int(fit.nfev),
                njev=int(fit.njev), cost=float(fit.cost), status=int(fit.status),
                jacobian_s=None if timed is None else timed.seconds,
                optimality=float(fit.optimality))


def check_jacobians(problem, jac):
    """dualjac's pattern against the hand pattern, its Jacobian against 2-point's at x0."""
    pattern = problem.pattern()
    extra = jac.sparsity.astype(np.int8) - pattern.astype(np.int8)
    exact = jac(problem.x0, *problem.args)
    two_point = approx_derivative(residuals, problem.x0, method="2-point", args=problem.args,
                                  sparsity=pattern)
    return dict(pattern_equal=bool(extra.nnz == 0), extra_entries=int((extra > 0).sum()),
                missing_entries=int((extra < 0).sum()), colors=int(jac.ncolors),
                sparse=bool(jac.sparse),
                max_abs_diff=float(np.max(np.abs((sp.csr_array(two_point) - exact).data))),
                max_abs_jacobian=float(np.max(np.abs(exact.data))))


def time_jacobians(problem, jac, repeats=3):
    """Best per-call seconds at x0 of one residual, the 2-point Jacobian and dualjac's."""
    pattern = problem.pattern()
    groups = group_columns(pattern)
    calls = {
        "residuals": lambda: residuals(problem.x0, *problem.args),
        "2-point": lambda: approx_derivative(residuals, problem.x0, method="2-point",
                                             args=problem.args, sparsity=(pattern, groups)),
        "dualjac": lambda: jac(problem.x0, *problem.args),
    }
    best = {}
    for name, call in calls.items():
        call()
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        best[name] = min(times)
    best["groups"] = int(groups.max() + 1)
    return best


# --------------------------------------------------------------------------- report

def jacobian_seconds(run, per_call):
    """Seconds the run spent in Jacobians: measured for dualjac; for 2-point, njev times
    its per-call time at x0 (the solver computes it inside least_squares)."""
    if run["jacobian_s"] is not None:
        return run["jacobian_s"], ""
    return run["njev"] * per_call["2-point"], " (est.)"


def print_report(problem, check, per_call, runs):
    print(f"\n{problem.describe()}")
    print(f"dualjac pattern equal to the hand pattern: {check['pattern_equal']} "
          f"(extra {check['extra_entries']}, missing {check['missing_entries']}); "
          f"{check['colors']} colors (2-point: {per_call['groups']} groups); "
          f"max |J_dualjac - J_2point| at x0 = {check['max_abs_diff']:.1e} "
          f"(max |J| {check['max_abs_jacobian']:.1e})")
    print(f"per call at x0: residuals {1e3 * per_call['residuals']:.1f} ms, 2-point Jacobian "
          f"{1e3 * per_call['2-point']:.1f} ms, dualjac Jacobian {1e3 * per_call['dualjac']:.1f} "
          f"ms (ratio {per_call['2-point'] / per_call['dualjac']:.1f}); dualjac preparation "
          f"{per_call['dualjac prepare']:.2f} s\n")
    print("| jac | wall s | nfev | njev | prepare s | Jacobians s | rest of the solver s "
          "| final cost | status |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        jac_s, note = jacobian_seconds(run, per_call)
        rest = run["wall_s"] - run["prepare_s"] - jac_s
        print(f"| {run['jac']} | {run['wall_s']:.2f} | {run['nfev']} | {run['njev']} | "
              f"{run['prepare_s']:.2f} | {jac_s:.2f}{note} | {rest:.2f} | {run['cost']:.10g} | "
              f"{run['status']} |")
    a, b = runs
    same = np.isclose(a["cost"], b["cost"], rtol=1e-6, atol=0)
    print(f"\nratio wall (a) 2-point / (b) dualjac: {a['wall_s'] / b['wall_s']:.2f} "
          f"(without dualjac's preparation: {a['wall_s'] / (b['wall_s'] - b['prepare_s']):.2f}); "
          f"same final cost (rtol 1e-6): {bool(same)} "
          f"(relative difference {abs(a['cost'] - b['cost']) / b['cost']:.1e})")
    return bool(same)


def versions():
    return dict(machine=platform.machine(), cores=os.cpu_count(),
                python=platform.python_version(), numpy=np.__version__, scipy=scipy.__version__)


def measure(problem):
    """The checks and per-call times at x0 (one prepared dualjac Jacobian), then both solves
    (each preparing its own Jacobian, as a user's script would)."""
    started = time.perf_counter()
    jac = dj.least_squares_jacobian(residuals, problem.x0, problem.args)
    prepare_s = time.perf_counter() - started
    check = check_jacobians(problem, jac)
    per_call = time_jacobians(problem, jac)
    per_call["dualjac prepare"] = prepare_s
    del jac
    runs = []
    for choice in ("2-point", "dualjac"):
        runs.append(solve(problem, choice))
        print(f"solved with {choice}: {runs[-1]['wall_s']:.1f} s", file=sys.stderr)
    return check, per_call, runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small problem (a few seconds)")
    parser.add_argument("--cameras", type=int, default=None)
    parser.add_argument("--points", type=int, default=None)
    parser.add_argument("--views", type=int, default=4, help="cameras that see each point")
    parser.add_argument("--json", default=None, help="write the measurements to this file")
    options = parser.parse_args(argv)
    n_cameras = options.cameras or (10 if options.quick else 40)
    n_points = options.points or (1_000 if options.quick else 20_000)
    problem = Problem(n_cameras, n_points, views=options.views)
    print(problem.describe(), file=sys.stderr)
    check, per_call, runs = measure(problem)
    print("\n" + ", ".join(f"{k} {v}" for k, v in versions().items()))
    same = print_report(problem, check, per_call, runs)
    if options.json:
        with open(options.json, "w") as out:
            json.dump(dict(versions=versions(), problem=problem.describe(), check=check,
                           per_call_s=per_call, runs=runs, same_cost=same), out, indent=1)


if __name__ == "__main__":
    main()
