"""The CI templates for firms (GitHub Actions, GitLab CI, pre-commit) are sound and their
`handover` commands really work: each one is run here, as CI would run it."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from handover.cli import cli
from tests.conftest import MINIMAL_CASE, REPO, TEST_SECRET, Project

GITHUB = REPO / ".github" / "workflows" / "handover.yml"
GITLAB = REPO / ".gitlab-ci.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
VENV_BIN = Path(sys.executable).parent

#: GitLab keywords that sit at the top level beside the jobs.
GITLAB_KEYWORDS = {"default", "include", "stages", "variables", "workflow", "image", "cache"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def github_triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """YAML 1.1 reads a bare `on:` key as the boolean True; GitHub reads it as "on"."""
    triggers: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]
    return triggers


def github_steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job["steps"]]


def gitlab_jobs(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: job
        for name, job in pipeline.items()
        if name not in GITLAB_KEYWORDS and not name.startswith(".") and isinstance(job, dict)
    }


class Line(NamedTuple):
    """One shell line of a template, and whether CI hands that line the master secret."""

    where: str
    text: str
    secret: bool


def shell_lines() -> list[Line]:
    """Every shell line both templates run.

    GitHub gives the secret only to steps whose `env:` names it. GitLab gives a protected
    variable to jobs on the protected default branch, never to merge-request pipelines:
    so only to jobs whose every rule requires the default branch.
    """
    found = []
    for job, step in github_steps(load(GITHUB)):
        secret = "HANDOVER_SECRET" in step.get("env", {})
        found += [Line(f"github:{job}", t, secret) for t in str(step.get("run", "")).splitlines()]
    pipeline = load(GITLAB)
    sections = {"default": pipeline.get("default", {}), **gitlab_jobs(pipeline)}
    for job, body in sections.items():
        rules = body.get("rules", [])
        secret = bool(rules) and all("$CI_DEFAULT_BRANCH" in rule["if"] for rule in rules)
        for key in ("before_script", "script", "after_script"):
            found += [Line(f"gitlab:{job}", t, secret) for t in body.get(key, [])]
    return [line._replace(text=line.text.strip()) for line in found if line.text.strip()]


def handover_lines() -> list[Line]:
    return [line for line in shell_lines() if shlex.split(line.text)[0] == "handover"]


# --- GitHub Actions -------------------------------------------------------------------


def test_github_workflow_triggers() -> None:
    on = github_triggers(load(GITHUB))
    assert "pull_request" in on
    assert on["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in on
    (schedule,) = on["schedule"]
    assert re.fullmatch(r"\d+ \d+ \* \* \*", schedule["cron"]), "a daily schedule"


def test_github_workflow_builds_with_the_secret_and_deploys_to_pages() -> None:
    workflow = load(GITHUB)
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {"contents": "read"}, "read-only unless a job needs more"

    build_steps = {str(s.get("run")): s for s in jobs["build"]["steps"]}
    assert build_steps["handover build"]["env"] == {
        "HANDOVER_SECRET": "${{ secrets.HANDOVER_SECRET }}"
    }
    assert "pull_request" in jobs["build"]["if"], "pull requests never build with the secret"
    upload = next(s for s in jobs["build"]["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "site"

    deploy = jobs["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    uses = [s.get("uses", "").split("@")[0] for s in deploy["steps"]]
    assert uses == ["actions/configure-pages", "actions/deploy-pages"]
    assert "concurrency" in workflow


def test_github_due_report_never_blocks_the_deploy() -> None:
    jobs = load(GITHUB)["jobs"]
    due = next(name for name, job in jobs.items() if "handover due" in str(job["steps"]))
    assert "schedule" in jobs[due]["if"]
    waits_for, pending = set(), ["deploy"]
    while pending:  # every job the deploy waits for, directly or not
        needs = jobs[pending.pop()].get("needs", [])
        for name in [needs] if isinstance(needs, str) else needs:
            waits_for.add(name)
            pending.append(name)
    assert due not in waits_for


def test_github_actions_are_pinned_and_pip_is_cached() -> None:
    steps = [step for _, step in github_steps(load(GITHUB))]
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"actions/[\w-]+@v\d+", step["uses"]), step["uses"]
    for step in steps:
        if step.get("uses", "").startswith("actions/setup-python@"):
            assert step["with"]["cache"] == "pip"
            version = tuple(map(int, str(step["with"]["python-version"]).split(".")))
            assert version >= (3, 11)


def test_no_step_prints_or_handles_the_secret_in_the_shell() -> None:
    """The secret reaches `handover` as an environment variable only, never a shell line."""
    for line in shell_lines():
        assert "HANDOVER_SECRET" not in line.text and "secrets." not in line.text, line
    text = GITHUB.read_text(encoding="utf-8")
    assert text.count("secrets.HANDOVER_SECRET") == 1, "the secret goes to the build step alone"
    for _, step in github_steps(load(GITHUB)):
        secrets = [v for v in step.get("env", {}).values() if "secrets." in str(v)]
        if step.get("run") == "handover publish":
            assert "HANDOVER_SECRET" not in step["env"], "publishing needs no master secret"
            assert step["if"] == "vars.HANDOVER_PUBLISH_TARGET != ''", "optional"
        elif step.get("run") != "handover build":
            assert not secrets, step


# --- GitLab CI --------------------------------------------------------------------------


def test_gitlab_pages_job_publishes_public_on_default_branch_and_schedule() -> None:
    pipeline = load(GITLAB)
    jobs = gitlab_jobs(pipeline)
    pages = jobs["pages"]
    assert pages["artifacts"]["paths"] == ["public"]
    assert "handover build --site-dir public" in pages["script"]
    conditions = [rule["if"] for rule in pages["rules"]]
    assert any('"schedule"' in c and "$CI_DEFAULT_BRANCH" in c for c in conditions)
    assert any('"push"' in c and "$CI_DEFAULT_BRANCH" in c for c in conditions)
    assert all("$CI_DEFAULT_BRANCH" in c for c in conditions), "only the default branch publishes"

    validate = jobs["validate"]
    assert "handover validate" in validate["script"]
    assert any('"merge_request_event"' in rule["if"] for rule in validate["rules"])

    due = next(job for job in jobs.values() if "handover due --within 7d" in job["script"])
    assert all('"schedule"' in rule["if"] for rule in due["rules"])
    assert due["needs"] == [], "the overdue report never holds back the pages job"
    assert pipeline["stages"].index(due["stage"]) > pipeline["stages"].index(pages["stage"])


def test_gitlab_secret_comes_from_a_ci_variable_not_the_file() -> None:
    assert "HANDOVER_SECRET" not in load(GITLAB).get("variables", {})
    assert "$HANDOVER_SECRET" not in GITLAB.read_text(encoding="utf-8")


# --- Both -------------------------------------------------------------------------------


def test_build_cache_is_kept_between_runs_and_never_by_pull_requests() -> None:
    jobs = load(GITHUB)["jobs"]
    (cache,) = [s for s in jobs["build"]["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["path"].split() == [
        ".handover/cache",
        ".handover/publish-record.jsonl",
        "site",
    ], "the previous site too: a new day keeps the pages whose dates it did not pass"
    assert "pull_request" in jobs["build"]["if"]
    assert not [s for s in jobs["validate"]["steps"] if "actions/cache" in s.get("uses", "")]
    pipeline = load(GITLAB)
    (kept,) = [c for c in pipeline[".handover-cache"]["cache"] if ".handover/cache/" in c["paths"]]
    assert {"public/", "site/"} <= set(kept["paths"]), "each job's previous site is kept"
    assert "$CI_JOB_NAME" in kept["key"], "each job builds its own site folder"
    assert gitlab_jobs(pipeline)["pages"]["extends"] == ".handover-cache"
    assert "extends" not in gitlab_jobs(pipeline)["validate"], "merge requests get no cache"


def test_every_pip_install_installs_the_portals_pinned_requirements() -> None:
    installs = [line for line in shell_lines() if re.search(r"\bpip\b.*\binstall\b", line.text)]
    assert {line.where.split(":")[0] for line in installs} == {"github", "gitlab"}
    for line in installs:
        assert shlex.split(line.text) == ["pip", "install", "-r", "requirements.txt"], line


def test_handover_init_writes_exactly_these_workflows_and_pins_the_release() -> None:
    scaffold = REPO / "handover" / "scaffold"
    assert (scaffold / "ci" / "github.yml").read_text() == GITHUB.read_text()
    assert (scaffold / "ci" / "gitlab.yml").read_text() == GITLAB.read_text()
    pins = [
        line
        for line in (scaffold / "portal" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert pins == ["handover-portal=={version}"]


def test_both_templates_validate_and_build() -> None:
    for platform in ("github", "gitlab"):
        commands = {
            shlex.split(line.text)[1]
            for line in handover_lines()
            if line.where.startswith(platform)
        }
        assert {"validate", "build", "due"} <= commands, platform


#: An open invoice long past due: `handover due` must fail the CI job for it.
OVERDUE_CASE = """
    client:
      name: Late Payer Ltd
    service_end: 2026-03-31
    invoices:
      - number: "2026-0042"
        amount: 1250.50
        currency: EUR
        due: 2026-01-15
        status: open
"""


@pytest.fixture
def ci_project(project: Project) -> Project:
    project.write_case(
        "minimal", MINIMAL_CASE, {"documents/payroll.csv": b"month,total\n2026-11,1000\n"}
    )
    project.write_case("late-payer", OVERDUE_CASE)
    return project


@pytest.mark.parametrize("line", handover_lines(), ids=lambda line: f"{line.where}: {line.text}")
def test_template_command_runs(ci_project: Project, line: Line) -> None:
    """Run the line as CI would: its shell words, `handover` from PATH, CI=true, and the
    master secret only where the template hands it over."""
    args = shlex.split(line.text)
    assert not {"|", "&&", "||", ";", ">"} & set(args), "keep template lines plain commands"
    assert args[1] in cli.commands, f"{line.where}: `handover {args[1]}` is not a command"
    env = {key: value for key, value in os.environ.items() if key != "HANDOVER_SECRET"}
    env |= {"PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", "CI": "true"}
    if line.secret:
        env["HANDOVER_SECRET"] = TEST_SECRET
    assert shutil.which("handover", path=env["PATH"]) == str(VENV_BIN / "handover")
    result = subprocess.run(
        args, cwd=ci_project.root, env=env, capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    if args[1] == "validate":
        assert result.returncode == 0, output
        assert "2 cases valid." in result.stdout
    elif args[1] == "build":
        assert result.returncode == 0, output
        site_dir = args[args.index("--site-dir") + 1] if "--site-dir" in args else "site"
        assert (ci_project.root / site_dir / "index.html").is_file(), output
    elif args[1] == "publish":
        published = ci_project.root / "published"
        env |= {"HANDOVER_PUBLISH_TARGET": published.as_uri(), "HANDOVER_SECRET": TEST_SECRET}
        built = subprocess.run(["handover", "build"], cwd=ci_project.root, env=env, timeout=300)
        assert built.returncode == 0
        result = subprocess.run(
            args, cwd=ci_project.root, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Verified on" in result.stdout
        assert (published / "index.html").is_file()
    elif args[1] == "due":
        assert result.returncode in (0, 1), output
        last_line = (result.stdout.strip().splitlines() or [""])[-1]
        summary = re.search(r"(\d+) overdue", last_line)
        assert summary, f"due ends with a summary line: {output}"
        assert int(summary[1]) >= 1, "the invoice is overdue"
        assert result.returncode == 1, "overdue items fail the CI job, so someone is told"
    else:
        pytest.fail(f"no expectation for {line.text!r}: add one here")
    assert not (ci_project.root / ".handover" / "secret").exists(), "CI never invents a secret"


# --- pre-commit -------------------------------------------------------------------------


def test_pre_commit_hook_runs_a_real_handover_command() -> None:
    (hook,) = load(HOOKS)
    assert hook["id"] == "handover-validate"
    assert hook["language"] == "python", "pre-commit installs this package to run it"
    assert hook["pass_filenames"] is False
    assert re.search(hook["files"], "cases/acme/case.yaml")
    assert not re.search(hook["files"], "handover/cli.py")
    program, command, *_ = shlex.split(hook["entry"])
    assert program == "handover"
    assert command in cli.commands


def test_pre_commit_accepts_the_hooks_manifest() -> None:
    clientlib = pytest.importorskip("pre_commit.clientlib")
    (hook,) = clientlib.load_manifest(str(HOOKS))
    assert hook["id"] == "handover-validate"
