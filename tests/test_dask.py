"""Batch transforms of Dask arrays (dualjac/_dask.py): a lazy result, chunked as the source's
batch axis, with the same bits as the in-memory transform, on Dask's threads and on a
distributed LocalCluster of worker processes. Witness: the in-memory transform (itself
checked against complex step and TF's data elsewhere) and an analytic Jacobian."""

import subprocess
import sys

import numpy as np
import pytest

import dualjac as dj

da = pytest.importorskip("dask.array")   # in the [test] extra: never skipped in CI


def force(x):
    """A per-row force field written with a per-row reduction."""
    r2 = np.sum(x ** 2, axis=-1, keepdims=True)
    return x * np.exp(-r2)


def force_jacobian(x):
    """d force_i / d x_j = exp(-r2) (delta_ij - 2 x_i x_j), per row."""
    e = np.exp(-np.sum(x ** 2, axis=-1))[:, None, None]
    return e * (np.eye(3) - 2 * x[:, :, None] * x[:, None, :])


def energy(x):
    return np.sum(np.sin(x) * x[:, ::-1], axis=-1)


def source(rows=6_000, chunks=(1_500, 2)):
    values = np.random.default_rng(20).uniform(-1, 1, (rows, 3))
    return values, da.from_array(values, chunks=chunks)


def test_result_is_lazy_and_chunked_as_the_batch():
    calls = []

    def f(x):
        calls.append(x.shape[0])
        return force(x)
    values, x = source()
    J = dj.batch_jacobian(f, x)
    assert isinstance(J, da.Array) and J.shape == (6_000, 3, 3)
    assert J.chunks == ((1_500,) * 4, (3,), (3,))
    assert all(n == 0 for n in calls)          # only a zero-row probe for the result's shape
    np.testing.assert_allclose(J.compute(scheduler="threads"), force_jacobian(values),
                               rtol=1e-14, atol=1e-15)
    assert sorted(n for n in calls if n) == [1_500] * 4


@pytest.mark.parametrize("transform,f", [(dj.batch_jacobian, force), (dj.batch_hessian, energy)],
                         ids=["batch_jacobian", "batch_hessian"])
def test_same_bits_as_in_memory(transform, f):
    values, x = source()
    expected = transform(f, values)
    np.testing.assert_array_equal(transform(f, x).compute(scheduler="threads"), expected)


def test_f_that_refuses_zero_rows_is_probed_with_one():
    def f(x):
        if x.shape[0] == 0:
            raise ValueError("no rows")
        return force(x)
    values, x = source(rows=100, chunks=(50, 3))
    np.testing.assert_allclose(dj.batch_jacobian(f, x).compute(scheduler="sync"),
                               force_jacobian(values), rtol=1e-14, atol=1e-15)


def test_rank_one_source_is_refused():
    with pytest.raises(ValueError, match="rank at least 2"):
        dj.batch_jacobian(force, da.ones(10, chunks=5))


CLUSTER_SCRIPT = """
import numpy as np, dask.array as da, dualjac as dj
from dask.distributed import Client, LocalCluster

def force(x):
    return x * np.exp(-np.sum(x ** 2, axis=-1, keepdims=True))

if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        values = np.random.default_rng(20).uniform(-1, 1, (8_000, 3))
        x = da.from_array(values, chunks=(2_000, 3))
        J = dj.batch_jacobian(force, x)
        dets = J.map_blocks(np.linalg.det, drop_axis=[1, 2], dtype=J.dtype)
        mean_det = dets.mean().compute()                   # reduced block by block
        same = bool((J.compute() == dj.batch_jacobian(force, values)).all())
        workers = len(client.scheduler_info()["workers"])
        print(same, workers, repr(float(mean_det)))
"""


def test_distributed_local_cluster_of_processes(tmp_path):
    """Started and stopped by the test: two worker processes, f shipped by pickling."""
    script = tmp_path / "cluster.py"
    script.write_text(CLUSTER_SCRIPT)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    same, workers, mean_det = result.stdout.split()
    values = np.random.default_rng(20).uniform(-1, 1, (8_000, 3))
    assert same == "True" and workers == "2"
    np.testing.assert_allclose(float(mean_det), np.linalg.det(force_jacobian(values)).mean(),
                               rtol=1e-12)


def test_import_dualjac_does_not_import_dask():
    code = "import sys, dualjac; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_guides_example_at_a_small_size(tmp_path):
    """docs/dask.md's code as written, with 10**4 rows in chunks of 10**3 instead of 10**8 / 10**6."""
    import pathlib
    import re
    text = (pathlib.Path(__file__).parent.parent / "docs" / "dask.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    code = code.replace("(10**8, 3), chunks=(10**6, 3)", "(10**4, 3), chunks=(10**3, 3)")
    code = code.replace("with LocalCluster(", "if __name__ == '__main__':\n  with LocalCluster(")
    code = code.replace("\n    ", "\n      ")
    script = tmp_path / "example.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    import dask.array
    x = dask.array.random.default_rng(0).uniform(-1, 1, (10**4, 3), chunks=(10**3, 3)).compute()
    np.testing.assert_allclose(float(result.stdout), np.linalg.det(force_jacobian(x)).mean(),
                               rtol=1e-12)
