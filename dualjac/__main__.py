"""`python -m dualjac`: two small examples and a short speed table.

The full benchmark, with every peer side by side, is benchmarks/run.py.
"""

import timeit

import numpy as np

import dualjac as dj


def example_1():
    x = np.array([[4, 2], [1, 3]], dtype=np.float32)
    J = dj.jacobian(lambda x: x * x * x, x)
    print("Example 1: J = dj.jacobian(lambda x: x * x * x, x), x = [[4, 2], [1, 3]] float32")
    print(f"  J.shape = {J.shape}, J.dtype = {J.dtype}")
    print(f"  diagonal J[i, j, i, j] = {J.reshape(4, 4).diagonal()}   (3 x^2)")
    print(J)


def example_2():
    x = np.array([[4, 2], [1, 3]], dtype=np.float32)
    f = lambda x: x * x * x  # noqa: E731
    second = dj.jacobian(lambda z: dj.jacobian(f, z), x)
    second_b = dj.batch_jacobian(lambda z: dj.jacobian(f, z), x)
    print("\nExample 2: second derivatives of x * x * x by nested transforms")
    print(f"  jacobian of jacobian:       shape {second.shape}, "
          f"second[i,j,i,j,i,j] = {second.reshape(4, 4, 4)[range(4), range(4), range(4)]}")
    diag = [second_b[i, j, i, j, j] for i in range(2) for j in range(2)]
    print(f"  batch_jacobian of jacobian: shape {second_b.shape}, "
          f"second_b[i,j,i,j,j] = {np.array(diag)}   (6 x)")


# ---------------------------------------------------------------- speed

def _sph(x):
    r, theta, phi = x[0], x[1], x[2]
    return np.stack([r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi),
                     r * np.cos(theta)])


def _broyden(x):
    left = np.concatenate([np.zeros(1, like=x), x[:-1]])
    right = np.concatenate([x[1:], np.zeros(1, like=x)])
    return (3 - 2 * x) * x - left - 2 * right + 1


_rng = np.random.default_rng(0)
_W1, _b1 = _rng.standard_normal((64, 32)) / 6, _rng.standard_normal(64) / 6
_W2, _b2 = _rng.standard_normal((16, 64)) / 8, _rng.standard_normal(16) / 8


def _mlp(x):
    return np.tanh(_W2 @ np.tanh(_W1 @ x + _b1) + _b2)


CASES = [
    ("seed_cube_2x2", lambda x: x * x * x, np.array([[4, 2], [1, 3]], np.float32)),
    ("sph_3", _sph, np.array([1.3, 0.7, 0.4])),
    ("broyden_100", _broyden, np.linspace(-1, 1, 100)),
    ("mlp_32_64_16", _mlp, np.linspace(-1, 1, 32)),
]


def finite_differences(f, x, h=1e-6):
    """Central differences, the zero-dependency alternative (and less accurate)."""
    flat = x.astype(np.float64).ravel()
    columns = []
    for i in range(flat.size):
        e = np.zeros_like(flat)
        e[i] = h
        columns.append((f((flat + e).reshape(x.shape)) - f((flat - e).reshape(x.shape))) / (2 * h))
    return np.stack(columns, -1).reshape(np.shape(f(x)) + x.shape)


def per_call_us(g):
    timer = timeit.Timer(g)
    number, _ = timer.autorange()
    return min(timer.repeat(5, number)) / number * 1e6


def speed_table():
    print("\nSpeed, microseconds per Jacobian (best of 5; benchmarks/run.py has every peer):")
    print(f"  {'case':<16}{'dualjac':>10}{'finite diff':>13}{'ratio':>8}")
    for name, f, x in CASES:
        J = dj.jacobian(f, x)
        assert np.allclose(J, finite_differences(f, x), rtol=1e-4, atol=1e-4), name
        t_dj = per_call_us(lambda: dj.jacobian(f, x))
        t_fd = per_call_us(lambda: finite_differences(f, x))
        print(f"  {name:<16}{t_dj:>10.1f}{t_fd:>13.1f}{t_fd / t_dj:>7.1f}x")


if __name__ == "__main__":
    example_1()
    example_2()
    speed_table()
