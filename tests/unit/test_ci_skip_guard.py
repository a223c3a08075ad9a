"""The CI skip guard (tests/conftest.py): under CI=true a skip outside tests/allowed_skips.py fails the run, at
run time and at collection; xfail and listed skips do not; without CI a skip stays a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]

SCRATCH = """
import pytest
def test_skips():
    pytest.skip("no widget attached")
@pytest.mark.xfail(reason="known")
def test_xfails():
    assert False
def test_passes():
    assert True
"""


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None,
         allow: dict[str, str] | None = None) -> pytest.RunResult:
    pytester.makeconftest("from tests.conftest import pytest_make_collect_report, pytest_runtest_makereport\n"
                          + (f"import tests.allowed_skips as a\na.ALLOWED_SKIPS.update({allow!r})\n" if allow else ""))
    pytester.makepyfile(test_scratch=SCRATCH, test_module_skip="import pytest\n"
                        "pytest.importorskip('a_module_nobody_has')\ndef test_never():\n    pass\n")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--continue-on-collection-errors")


def test_without_ci_a_skip_is_a_skip(pytester, monkeypatch):
    r = _run(pytester, monkeypatch, ci=None)
    r.assert_outcomes(passed=1, skipped=2, xfailed=1)


def test_under_ci_an_unlisted_skip_fails_naming_the_list(pytester, monkeypatch):
    r = _run(pytester, monkeypatch, ci="true")
    r.assert_outcomes(passed=1, failed=1, xfailed=1, errors=1)
    assert r.ret != 0
    r.stdout.fnmatch_lines(["*skipped under CI=true*test_skips*not in tests/allowed_skips.py: no widget attached*"])
    r.stdout.fnmatch_lines(["*test_module_skip.py*not in tests/allowed_skips.py*a_module_nobody_has*"])


def test_under_ci_a_listed_skip_stays_a_skip(pytester, monkeypatch):
    allow = {"test_scratch.py::test_skips": "why", "test_module_skip.py": "why"}
    r = _run(pytester, monkeypatch, ci="true", allow=allow)
    r.assert_outcomes(passed=1, skipped=2, xfailed=1)
    assert r.ret == 0
