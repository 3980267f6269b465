"""gitops: committing and pushing the archive, on real repositories under tmp_path.

Every test runs as a CI machine would: no global or system git configuration,
so no identity but the one newsmirror gives. The helpers that commit on their
own (another clone pushing first) pass an identity of their own.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from newsmirror.errors import NewsmirrorError
from newsmirror.gitops import (
    GitError,
    GitReport,
    GitSettings,
    commit_archive,
    commit_message,
    ensure_gitignore,
)

OTHER = {
    "GIT_AUTHOR_NAME": "Other",
    "GIT_AUTHOR_EMAIL": "other@example.org",
    "GIT_COMMITTER_NAME": "Other",
    "GIT_COMMITTER_EMAIL": "other@example.org",
}
PUSH = GitSettings(enabled=True, push=True)
LOCAL = GitSettings(enabled=True)


@pytest.fixture(autouse=True)
def no_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GIT_DIR", raising=False)


def git(repo: Path, *args: str, identity: bool = False) -> str:
    env = {**os.environ, **OTHER} if identity else None
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout


def log(repo: Path, ref: str = "HEAD") -> list[str]:
    return git(repo, "log", "--format=%s", ref).splitlines()


def remote_and_archive(tmp_path: Path) -> tuple[Path, Path]:
    """A bare remote holding one commit, and the archive: a clone of it."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "--quiet", str(remote), str(seed))
    git(seed, "checkout", "--quiet", "-b", "main")
    (seed / "README.md").write_text("# archive\n", encoding="utf-8")
    (seed / "shared.md").write_text("one\ntwo\n", encoding="utf-8")
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "seed", identity=True)
    git(seed, "push", "--quiet", "origin", "main")
    archive = tmp_path / "archive"
    git(tmp_path, "clone", "--quiet", str(remote), str(archive))
    return remote, archive


def push_from_other_clone(tmp_path: Path, remote: Path, path: str, text: str) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(remote), str(other))
    (other / path).write_text(text, encoding="utf-8")
    git(other, "add", "-A")
    git(other, "commit", "--quiet", "-m", f"other: {path}", identity=True)
    git(other, "push", "--quiet", "origin", "main")


# commit_message


def test_commit_message_sums_and_lists_sources_with_changes_in_order() -> None:
    message = commit_message([("美国之音", 10, 1), ("德国之声", 0, 0), ("BBC", 2, 2)])
    assert (
        message
        == "newsmirror: 12 new, 3 updated\n\n美国之音: 10 new, 1 updated\nBBC: 2 new, 2 updated"
    )
    assert commit_message([("美国之音", 10, 1), ("德国之声", 0, 0), ("BBC", 2, 2)]) == message


def test_commit_message_without_changes_is_the_summary_alone() -> None:
    assert commit_message([("BBC", 0, 0)]) == "newsmirror: 0 new, 0 updated"
    assert commit_message([]) == "newsmirror: 0 new, 0 updated"


def test_commit_message_keeps_a_name_on_one_line() -> None:
    assert commit_message([("BBC\n中文", 1, 0)]).splitlines()[-1] == "BBC 中文: 1 new, 0 updated"


# committing


def test_commit_after_changes_with_the_message_and_identity(tmp_path: Path) -> None:
    _, archive = remote_and_archive(tmp_path)
    (archive / "bbc").mkdir()
    (archive / "bbc" / "1.md").write_text("# 新闻\n", encoding="utf-8")
    message = commit_message([("BBC 中文", 1, 0)])

    report = commit_archive(archive, message, LOCAL)

    assert report.committed and report.error is None and not report.pushed
    assert report.message == message
    assert report.commit == git(archive, "rev-parse", "HEAD").strip()
    assert git(archive, "log", "-1", "--format=%B").strip() == message
    assert git(archive, "log", "-1", "--format=%an <%ae>|%cn <%ce>").strip() == (
        "newsmirror <newsmirror@localhost>|newsmirror <newsmirror@localhost>"
    )
    assert git(archive, "status", "--porcelain") == ""
    assert "bbc/1.md" in git(archive, "ls-files")


def test_a_second_call_without_changes_commits_nothing(tmp_path: Path) -> None:
    _, archive = remote_and_archive(tmp_path)
    (archive / "a.md").write_text("a\n", encoding="utf-8")
    first = commit_archive(archive, "first", LOCAL)
    head = git(archive, "rev-parse", "HEAD")

    second = commit_archive(archive, "second", LOCAL)

    assert first.committed
    assert second == GitReport(committed=False, commit=None, pushed=False, message=None, error=None)
    assert git(archive, "rev-parse", "HEAD") == head


def test_deletions_are_committed(tmp_path: Path) -> None:
    _, archive = remote_and_archive(tmp_path)
    (archive / "shared.md").unlink()
    assert commit_archive(archive, "gone", LOCAL).committed
    assert "shared.md" not in git(archive, "ls-files")


def test_a_folder_that_is_no_repository_is_initialised(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "a.md").write_text("a\n", encoding="utf-8")

    report = commit_archive(archive, "first", LOCAL)

    assert report.committed
    assert git(archive, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert sorted(git(archive, "ls-files").split()) == [".gitignore", "a.md"]
    assert log(archive) == ["first"]


def test_initialised_with_the_branch_of_the_settings(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "a.md").write_text("a\n", encoding="utf-8")
    commit_archive(archive, "first", GitSettings(enabled=True, branch="gh-pages"))
    assert git(archive, "symbolic-ref", "--short", "HEAD").strip() == "gh-pages"


def test_the_archive_on_another_branch_than_the_settings_is_an_error(tmp_path: Path) -> None:
    _, archive = remote_and_archive(tmp_path)
    (archive / "a.md").write_text("a\n", encoding="utf-8")
    with pytest.raises(GitError, match="on branch main, not archive"):
        commit_archive(archive, "x", GitSettings(enabled=True, branch="archive"))
    assert log(archive) == ["seed"]


def test_a_folder_inside_another_repository_is_refused(tmp_path: Path) -> None:
    outer = tmp_path / "project"
    archive = outer / "archive"
    archive.mkdir(parents=True)
    git(outer, "init", "--quiet")
    (outer / "private.txt").write_text("not the archive's\n", encoding="utf-8")
    (archive / "a.md").write_text("a\n", encoding="utf-8")

    with pytest.raises(GitError, match="not its top folder") as raised:
        commit_archive(archive, "x", LOCAL)

    assert isinstance(raised.value, NewsmirrorError)
    assert str(archive) in str(raised.value)
    assert git(outer, "status", "--porcelain") == "?? archive/\n?? private.txt\n"
    assert not (archive / ".git").exists()


def test_git_dir_of_a_calling_hook_does_not_redirect_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    git(tmp_path, "init", "--quiet", str(elsewhere))
    _, archive = remote_and_archive(tmp_path)
    (archive / "a.md").write_text("a\n", encoding="utf-8")
    monkeypatch.setenv("GIT_DIR", str(elsewhere / ".git"))

    assert commit_archive(archive, "ours", LOCAL).committed

    monkeypatch.delenv("GIT_DIR")
    assert log(archive) == ["ours", "seed"]


def test_a_missing_archive_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="does not exist") as raised:
        commit_archive(tmp_path / "nowhere", "x", LOCAL)
    assert str(tmp_path / "nowhere") in str(raised.value)


# .gitignore


def test_temporary_files_are_not_committed(tmp_path: Path) -> None:
    _, archive = remote_and_archive(tmp_path)
    (archive / "bbc").mkdir()
    (archive / "bbc" / ".newsmirror-ab12cd34.tmp").write_text("half", encoding="utf-8")
    (archive / "bbc" / ".1.md.ab12cd34.tmp").write_text("half", encoding="utf-8")
    (archive / "bbc" / "1.md").write_text("whole\n", encoding="utf-8")

    commit_archive(archive, "x", LOCAL)

    assert sorted(git(archive, "ls-files").split()) == [
        ".gitignore",
        "README.md",
        "bbc/1.md",
        "shared.md",
    ]


def test_gitignore_keeps_the_users_lines_and_adds_only_missing_ones(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_bytes(b"# mine\r\n*.log\r\n.*.tmp")
    ensure_gitignore(tmp_path)
    assert (
        tmp_path / ".gitignore"
    ).read_bytes() == b"# mine\r\n*.log\r\n.*.tmp\n.newsmirror-*.tmp\n"
    ensure_gitignore(tmp_path)
    assert (
        tmp_path / ".gitignore"
    ).read_bytes() == b"# mine\r\n*.log\r\n.*.tmp\n.newsmirror-*.tmp\n"


def test_gitignore_is_created_when_missing(tmp_path: Path) -> None:
    ensure_gitignore(tmp_path)
    assert (tmp_path / ".gitignore").read_text() == ".newsmirror-*.tmp\n.*.tmp\n"


# pushing


def test_push_to_the_remote(tmp_path: Path) -> None:
    remote, archive = remote_and_archive(tmp_path)
    (archive / "a.md").write_text("a\n", encoding="utf-8")

    report = commit_archive(archive, "ours", PUSH)

    assert report.committed and report.pushed and report.error is None
    assert log(remote, "main") == ["ours", "seed"]
    assert git(remote, "rev-parse", "main") == git(archive, "rev-parse", "HEAD")


def test_push_to_an_empty_remote_from_a_new_repository(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "a.md").write_text("a\n", encoding="utf-8")
    commit_archive(archive, "first", LOCAL)
    git(archive, "remote", "add", "origin", str(remote))

    report = commit_archive(archive, "nothing new", PUSH)

    assert not report.committed and report.pushed and report.error is None
    assert log(remote, "main") == ["first"]


def test_a_commit_left_unpushed_is_pushed_by_the_next_call(tmp_path: Path) -> None:
    remote, archive = remote_and_archive(tmp_path)
    (archive / "a.md").write_text("a\n", encoding="utf-8")
    commit_archive(archive, "ours", LOCAL)

    report = commit_archive(archive, "nothing", PUSH)

    assert not report.committed and report.pushed
    assert log(remote, "main") == ["ours", "seed"]


def test_a_rejected_push_is_rebased_and_pushed_again(tmp_path: Path) -> None:
    remote, archive = remote_and_archive(tmp_path)
    push_from_other_clone(tmp_path, remote, "other.md", "theirs\n")
    (archive / "a.md").write_text("ours\n", encoding="utf-8")

    report = commit_archive(archive, "ours", PUSH)

    assert report.committed and report.pushed and report.error is None
    assert log(remote, "main") == ["ours", "other: other.md", "seed"]
    # The commit reported is the one on the remote, after the rebase.
    assert report.commit == git(remote, "rev-parse", "main").strip()
    assert (archive / "other.md").read_text(encoding="utf-8") == "theirs\n"


def test_a_conflict_is_reported_and_the_local_commit_kept(tmp_path: Path) -> None:
    remote, archive = remote_and_archive(tmp_path)
    push_from_other_clone(tmp_path, remote, "shared.md", "one\ntheirs\n")
    (archive / "shared.md").write_text("one\nours\n", encoding="utf-8")
    remote_head = git(remote, "rev-parse", "main")

    report = commit_archive(archive, "ours", PUSH)

    assert report.committed and not report.pushed
    assert report.error is not None
    assert "conflict" in report.error and "rebase was aborted" in report.error
    assert str(archive) in report.error
    assert git(remote, "rev-parse", "main") == remote_head  # nothing forced
    assert git(archive, "rev-parse", "HEAD").strip() == report.commit
    assert log(archive) == ["ours", "seed"]
    assert (archive / "shared.md").read_text(encoding="utf-8") == "one\nours\n"
    assert git(archive, "status", "--porcelain") == ""
    rebase_state = git(archive, "rev-parse", "--git-path", "rebase-merge").strip()
    assert not (archive / rebase_state).exists()


def test_a_push_to_a_missing_remote_is_reported_not_raised(tmp_path: Path) -> None:
    _, archive = remote_and_archive(tmp_path)
    (archive / "a.md").write_text("a\n", encoding="utf-8")

    report = commit_archive(archive, "ours", GitSettings(enabled=True, push=True, remote="nowhere"))

    assert report.committed and not report.pushed
    assert report.error is not None and "nowhere" in report.error
    assert log(archive) == ["ours", "seed"]


def test_no_retries_means_a_rejected_push_is_not_rebased(tmp_path: Path) -> None:
    remote, archive = remote_and_archive(tmp_path)
    push_from_other_clone(tmp_path, remote, "other.md", "theirs\n")
    (archive / "a.md").write_text("ours\n", encoding="utf-8")

    report = commit_archive(archive, "ours", GitSettings(enabled=True, push=True, push_retries=0))

    assert not report.pushed and report.error is not None and "rejected" in report.error
    assert log(archive) == ["ours", "seed"]


# settings


@pytest.mark.parametrize(
    "settings",
    [{"remote": "--upload-pack=x"}, {"remote": ""}, {"branch": "-f"}, {"push_retries": -1}],
)
def test_settings_refuse_what_git_would_read_as_options(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        GitSettings(**settings)  # type: ignore[arg-type]


def test_a_bad_branch_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not a valid branch name"):
        commit_archive(tmp_path, "x", GitSettings(enabled=True, branch="a..b"))
