"""Git: commit the archive folder after a run, and push it if asked.

    archive ─▶ (git init) ─▶ .gitignore ─▶ git add -A ─▶ git commit ─▶ git push
    push rejected (the remote has new commits) ─▶ git pull --rebase ─▶ git push again

Everything goes through the ``git`` command (``git -C ARCHIVE ...``, no shell),
with the author and committer given in the environment, so a machine with no
git configuration (a CI runner) can commit. "Nothing to commit" is not an
error. Failures of the local part (init, stage, commit) raise ``GitError``;
a push that fails is reported in ``GitReport.error`` with the local commit kept,
so the next run pushes it.

This module must never force-push, rewrite commits that are already on the
remote, touch a file outside the archive (the archive must be the top of its
own repository, never a folder inside another one), or wait for a person:
git and its hooks run without a terminal or stdin, and network commands have
a time limit.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import NewsmirrorError

log = logging.getLogger(__name__)

# The temporary files newsmirror writes next to their targets before renaming
# them (publish, images, site); a run interrupted mid-write must not commit one.
IGNORED_PATTERNS = (".newsmirror-*.tmp", ".*.tmp")

# The branch of a repository newsmirror creates itself, when the settings name none.
DEFAULT_BRANCH = "main"

# Seconds a push or pull may take: a remote that hangs must not hang a
# scheduled run for ever, and a big first push of an archive can be slow.
NETWORK_TIMEOUT = 600.0

# Variables that point git at another repository (they are set while a git
# hook runs, for one): left in place they would override ``-C ARCHIVE``.
_REPOSITORY_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_CEILING_DIRECTORIES",
)


class GitError(NewsmirrorError):
    """A git command on the archive failed (or git is missing)."""

    def __init__(self, path: object, message: str) -> None:
        self.path = str(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class GitSettings:
    enabled: bool = False
    push: bool = False
    remote: str = "origin"
    branch: str | None = None  # None: the branch the archive is on
    author_name: str = "newsmirror"
    author_email: str = "newsmirror@localhost"
    push_retries: int = 3  # times a rejected push is rebased and tried again

    def __post_init__(self) -> None:
        # A name starting with "-" would be read by git as an option.
        if not self.remote or self.remote.startswith("-"):
            raise ValueError(f"git remote: not a remote name: {self.remote!r}")
        if self.branch is not None and (not self.branch or self.branch.startswith("-")):
            raise ValueError(f"git branch: not a branch name: {self.branch!r}")
        if self.push_retries < 0:
            raise ValueError(f"git push_retries: must be 0 or more, not {self.push_retries}")


@dataclass(frozen=True)
class GitReport:
    committed: bool
    commit: str | None  # the commit made (after any rebase), None when nothing was committed
    pushed: bool
    message: str | None  # the commit message, None when nothing was committed
    error: str | None  # why the push failed; the local commit is kept


def commit_message(counts: Sequence[tuple[str, int, int]]) -> str:
    """The message for a run's commit, from (source name, new, updated) per source.

    A summary line, then one line per source that has anything, in the order
    given (the config's order, so the same run gives the same message)::

        newsmirror: 12 new, 3 updated

        美国之音: 10 new, 1 updated
        BBC: 2 new, 2 updated
    """
    lines = []
    total_new = total_updated = 0
    for name, new, updated in counts:
        if new < 0 or updated < 0:
            raise ValueError(f"{name}: negative counts: {new} new, {updated} updated")
        total_new += new
        total_updated += updated
        if new or updated:
            # A name holding a newline would break the message's shape.
            lines.append(f"{' '.join(name.split())}: {new} new, {updated} updated")
    summary = f"newsmirror: {total_new} new, {total_updated} updated"
    return "\n".join([summary, "", *lines]) if lines else summary


def commit_archive(archive: Path, message: str, settings: GitSettings) -> GitReport:
    """Commit everything in ``archive`` (creating the repository if needed), then push if asked.

    Raises ``GitError`` when the archive cannot be committed; a failed push is
    returned in ``GitReport.error`` instead, with the local commit kept.
    ``settings.enabled`` is the caller's switch: this function always commits.
    """
    git = _Git(Path(archive), settings)
    branch = _open_repository(git, settings.branch)
    ensure_gitignore(git.archive)
    git.run("add", "-A")
    # --quiet exits 1 when something is staged, 0 when nothing is.
    staged = git.run("diff", "--cached", "--quiet", check=False)
    if staged.returncode not in (0, 1):
        raise git.error(("diff", "--cached"), staged)
    committed = staged.returncode == 1
    if committed:
        # --cleanup=whitespace: a source named "#..." must not become a comment line.
        git.run("commit", "--quiet", "--cleanup=whitespace", "--file=-", input=message)
        log.info("%s: committed %s", git.archive, git.head())
    pushed, error = False, None
    if settings.push and git.head() is not None:
        error = _push(git, settings.remote, branch, settings.push_retries)
        pushed = error is None
        if error is not None:
            log.warning("%s", error)
    return GitReport(
        committed=committed,
        commit=git.head() if committed else None,
        pushed=pushed,
        message=message if committed else None,
        error=error,
    )


def ensure_gitignore(archive: Path) -> None:
    """Add the patterns of ``IGNORED_PATTERNS`` missing from ``archive/.gitignore``.

    The user's lines are kept as they are; only missing lines are appended.
    """
    path = archive / ".gitignore"
    try:
        existing = path.read_bytes() if path.exists() else b""
    except OSError as e:
        raise GitError(path, f"cannot read: {e.strerror or e}") from e
    present = {line.strip() for line in existing.splitlines()}
    missing = [p for p in IGNORED_PATTERNS if p.encode() not in present]
    if not missing:
        return
    addition = "".join(f"{p}\n" for p in missing).encode()
    if existing and not existing.endswith(b"\n"):
        addition = b"\n" + addition
    try:
        with path.open("ab") as file:
            file.write(addition)
    except OSError as e:
        raise GitError(path, f"cannot write: {e.strerror or e}") from e


class _Git:
    """Runs ``git -C ARCHIVE ...`` with the run's identity, unable to prompt."""

    def __init__(self, archive: Path, settings: GitSettings) -> None:
        self.archive = archive
        env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
        env.update(
            GIT_AUTHOR_NAME=settings.author_name,
            GIT_AUTHOR_EMAIL=settings.author_email,
            GIT_COMMITTER_NAME=settings.author_name,
            GIT_COMMITTER_EMAIL=settings.author_email,
            GIT_TERMINAL_PROMPT="0",  # no username/password prompt
            GCM_INTERACTIVE="never",  # Git Credential Manager: no dialog either
            GIT_EDITOR="true",  # a rebase must never open an editor
            GIT_SEQUENCE_EDITOR="true",
        )
        self.env = env

    def run(
        self,
        *args: str,
        check: bool = True,
        input: str | None = None,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        command = ["git", "-C", str(self.archive), *args]
        try:
            result = subprocess.run(
                command,
                check=False,  # the caller decides what a failure means
                env=self.env,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
                # No controlling terminal: neither git, ssh nor a hook can
                # open /dev/tty and wait for an answer that never comes.
                start_new_session=True,
            )
        except FileNotFoundError as e:
            raise GitError(self.archive, "the git command is not installed") from e
        except subprocess.TimeoutExpired as e:
            raise GitError(self.archive, f"git {args[0]} took more than {timeout:.0f} s") from e
        except OSError as e:
            raise GitError(self.archive, f"cannot run git: {e.strerror or e}") from e
        if check and result.returncode != 0:
            raise self.error(args, result)
        return result

    def error(self, args: Sequence[str], result: subprocess.CompletedProcess[str]) -> GitError:
        return GitError(self.archive, f"git {' '.join(args)} failed: {_output(result)}")

    def head(self) -> str | None:
        """The commit HEAD names, None on a branch with no commit yet."""
        result = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        if result.returncode != 0:
            return None
        return result.stdout.strip() or None

    def rebase_in_progress(self) -> bool:
        for state in ("rebase-merge", "rebase-apply"):
            path = self.run("rev-parse", "--git-path", state).stdout.strip()
            if (self.archive / path).exists():
                return True
        return False


def _open_repository(git: _Git, branch: str | None) -> str:
    """Make sure ``git.archive`` is the top of a repository; return the branch to commit on."""
    archive = git.archive
    if not archive.is_dir():
        raise GitError(archive, "the archive folder does not exist")
    if branch is not None:
        checked = git.run("check-ref-format", "--branch", branch, check=False)
        if checked.returncode != 0:
            raise GitError(archive, f"not a valid branch name: {branch!r}")
    top = git.run("rev-parse", "--show-toplevel", check=False)
    if top.returncode != 0:
        if (archive / ".git").exists():
            raise git.error(("rev-parse", "--show-toplevel"), top)
        name = branch or DEFAULT_BRANCH
        git.run("init", "--quiet", f"--initial-branch={name}")
        log.info("%s: created a git repository on branch %s", archive, name)
        return name
    toplevel = Path(top.stdout.strip())
    if not toplevel.samefile(archive):
        # Committing there would stage the other repository's files too.
        raise GitError(
            archive,
            f"the archive is inside the git repository {toplevel} but is not its top folder; "
            "make the archive a repository of its own, or turn git off for newsmirror",
        )
    if git.rebase_in_progress():
        raise GitError(archive, "a rebase is in progress; finish or abort it first")
    current = git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if current.returncode != 0:
        raise GitError(archive, "HEAD is detached; check out a branch to commit on")
    current_branch = current.stdout.strip()
    if branch is None or branch == current_branch:
        return current_branch
    if git.head() is None:
        # A branch with no commit yet costs nothing to rename.
        git.run("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        return branch
    raise GitError(
        archive,
        f"the archive is on branch {current_branch}, not {branch}; "
        "switch branches yourself or change the setting",
    )


def _push(git: _Git, remote: str, branch: str, retries: int) -> str | None:
    """Push ``branch`` to ``remote``, rebasing on new remote commits; the error, or None.

    Never forced: a rejected push is followed by ``git pull --rebase`` (only the
    local commits not yet on the remote move) and another push, ``retries``
    times at most. A rebase that conflicts is aborted, leaving the local commit
    as it was.
    """
    refspec = f"refs/heads/{branch}:refs/heads/{branch}"
    where = f"{remote} {branch}"
    try:
        return _push_rebasing(git, remote, branch, refspec, retries)
    except GitError as e:  # git missing, a time limit
        try:
            if git.rebase_in_progress():
                git.run("rebase", "--abort")
        except GitError as abort:
            return f"{e}; and the rebase could not be aborted: {abort}"
        return f"pushing to {where}: {e}"


def _push_rebasing(git: _Git, remote: str, branch: str, refspec: str, retries: int) -> str | None:
    where = f"{remote} {branch}"
    rebases = 0
    while True:
        pushed = git.run("push", "--", remote, refspec, check=False, timeout=NETWORK_TIMEOUT)
        if pushed.returncode == 0:
            log.info("%s: pushed to %s", git.archive, where)
            return None
        if rebases == retries:
            tried = f"after {retries} rebase(s)" if retries else "(push_retries is 0)"
            return (
                f"{git.archive}: git push {where} was rejected {tried}; "
                f"the local commit is kept: {_output(pushed)}"
            )
        rebases += 1
        before = git.head()
        pulled = git.run(
            "pull", "--rebase", "--quiet", "--", remote, branch,
            check=False, timeout=NETWORK_TIMEOUT,
        )  # fmt: skip
        if pulled.returncode != 0:
            if git.rebase_in_progress():
                git.run("rebase", "--abort")
                return (
                    f"{git.archive}: the local commit conflicts with new commits on "
                    f"{where}; the rebase was aborted, the local commit is kept and "
                    f"not pushed: {_output(pulled)}"
                )
            return (
                f"{git.archive}: git push {where} failed: {_output(pushed)}; "
                f"then git pull --rebase failed: {_output(pulled)}"
            )
        if git.head() == before:
            # Nothing new came from the remote: the push failed for another reason.
            return f"{git.archive}: git push {where} failed: {_output(pushed)}"


def _output(result: subprocess.CompletedProcess[str]) -> str:
    """What git said, without its "hint:" lines (advice for a person at a terminal)."""
    text = result.stderr or result.stdout
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("hint:")]
    return "\n".join(lines) or f"exit status {result.returncode}"
