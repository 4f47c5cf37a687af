"""Root pytest configuration: applies to tests/ and to the doctests alike."""

import os
import shutil
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

# One XLA compilation cache per test run, shared by the xdist workers and by
# the CLI subprocesses the tests start: many tests compile the same programs
# (the same model on the same shapes) from fresh closures or fresh processes.
# The cache keys on the compiled program, so a hit returns the executable
# that compiling again would; it only saves time. A size limit turns on
# JAX's file lock, so two workers never read an entry while it is written.
_CACHE_ENV = "JAX_COMPILATION_CACHE_DIR"


def pytest_configure(config):
    """Creates the run's compilation cache in the controlling process."""
    if hasattr(config, "workerinput") or os.environ.get(_CACHE_ENV):
        return
    path = tempfile.mkdtemp(prefix="jaxunlearn-xla-cache-")
    config._jaxunlearn_xla_cache = path
    # Inherited by xdist workers and subprocesses, read when they import jax.
    os.environ[_CACHE_ENV] = path
    os.environ["JAX_COMPILATION_CACHE_MAX_SIZE"] = str(4 * 2**30)
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.2"
    # This process imported jax already: it runs the tests without xdist.
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_compilation_cache_max_size", 4 * 2**30)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


def pytest_unconfigure(config):
    """Removes the run's compilation cache."""
    path = getattr(config, "_jaxunlearn_xla_cache", None)
    if path:
        shutil.rmtree(path, ignore_errors=True)
