"""Switching engine, source or destination with `copier update` reaches the team's files;
switching the pipeline type is refused.

`migrations/switch_answers.py` runs after every update. Its pieces are checked on their
own (pipeline.toml's sections, the decision per file); then real updates switch every value
of the three answers in turn (each value is left and reached at least once) on an untouched
project, which must end equal to a fresh render with the new answers, and on a project the
team edited, which must keep the edits, swap the config sections, name the file to port
and fail until it is ported.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from copier.errors import TaskError, UserMessageError
from extension_modules import load_module
from template_fixtures import REPO_ROOT, TEMPLATE_TAG, git, render, tree_bytes
from test_update import (
    TRANSFORMS_PATH,
    USER_TRANSFORMS_CHANGE,
    assert_no_conflicts,
    commit_all,
    create_project,
    leftovers_check,
    update,
)

switch = load_module(REPO_ROOT / "migrations" / "switch_answers.py")

CONFIG = """\
# Pipeline configuration.
log_level = "INFO"

[source]
path = "landing/*.csv"            # the team's own path

[destination]
path = "data/output/orders"
retention_hours = 168

[engine]
# Polars runs in this process.
execution = "auto"
"""
OLD_RENDER = CONFIG.replace('"landing/*.csv"            # the team\'s own path', '"data/x.csv"')
NEW_RENDER = """\
# Pipeline configuration.
log_level = "INFO"

[source]
path = "data/x.csv"

[destination]
bucket = "orders"
prefix = "orders"

[engine]
# pandas: nothing to configure.
"""


def test_only_the_tables_a_switch_changes_are_replaced_and_the_rest_is_kept() -> None:
    tables = switch.changed_tables(OLD_RENDER, NEW_RENDER)
    merged = switch.replace_tables(CONFIG, NEW_RENDER, tables)

    assert tables == ["destination", "engine"]
    assert 'path = "landing/*.csv"            # the team\'s own path' in merged
    parsed = tomllib.loads(merged)
    assert parsed["destination"] == {"bucket": "orders", "prefix": "orders"}
    assert parsed["engine"] == {}
    assert "# pandas: nothing to configure." in merged
    assert "Polars" not in merged


def test_a_table_the_new_rendering_drops_goes_and_a_new_one_is_appended() -> None:
    old = 'a = 1\n\n[engine]\nexecution = "auto"\n'
    new = "a = 1\n\n[cluster]\nworkers = 4\n"
    merged = switch.replace_tables(old, new, switch.changed_tables(old, new))

    assert tomllib.loads(merged) == {"a": 1, "cluster": {"workers": 4}}


def test_the_settings_the_team_changed_in_a_replaced_table_are_named() -> None:
    assert switch.team_settings(CONFIG, OLD_RENDER, "source") == ["path"]
    assert switch.team_settings(CONFIG, OLD_RENDER, "destination") == []


def test_each_team_owned_file_is_replaced_removed_or_left_to_port(tmp_path: Path) -> None:
    owned = switch.pathspec.GitIgnoreSpec.from_lines(["/src/*/transforms/*.py"])
    given = {
        "src/p/transforms/unedited.py": b"polars\n",
        "src/p/transforms/edited.py": b"polars\n",
        "src/p/transforms/gone.py": b"polars only\n",
        "src/p/transforms/same.py": b"both\n",
        "src/p/runner.py": b"plumbing\n",
    }
    new = {
        "src/p/transforms/unedited.py": b"pandas\n",
        "src/p/transforms/edited.py": b"pandas\n",
        "src/p/transforms/same.py": b"both\n",
        "src/p/runner.py": b"new plumbing\n",
    }
    for name, content in given.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    (tmp_path / "src/p/transforms/edited.py").write_bytes(b"polars, the team's\n")

    outcome = switch.carry(tmp_path, given, given, new, owned)

    assert outcome.replaced == ["src/p/transforms/unedited.py"]
    assert outcome.removed == ["src/p/transforms/gone.py"]
    assert outcome.to_port == ["src/p/transforms/edited.py"]
    assert (tmp_path / "src/p/transforms/unedited.py").read_bytes() == b"pandas\n"
    assert not (tmp_path / "src/p/transforms/gone.py").exists()
    assert (tmp_path / "src/p/transforms/edited.py").read_bytes() == b"polars, the team's\n"
    ported = tmp_path / switch.PORT_FOLDER / "src/p/transforms/edited.py"
    assert ported.read_bytes() == b"pandas\n"
    assert (tmp_path / "src/p/runner.py").read_bytes() == b"plumbing\n"  # not team-owned


def test_an_update_that_switches_nothing_does_nothing() -> None:
    before = {"engine": "polars", "source": "local", "destination": "local", "_commit": "v1"}
    assert switch.switched(before, {**before, "_commit": "v2", "schedule": "@hourly"}) == {}
    assert switch.switched(before, {**before, "engine": "dask"}) == {"engine": ("polars", "dask")}


def test_a_streaming_projects_switches_are_its_engine_and_destination() -> None:
    # A streaming project records no source, orchestrator or schedule (not asked).
    before = {"pipeline_type": "streaming", "stream_source": "kafka", "engine": "polars"}
    before |= {"destination": "local", "_commit": "v1"}
    after = {**before, "engine": "pandas", "destination": "postgres"}
    assert switch.switched(before, after) == {
        "engine": ("polars", "pandas"),
        "destination": ("local", "postgres"),
    }


STREAMING = {"pipeline_type": "streaming"}


@pytest.mark.parametrize(
    ("created", "switch_to"),
    [({}, STREAMING), (STREAMING, {"pipeline_type": "batch"})],
    ids=["batch-to-streaming", "streaming-to-batch"],
)
def test_switching_the_pipeline_type_is_refused_naming_it_and_nothing_is_written(
    created: dict[str, str], switch_to: dict[str, str], template_repo: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    render(template_repo, project, created, vcs_ref=TEMPLATE_TAG)
    before = tree_bytes(project)

    with pytest.raises(UserMessageError) as refused:
        update(project, TEMPLATE_TAG, switch_to)

    old, new = (created or {"pipeline_type": "batch"})["pipeline_type"], switch_to["pipeline_type"]
    message = str(refused.value)
    assert f"pipeline_type cannot change from {old!r} to {new!r}" in message
    assert f"Create a new project with `copier copy --data pipeline_type={new}`" in message
    assert tree_bytes(project) == before
    assert git(project, "status", "--porcelain", "--untracked-files=all") == ""


@pytest.mark.slow
@pytest.mark.cost(40)
def test_a_streaming_project_switches_its_destination_and_engine_to_a_fresh_render(
    template_repo: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    render(template_repo, project, STREAMING, vcs_ref=TEMPLATE_TAG)
    change = {"engine": "pandas", "destination": "postgres"}

    update(project, TEMPLATE_TAG, change)

    fresh = tree_bytes(render(template_repo, tmp_path / "fresh", {**STREAMING, **change}))
    updated = tree_bytes(project)
    assert sorted(updated) == sorted(fresh)
    assert [path for path in fresh if updated[path] != fresh[path]] == []
    assert_no_conflicts(project)


# Every value of each answer is left and reached at least once, starting from the defaults.
SWITCH_CYCLE = [
    {"engine": "pandas", "source": "s3", "destination": "postgres"},
    {"engine": "spark", "source": "postgres", "destination": "s3"},
    {"engine": "dask", "source": "local", "destination": "local"},
    {"engine": "polars"},
]


@pytest.mark.slow
@pytest.mark.cost(120)
def test_every_switch_of_an_untouched_project_gives_the_new_answers_fresh_render(
    template_repo: Path, tmp_path: Path
) -> None:
    project = create_project(template_repo, tmp_path / "project", TEMPLATE_TAG)
    answers: dict[str, str] = {}
    for number, change in enumerate(SWITCH_CYCLE):
        answers.update(change)
        update(project, TEMPLATE_TAG, change)

        fresh = render(template_repo, tmp_path / f"fresh-{number}", dict(answers))
        updated_tree, fresh_tree = tree_bytes(project), tree_bytes(fresh)
        assert sorted(updated_tree) == sorted(fresh_tree), change
        assert [path for path in fresh_tree if updated_tree[path] != fresh_tree[path]] == []
        assert_no_conflicts(project)
        commit_all(project, f"Switch to {change}")


@pytest.mark.slow
@pytest.mark.cost(45)
def test_a_switch_keeps_the_teams_edits_swaps_the_config_and_names_what_to_port(
    template_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = create_project(template_repo, tmp_path / "project", TEMPLATE_TAG)
    transforms = project / TRANSFORMS_PATH
    with transforms.open("a", encoding="utf-8") as edit:
        edit.write(USER_TRANSFORMS_CHANGE)
    teams_transforms = transforms.read_bytes()
    config = project / "pipeline.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'path = "data/sample/orders-{date}.csv"', 'path = "landing/orders-{date}.csv"'
        ),
        encoding="utf-8",
    )
    commit_all(project, "Team edits")
    capfd.readouterr()
    change = {"engine": "pandas", "destination": "s3"}

    with pytest.raises(TaskError):
        update(project, TEMPLATE_TAG, change)

    said = capfd.readouterr().err
    fresh = render(template_repo, tmp_path / "fresh", change)
    assert transforms.read_bytes() == teams_transforms
    ported = project / switch.PORT_FOLDER / TRANSFORMS_PATH
    assert ported.read_bytes() == (fresh / TRANSFORMS_PATH).read_bytes()
    assert f"{TRANSFORMS_PATH}: YOURS, written for the old answer: port it" in said
    assert "pipeline.toml [destination]: replaced by the new one" in said
    mine, theirs = (tomllib.loads(path.read_text()) for path in (config, fresh / "pipeline.toml"))
    assert mine["source"]["path"] == "landing/orders-{date}.csv"
    assert mine["destination"] == theirs["destination"]
    assert mine["engine"] == theirs["engine"]
    # Unedited team-owned files follow the switch.
    assert (project / "tests/test_transforms.py").read_bytes() == (
        fresh / "tests/test_transforms.py"
    ).read_bytes()
    assert_no_conflicts(project)

    commit_all(project, "Commit the switch before porting")
    refused = leftovers_check(project)
    assert refused.returncode == 1
    assert f"{switch.PORT_FOLDER}/{TRANSFORMS_PATH}" in refused.stdout
    git(project, "rm", "-r", "--quiet", switch.PORT_FOLDER)
    commit_all(project, "Ported")
    assert leftovers_check(project).returncode == 0
