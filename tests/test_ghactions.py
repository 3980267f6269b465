"""The GitHub Actions workflow: valid YAML with the jobs, triggers and steps a mirror needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from newsmirror.errors import PublishError
from newsmirror.ghactions import WORKFLOW_PATH, workflow_yaml, write_workflow

yaml = pytest.importorskip("yaml")


def parse(text: str) -> dict[Any, Any]:
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean true; GitHub reads it as "on".
    data["on"] = data.pop(True)
    return data


def steps_by_uses(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["uses"].split("@")[0]: step for step in job["steps"] if "uses" in step}


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step["run"] for step in job["steps"] if "run" in step)


def test_triggers_concurrency_and_permissions() -> None:
    data = parse(workflow_yaml())
    assert data["on"]["schedule"] == [{"cron": "*/30 * * * *"}]
    assert "workflow_dispatch" in data["on"]
    assert data["concurrency"] == {"group": "newsmirror", "cancel-in-progress": False}
    assert data["permissions"] == {"contents": "write", "pages": "write", "id-token": "write"}
    assert set(data["jobs"]) == {"mirror", "pages"}


def test_mirror_job_runs_commits_pushes_and_uploads_the_site() -> None:
    mirror = parse(workflow_yaml(python="3.12", cron="0 * * * *"))["jobs"]["mirror"]
    uses = steps_by_uses(mirror)
    assert set(uses) == {
        "actions/checkout",
        "actions/setup-python",
        "actions/upload-pages-artifact",
    }
    assert uses["actions/setup-python"]["with"]["python-version"] == "3.12"
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "site"
    commands = runs(mirror)
    assert "pip install newsmirror" in commands
    assert "newsmirror run" in commands
    assert "git add -A" in commands
    assert "|| true" in commands  # a run that archived nothing new is no failure
    assert "git push" in commands
    # The order matters: install, run, commit, then upload what the run built.
    names = [step.get("uses", step.get("run", "")) for step in mirror["steps"]]
    order = [
        next(i for i, name in enumerate(names) if wanted in name)
        for wanted in (
            "checkout",
            "setup-python",
            "pip install",
            "newsmirror run",
            "git push",
            "upload-pages",
        )
    ]
    assert order == sorted(order)


def test_pages_job_deploys_after_mirror() -> None:
    data = parse(workflow_yaml(cron="0 * * * *"))
    assert data["on"]["schedule"] == [{"cron": "0 * * * *"}]
    pages = data["jobs"]["pages"]
    assert pages["needs"] == "mirror"
    assert pages["environment"]["name"] == "github-pages"
    assert "actions/deploy-pages" in steps_by_uses(pages)


@pytest.mark.parametrize(
    ("option", "value"),
    [("python", "3.11\nx: y"), ("cron", "*/30 * * *"), ("cron", '" * * * *'), ("site", "../x")],
)
def test_values_that_would_break_the_yaml_are_refused(option: str, value: str) -> None:
    with pytest.raises(ValueError):
        workflow_yaml(**{option: value})


def test_write_workflow_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = write_workflow(tmp_path)
    assert path == tmp_path / WORKFLOW_PATH
    assert path.read_text(encoding="utf-8") == workflow_yaml()
    path.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(PublishError, match="already exists"):
        write_workflow(tmp_path)
    assert path.read_text(encoding="utf-8") == "# mine\n"
    write_workflow(tmp_path, force=True)
    assert path.read_text(encoding="utf-8") == workflow_yaml()
