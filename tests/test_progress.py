"""Long runs show a progress bar to a person at a terminal, and nothing in CI logs or pipes."""

from __future__ import annotations

import io

import pytest

from handover import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def at_terminal(monkeypatch: pytest.MonkeyPatch) -> _Terminal:
    """stderr is a terminal from here on (set in the test itself: pytest's own capture
    replaces stderr again between a fixture and the test)."""
    screen = _Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    monkeypatch.delenv("CI", raising=False)
    return screen


def test_many_cases_at_a_terminal_get_a_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = at_terminal(monkeypatch)
    with progress.progress("Preparing client pages", 60) as advance:
        for _ in range(60):
            advance()
    assert "Preparing client pages" in terminal.getvalue()


def test_ci_logs_get_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = at_terminal(monkeypatch)
    monkeypatch.setenv("CI", "true")
    with progress.progress("Preparing client pages", 60) as advance:
        advance()
    assert terminal.getvalue() == ""


def test_a_few_cases_get_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = at_terminal(monkeypatch)
    with progress.progress("Preparing client pages", 3) as advance:
        advance()
    assert terminal.getvalue() == ""


def test_a_pipe_gets_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stderr", pipe)
    monkeypatch.delenv("CI", raising=False)
    with progress.progress("Deleting", 500) as advance:
        advance()
    assert pipe.getvalue() == ""
