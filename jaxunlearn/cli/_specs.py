"""Flag values to library values: the CLI's syntax lives here.

The library raises ``ValueError("name: ...")`` naming its own argument
(``spec``, ``forget``, ``ts``, ...); :func:`flag_message` rewrites that
name into the flag a user typed (``--data``, ``--forget``, ``--t``, ...).
"""

import math

import numpy as np

from jaxunlearn.cli._parser import UsageError

# Library argument -> the flag that sets it.
_FLAGS = {
    "spec": "--data",
    "forget": "--forget",
    "ts": "--t",
    "method": "--method",
    "attribute": "--attribute",
    "target": "--target",
    "auditors": "--auditors",
    "max_rows": "--max-rows",
    "baselines": "--baselines",
    "gamma": "--gamma",
    "seeds": "--seeds",
    "resume": "--resume",
    "original_epochs": "--original-epochs",
    "unlearn_epochs": "--epochs",
    "baseline_epochs": "--baseline-epochs",
    "batch_size": "--batch-size",
    "neural_iterations": "--neural-iterations",
    "repair": "--repair",
}


def flag_message(message: str) -> str:
    """Rewrites a leading library argument name into its flag.

    Args:
      message: an error message such as ``"forget: class 12 is not in
        [0, 10)"``.

    Returns:
      The message with the name replaced (``"--forget: class 12 ..."``);
      unchanged when it does not start with a known argument.
    """
    name, sep, rest = message.partition(":")
    if sep and name in _FLAGS:
        return _FLAGS[name] + sep + rest
    return message


def parse_forget(spec: str) -> tuple:
    """Parses ``--forget``: ``class:C:FRACTION`` or ``indices:FILE``.

    ``FILE`` holds integer row indices of the data file (whitespace or
    comma separated text, or an ``.npy`` array).

    Args:
      spec: the ``--forget`` argument.

    Returns:
      ``("class", c, fraction)`` or ``("indices", [i, ...])``.

    Raises:
      UsageError: for a malformed spec or an unreadable file.
    """
    kind, _, rest = spec.partition(":")
    if kind == "class":
        return _forget_class(spec, rest)
    if kind == "indices" and rest:
        return ("indices", _read_indices(rest))
    raise UsageError(
        f"--forget: expected class:C:FRACTION or indices:FILE, got {spec!r}"
    )


def _forget_class(spec: str, rest: str) -> tuple:
    parts = rest.split(":")
    if len(parts) != 2:
        raise UsageError(f"--forget: expected class:C:FRACTION, got {spec!r}")
    try:
        c, frac = int(parts[0]), float(parts[1])
    except ValueError:
        raise UsageError(
            f"--forget: expected class:C:FRACTION with integer C and"
            f" number FRACTION, got {spec!r}"
        ) from None
    if not 0.0 < frac <= 1.0:
        raise UsageError(f"--forget: FRACTION must be in (0, 1], got {frac}")
    return ("class", c, frac)


def _read_indices(path: str) -> list[int]:
    try:
        if path.endswith(".npy"):
            with open(path, "rb") as f:
                idx = np.load(f, allow_pickle=False)
                if not isinstance(idx, np.ndarray):
                    idx.close()  # an .npz archive, not an .npy array
                    raise ValueError("not an .npy array")
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read().replace(",", " ").split()
            idx = np.asarray([int(v) for v in text], np.int64)
    except (OSError, ValueError, EOFError, UnicodeDecodeError) as err:
        raise UsageError(
            f"--forget: cannot read indices from {path!r} ({err})"
        ) from None
    if idx.dtype.kind not in "iu" or idx.size == 0:
        raise UsageError(
            f"--forget: {path!r} must hold at least one integer index"
        )
    return [int(i) for i in np.ravel(idx)]


def parse_ts(text: str) -> tuple[float, ...]:
    """Parses ``--t``: comma-separated levels in ``[0, 1]`` (or ``a:b:n``).

    Args:
      text: e.g. ``"0,0.25,0.5,0.75,1"`` or ``"0:1:5"`` (5 even levels).

    Returns:
      The sorted distinct levels.

    Raises:
      UsageError: for a malformed list or a level outside ``[0, 1]``.
    """
    try:
        if ":" in text:
            a, b, n = text.split(":")
            ts = np.linspace(float(a), float(b), int(n)).tolist()
        else:
            ts = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(
            f"--t: expected comma-separated numbers (or a:b:n), got {text!r}"
        ) from None
    if not ts:
        raise UsageError("--t: expected at least one repair level")
    bad = [t for t in ts if not 0.0 <= t <= 1.0]
    if bad:
        raise UsageError(f"--t: levels must be in [0, 1], got {bad}")
    return tuple(sorted(set(ts)))


def parse_gamma(text: str | None) -> float | str:
    """Parses ``--gamma``: a number ``>= 0`` or ``auto`` (also when absent).

    Args:
      text: the flag's value, or ``None``.

    Returns:
      ``"auto"`` or the weight as a float.

    Raises:
      UsageError: for anything else.
    """
    if text is None or text == "auto":
        return "auto"
    try:
        gamma = float(text)
    except ValueError:
        raise UsageError(
            f"--gamma: expected a number or 'auto', got {text!r}"
        ) from None
    if not gamma >= 0 or not math.isfinite(gamma):
        raise UsageError(f"--gamma: expected a number >= 0, got {gamma}")
    return gamma


def ints(text: str, flag: str) -> tuple[int, ...]:
    """Parses comma-separated positive integers (``--hidden 128,64``).

    Args:
      text: the flag's value.
      flag: the flag, for the message.

    Returns:
      The integers.

    Raises:
      UsageError: for a non-integer or a value below 1.
    """
    try:
        vals = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UsageError(
            f"{flag}: expected comma-separated integers, got {text!r}"
        ) from None
    if not vals or min(vals) < 1:
        raise UsageError(f"{flag}: expected positive integers, got {text!r}")
    return vals


def names(text: str) -> tuple[str, ...]:
    """Splits a comma-separated list of names, dropping empty entries.

    Args:
      text: e.g. ``"retrain,finetune"``.

    Returns:
      The stripped names.
    """
    return tuple(v.strip() for v in text.split(",") if v.strip())
