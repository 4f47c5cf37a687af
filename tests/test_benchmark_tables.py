"""The generated benchmark tables match the committed records."""

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_tables_regenerate_to_themselves():
    # Regeneration is a no-op: no table in BENCHMARKS.md or
    # docs/benchmarks/ differs from what the latest records render.
    out = subprocess.run(
        [sys.executable, "benchmarks/make_tables.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_quick_runs_leave_the_records_alone(tmp_path):
    # A --quick run (the CI smoke test) writes its record outside the
    # repository; a full run appends exactly one line.
    script = tmp_path / "bench_probe.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'benchmarks')!r})\n"
        "from _harness import record\n"
        "record('probe', value=1.0)\n"
        "record('probe', value=2.0)\n"
    )
    env_dir = tmp_path / "records"

    env = {**os.environ, "JAXUNLEARN_BENCH_RESULTS": str(env_dir)}
    subprocess.run(
        [sys.executable, str(script), "--quick"], env=env, check=True
    )
    lines = (env_dir / "bench_probe.jsonl").read_text().splitlines()
    assert len(lines) == 1

    run = json.loads(lines[0])
    assert run["quick"] is True
    assert [r["value"] for r in run["rows"]] == [1.0, 2.0]
    assert {"commit", "loadavg", "cpu", "x64"} <= set(run["env"])
    assert not (ROOT / "benchmarks" / "results" / "bench_probe.jsonl").exists()


def _make_tables():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import make_tables  # noqa: PLC0415
    finally:
        sys.path.pop(0)
    return make_tables


def test_every_table_is_placed_and_rendered_from_a_record():
    # Each table the generator knows appears in a page (so --check covers
    # it) and renders from a committed full record with its provenance.
    mt = _make_tables()
    placed = set()
    for path in mt.DOCS:
        placed |= {m.group("name") for m in mt.MARK.finditer(path.read_text())}
    known = set(mt.TABLES) | set(mt.REPRO_TABLES)
    assert placed == known, known ^ placed
    for name in sorted(mt.TABLES):
        text = mt.render(name)
        from_record = "Record" in text and ".jsonl`" in text
        # The GMM reproduction's table reads a study's saved result.
        from_study = name == "repro-gmm" and "Generated from `studies/" in text
        assert "| " in text and (from_record or from_study), name
    # The reproduction tables name the saved result they come from.
    for name in sorted(mt.REPRO_TABLES):
        text = mt.render(name)
        assert "| " in text and "Generated from `studies/" in text, name


def test_a_failed_run_writes_no_record(tmp_path):
    # A correctness check that raises after some rows leaves no record.
    script = tmp_path / "bench_fails.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'benchmarks')!r})\n"
        "from _harness import record\n"
        "record('probe', value=1.0)\n"
        "raise AssertionError('wrong answer')\n"
    )
    env = {**os.environ, "JAXUNLEARN_BENCH_RESULTS": str(tmp_path / "rec")}
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True
    )
    assert out.returncode != 0 and "wrong answer" in out.stderr
    assert not (tmp_path / "rec" / "bench_fails.jsonl").exists()
