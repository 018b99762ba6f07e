"""One adapter per peer: turn a Case into a zero-argument call that returns the derivative.

`Peer.prepare(case)` returns that call, or None when the peer has no way to compute
this kind of derivative (shown as "—"). It raises NotImplementedError when the peer
could but does not yet (dualjac while it grows; shown as "n/a"). Inputs and constant
parameters are converted to the peer's own array type once, in prepare, so the timed
call measures differentiation, not host-to-device copies. Peers that fail to import
are skipped by `load_peers`.
"""
from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Callable, Optional

import numpy as np

# Quiet the peers' import-time chatter and keep JAX off accelerator probing.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

THREADS = None  # set by limit_threads(); None keeps every library's own default


def limit_threads(n: int):
    """Cap the peers' thread pools; call before load_peers.

    On a small shared machine, a peer whose thread pool synchronises at a barrier (torch's
    OpenMP) waits for a thread that another process has descheduled: its batch times
    jump 50x (5 ms -> 300 ms) whenever the machine is busy. One thread each is stable.
    """
    global THREADS
    THREADS = n
    if n == 1:  # read by XLA when jax is first imported
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                   + " --xla_cpu_multi_thread_eigen=false"
                                   + " intra_op_parallelism_threads=1").strip()


class Peer:
    name = ""
    compiles = False      # has a compile step: its first call is reported separately
    loose = False         # an approximation: checked with a loose tolerance
    version = None

    def load(self):
        """Import the peer (raises ImportError when it is not installed)."""

    def prepare(self, case) -> Optional[Callable[[], object]]:
        raise NotImplementedError

    def to_numpy(self, result) -> np.ndarray:
        return np.asarray(result)


# --------------------------------------------------------------------------- dualjac

class Dualjac(Peer):
    name = "dualjac"

    def load(self):
        import dualjac
        self.dj = dualjac
        self.version = getattr(dualjac, "__version__", "dev")

    def _transform(self, name):
        fn = getattr(self.dj, name, None)
        if fn is None:  # the API grows over time; a missing transform is "n/a", not a crash
            raise NotImplementedError(f"dualjac.{name} does not exist yet")
        return fn

    def prepare(self, case):
        f, x = case.bind(np), case.x
        if case.kind == "nested":
            jac = self._transform("jacobian")
            inner = lambda z: jac(f, z)  # written once, as a user would
            return lambda: jac(inner, x)
        transform = self._transform(case.kind)  # kinds are named like the API
        return lambda: transform(f, x)


# --------------------------------------------------------------------------- JAX

class Jax(Peer):
    """JAX without jit: every primitive dispatched eagerly."""
    name = "jax"
    jit = False

    def load(self):
        import jax
        jax.config.update("jax_enable_x64", True)  # float64 cases really run in float64
        self.jax = jax
        self.version = jax.__version__

    def prepare(self, case):
        jax, jnp = self.jax, self.jax.numpy
        f = case.bind(jnp, {k: jnp.asarray(v) for k, v in case.params.items()})
        d = {
            "jacobian": lambda: jax.jacfwd(f),
            "batch_jacobian": lambda: jax.vmap(jax.jacfwd(f)),   # f sees one row
            "hessian": lambda: jax.hessian(f),
            "batch_hessian": lambda: jax.vmap(jax.hessian(f)),
            "nested": lambda: jax.jacfwd(jax.jacfwd(f)),
        }[case.kind]()
        if self.jit:
            d = jax.jit(d)
        x = jnp.asarray(case.x)
        return lambda: d(x).block_until_ready()  # JAX is asynchronous: wait for the value


class JaxJit(Jax):
    name = "jax_jit"
    jit = True
    compiles = True


# --------------------------------------------------------------------------- TensorFlow

def tf_namespace(tf):
    def matmul(a, b):  # tf.matmul wants rank >= 2 on both sides; numpy's does not
        return tf.linalg.matvec(a, b) if len(b.shape) == 1 else tf.matmul(a, b)

    return SimpleNamespace(
        sin=tf.sin, cos=tf.cos, exp=tf.exp, log=tf.math.log, tanh=tf.tanh, matmul=matmul,
        stack=lambda xs, axis=0: tf.stack(xs, axis=axis),
        concatenate=lambda xs, axis=0: tf.concat(xs, axis=axis),
        sum=lambda a, axis=None: tf.reduce_sum(a, axis=axis),
    )


class TfEager(Peer):
    """tf.GradientTape in eager mode (TF re-traces its pfor loop on every call)."""
    name = "tf_eager"
    use_function = False

    def load(self):
        import tensorflow as tf
        if THREADS:
            tf.config.threading.set_intra_op_parallelism_threads(THREADS)
            tf.config.threading.set_inter_op_parallelism_threads(THREADS)
        self.tf = tf
        self.version = tf.__version__

    def _derivative(self, case, f):
        tf, kind = self.tf, case.kind

        def first_order(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = f(x)
            return tape.batch_jacobian(y, x) if kind == "batch_jacobian" else tape.jacobian(y, x)

        def second_order(x):
            with tf.GradientTape() as outer:
                outer.watch(x)
                with tf.GradientTape() as inner:
                    inner.watch(x)
                    y = f(x)
                # For a scalar (or per-row scalar, rows independent) f the gradient of
                # the sum is the (per-row) gradient, and costs one reverse pass.
                g = inner.jacobian(y, x) if kind == "nested" else inner.gradient(y, x)
            return outer.batch_jacobian(g, x) if kind == "batch_hessian" else outer.jacobian(g, x)

        return first_order if kind in ("jacobian", "batch_jacobian") else second_order

    def prepare(self, case):
        tf = self.tf
        f = case.bind(tf_namespace(tf), {k: tf.constant(v) for k, v in case.params.items()})
        d = self._derivative(case, f)
        if self.use_function:
            d = tf.function(d)  # fixed input shape and dtype: traced once, on the first call
        x = tf.constant(case.x)
        return lambda: d(x)

    def to_numpy(self, result):
        return result.numpy()


class TfFunction(TfEager):
    name = "tf_function"
    use_function = True
    compiles = True


# --------------------------------------------------------------------------- PyTorch

def torch_namespace(torch):
    return SimpleNamespace(
        sin=torch.sin, cos=torch.cos, exp=torch.exp, log=torch.log, tanh=torch.tanh,
        matmul=torch.matmul,
        stack=lambda xs, axis=0: torch.stack(xs, dim=axis),
        concatenate=lambda xs, axis=0: torch.cat(xs, dim=axis),
        sum=lambda a, axis=None: a.sum() if axis is None else a.sum(dim=axis),
    )


class Torch(Peer):
    """torch.func: forward-mode jacfwd, vmap for batches, torch.func.hessian."""
    name = "torch"

    def load(self):
        import torch
        import torch.func
        if THREADS:
            torch.set_num_threads(THREADS)
        self.torch = torch
        self.version = f"{torch.__version__} (threads={torch.get_num_threads()})"

    def prepare(self, case):
        torch, tf_ = self.torch, self.torch.func
        f = case.bind(torch_namespace(torch),
                      {k: torch.from_numpy(v.copy()) for k, v in case.params.items()})
        d = {
            "jacobian": lambda: tf_.jacfwd(f),
            "batch_jacobian": lambda: tf_.vmap(tf_.jacfwd(f)),
            "hessian": lambda: tf_.hessian(f),
            "batch_hessian": lambda: tf_.vmap(tf_.hessian(f)),
            "nested": lambda: tf_.jacfwd(tf_.jacfwd(f)),
        }[case.kind]()
        x = torch.from_numpy(case.x.copy())
        return lambda: d(x)

    def to_numpy(self, result):
        return result.detach().numpy()


# --------------------------------------------------------------------------- hyperjet

class Hyperjet(Peer):
    """hyperjet's dual / hyper-dual scalars in NumPy object arrays (float64 only).

    Only small unbatched problems: a scalar object per element makes batches of 1e4+
    rows pointless. Fixed-size types (D1..D16Scalar) are used when they fit, since
    they avoid a heap allocation per operation.
    """
    name = "hyperjet"
    max_size = 100

    def load(self):
        import importlib.metadata
        import hyperjet
        self.hj = hyperjet
        self.version = importlib.metadata.version("hyperjet")

    def _scalar_type(self, n, second):
        prefix = "DD" if second else "D"
        return getattr(self.hj, f"{prefix}{n}Scalar", None) or getattr(self.hj, f"{prefix}Scalar")

    def prepare(self, case):
        if case.kind.startswith("batch") or case.x.size > self.max_size:
            return None
        hj, x = self.hj, case.x
        f = case.bind(np)
        second = case.kind != "jacobian"
        scalar = self._scalar_type(x.size, second)
        values = x.astype(np.float64).ravel().tolist()

        # The TF layout is f.shape + x.shape [+ x.shape]; f's output shape is known
        # from one plain evaluation, outside the timed call.
        out_shape = np.shape(f(x.astype(np.float64))) + x.shape * (2 if second else 1)

        def call():
            v = np.array(scalar.variables(values), dtype=object).reshape(x.shape)
            y = f(v)
            if case.kind == "hessian":
                return y.hm()  # f is scalar: one hyper-dual number
            y = np.asarray(y, dtype=object).ravel()
            return (hj.d(y) if case.kind == "jacobian" else hj.dd(y)).reshape(out_shape)

        return call


# --------------------------------------------------------------------------- finite differences

class FiniteDiff(Peer):
    """Central differences in NumPy, one pair of f calls per input element.

    Computed in float64 whatever the input dtype (a float32 step would lose half the
    digits) and returned in the input dtype. Jacobians only: this is the baseline a
    user writes by hand.
    """
    name = "fd"
    loose = True
    version = "numpy " + np.__version__

    def prepare(self, case):
        if case.kind != "jacobian":
            return None
        f, x = case.bind(np), case.x
        x64 = x.astype(np.float64).ravel()
        steps = np.cbrt(np.finfo(np.float64).eps) * np.maximum(1.0, np.abs(x64))

        def call():
            cols = []
            for k in range(x64.size):
                xp, xm = x64.copy(), x64.copy()
                xp[k] += steps[k]
                xm[k] -= steps[k]
                cols.append((f(xp.reshape(x.shape)) - f(xm.reshape(x.shape))) / (2 * steps[k]))
            J = np.stack(cols, axis=-1)
            return J.reshape(J.shape[:-1] + x.shape).astype(x.dtype, copy=False)

        return call


# --------------------------------------------------------------------------- registry

ALL_PEERS = (Dualjac, JaxJit, Jax, TfFunction, TfEager, Torch, Hyperjet, FiniteDiff)
PEER_NAMES = tuple(p.name for p in ALL_PEERS)


def load_peers(names=PEER_NAMES, log=print) -> list[Peer]:
    """Instantiate and import the requested peers, in table order; skip the absent ones."""
    peers = []
    for cls in ALL_PEERS:
        if cls.name not in names:
            continue
        peer = cls()
        try:
            peer.load()
        except Exception as exc:  # ImportError, or a broken install: skip, say why
            log(f"skipped peer {cls.name}: {type(exc).__name__}: {exc}")
            continue
        peers.append(peer)
    return peers
