import pytest

from jaxunlearn import cli


@pytest.mark.slow
def test_demo_runs_and_writes_report(tmp_path, capsys):
    pytest.importorskip("sklearn")
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "report.md").read_text()
    assert "| gaussian, t=1 |" in text and "AUC(Z)" in text
    out = capsys.readouterr().out
    assert "wrote" in out


def test_requires_a_command():
    with pytest.raises(SystemExit):
        cli.main([])
