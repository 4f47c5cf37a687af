"""Models as ``nnx.Module`` objects, and per-epoch progress callbacks.

A Flax ``nnx.Module`` is split with ``nnx.split(module, nnx.Param, ...)``:
the ``nnx.Param`` state is trained, the rest (BatchNorm statistics
``nnx.BatchStat``, dropout RNG counts) is carried through the training scan
and updated by the training forward passes, never by the optimizer.

References:
  Flax NNX, "Filters" and "The Flax NNX functional API" guides.
  https://flax.readthedocs.io/en/latest/nnx_basics.html
"""

import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array


class EpochInfo(NamedTuple):
    """What a ``callback`` receives after each epoch (host values).

    Attributes:
      epoch: the epoch just finished, counted from 0.
      epochs: the number of epochs of the run.
      loss: the epoch's mean training loss (the task loss of
        :func:`unlearn`).
      metrics: further per-epoch values of the loop as Python floats
        (empty for :func:`fit_classifier`; for :func:`unlearn` the fields
        of :class:`UnlearnHistory` other than ``task_loss``).
    """

    epoch: int
    epochs: int
    loss: float
    metrics: dict


def check_callback(callback: Any) -> Callable[[EpochInfo], Any] | None:
    """``callback`` if it is None or callable; a TypeError names it else."""
    if callback is None or callable(callback):
        return callback
    raise TypeError(
        "callback: expected a function of an EpochInfo or None, got"
        f" {type(callback).__name__}"
    )


def emit_epoch(
    callback: Callable[[EpochInfo], Any] | None,
    epochs: int,
    epoch: Array,
    loss: Array,
    metrics: dict | None = None,
) -> None:
    """Calls ``callback(EpochInfo(...))`` on the host, in epoch order.

    Nothing is compiled when ``callback`` is None.
    """
    if callback is None:
        return

    def host(e, value, extra):
        info = EpochInfo(
            int(e),
            epochs,
            float(value),
            {k: float(v) for k, v in extra.items()},
        )
        callback(info)

    jax.debug.callback(host, epoch, loss, metrics or {}, ordered=True)


def is_module(obj: Any) -> bool:
    """Whether ``obj`` is a Flax ``nnx.Module`` (no import of flax if not)."""
    nnx = sys.modules.get("flax.nnx")
    return nnx is not None and isinstance(obj, nnx.Module)


class ModuleModel(NamedTuple):
    """An ``nnx.Module`` as a pure, stateful forward pass (hashable).

    ``train_apply(params, rest, x) -> (logits, rest)`` runs the module in
    training mode and returns the updated non-parameter state;
    ``eval_apply(params, rest, x)`` runs it in evaluation mode
    (running averages, no dropout).
    """

    graphdef: Any

    def _run(self, params: Any, rest: Any, x: Array, train: bool) -> tuple:
        from flax import nnx  # noqa: PLC0415

        module = nnx.merge(self.graphdef, params, rest, copy=True)
        module.train() if train else module.eval()
        logits = module(x)
        _, _, rest = nnx.split(module, nnx.Param, ...)
        return logits, rest

    def train_apply(self, params: Any, rest: Any, x: Array) -> tuple:
        """Logits in training mode and the updated non-parameter state."""
        return self._run(params, rest, x, True)

    def eval_apply(self, params: Any, rest: Any, x: Array) -> Array:
        """Logits in evaluation mode."""
        return self._run(params, rest, x, False)[0]

    def reset_norms(self, params: Any, rest: Any) -> tuple[Any, Any]:
        """``(params, rest)`` with the normalization layers as flax builds them.

        Scales of ``nnx`` normalization layers become 1, their biases 0,
        and BatchNorm running statistics mean 0, variance 1; everything
        else is kept (a from-scratch start after re-drawing the kernels).
        """
        from flax import nnx  # noqa: PLC0415

        module = nnx.merge(self.graphdef, params, rest, copy=True)
        norms = (nnx.BatchNorm, nnx.LayerNorm, nnx.GroupNorm, nnx.RMSNorm)
        for _, m in nnx.iter_modules(module):
            if not isinstance(m, norms):
                continue
            fills = (("scale", 1), ("bias", 0), ("mean", 0), ("var", 1))
            for name, fill in fills:
                var = getattr(m, name, None)
                if isinstance(var, nnx.Variable):
                    var[...] = jnp.full_like(var[...], fill)
        _, params, rest = nnx.split(module, nnx.Param, ...)
        return params, rest


def split_module(module: Any) -> tuple[ModuleModel, Any, Any]:
    """``(model, params, rest)`` of an ``nnx.Module`` (not modified)."""
    from flax import nnx  # noqa: PLC0415

    graphdef, params, rest = nnx.split(module, nnx.Param, ...)
    return ModuleModel(graphdef), params, rest


def merge_module(model: ModuleModel, params: Any, rest: Any) -> Any:
    """A new ``nnx.Module`` from its trained state."""
    from flax import nnx  # noqa: PLC0415

    return nnx.merge(model.graphdef, params, rest)


def pure_apply(model: Any, rest: Any) -> Callable[[Any, Array], Array]:
    """``apply_fn(params, x)``: a module model in evaluation mode at ``rest``.

    A plain ``apply_fn`` is returned as it is.
    """
    if isinstance(model, ModuleModel):
        return lambda p, x: model.eval_apply(p, rest, x)
    return model


def with_state(
    model: Any, rest: Any, loss: Callable[[Callable], Any]
) -> tuple[Any, Any]:
    """``(loss(apply_fn), rest)`` with the non-parameter state threaded.

    For a module model, ``apply_fn(params, x)`` runs the module in training
    mode from the state that the previous call left (every forward pass of
    the loss updates the BatchNorm statistics and advances the dropout RNG,
    in call order), and the final state is returned beside the loss. A
    plain ``apply_fn`` is passed as it is and ``rest`` comes back unchanged.
    Call it inside the differentiated function and return the state as an
    auxiliary output.
    """
    if not isinstance(model, ModuleModel):
        return loss(model), rest
    box = [rest]

    def apply_fn(params, x):
        logits, box[0] = model.train_apply(params, box[0], x)
        return logits

    out = loss(apply_fn)
    return out, box[0]


def select_state(keep: Array, new: Any, old: Any) -> Any:
    """``new`` where ``keep`` else ``old``, leaf by leaf (PRNG keys too)."""
    return jax.tree.map(lambda a, b: jax.lax.select(keep, a, b), new, old)


def check_model(name: str, obj: Any) -> None:
    """A TypeError naming ``name`` unless ``obj`` is a module or callable."""
    if not (is_module(obj) or callable(obj)):
        raise TypeError(
            f"{name}: expected a forward pass apply_fn(params, x) or a Flax"
            f" nnx.Module, got {type(obj).__name__}"
        )
