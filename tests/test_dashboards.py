"""The Grafana dashboards: built with Grafana's grafana-foundation-sdk (dashboards/build.py),
committed into the template as generated, and, once rendered, read back through the SDK's
own dashboard model (Grafana's schema): nothing it does not know, no panel without options,
and every query on a metric the vocabulary defines for that pipeline type."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from extension_modules import load_module
from template_fixtures import REPO_ROOT, render

build = load_module(REPO_ROOT / "dashboards" / "build.py")


@pytest.fixture(scope="module", autouse=True)
def typed_panels() -> None:
    """Decode panels' options, field configs and queries through their plugins' typed
    models (without this the SDK keeps them as raw dicts)."""
    from grafana_foundation_sdk.cog.plugins import register_default_plugins

    register_default_plugins()


PIPELINE_TYPES = {"batch": {}, "streaming": {"pipeline_type": "streaming"}}
SLUG = "orders-pipeline"


@pytest.mark.parametrize("pipeline_type", sorted(PIPELINE_TYPES))
def test_the_committed_dashboard_is_what_the_builder_builds(pipeline_type: str) -> None:
    committed = build.OUTPUTS[pipeline_type].read_text(encoding="utf-8")
    assert committed == build.dashboard_json(pipeline_type), (
        "regenerate: uv run python dashboards/build.py"
    )


@pytest.fixture(scope="module", params=sorted(PIPELINE_TYPES))
def rendered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any]]:
    """A rendered project's dashboard, parsed, with its pipeline type."""
    pipeline_type: str = request.param
    root = render(
        REPO_ROOT,
        tmp_path_factory.mktemp(pipeline_type) / "project",
        PIPELINE_TYPES[pipeline_type],
        vcs_ref=None,
        skip_tasks=True,
    )
    path = root / "observability" / "grafana" / "dashboards" / "pipeline.json"
    return pipeline_type, json.loads(path.read_text(encoding="utf-8"))


def prometheus_queries(dashboard: dict[str, Any]) -> list[str]:
    """Every Prometheus expression of every panel."""
    return [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if target.get("datasource", {}).get("type") == "prometheus"
    ]


def missing_from(original: Any, decoded: Any, path: str = "$") -> list[str]:
    """What of `original` the decoded model lost or changed (it may add defaults)."""
    if isinstance(original, dict):
        if not isinstance(decoded, dict):
            return [path]
        return [
            lost
            for key, value in original.items()
            for lost in (
                missing_from(value, decoded[key], f"{path}.{key}")
                if key in decoded
                else [path + "." + key]
            )
        ]
    if isinstance(original, list):
        if not isinstance(decoded, list) or len(decoded) != len(original):
            return [path]
        return [
            lost
            for index, (value, again) in enumerate(zip(original, decoded, strict=True))
            for lost in missing_from(value, again, f"{path}[{index}]")
        ]
    return [] if original == decoded else [f"{path}: {original!r} became {decoded!r}"]


def test_the_sdk_reads_every_field_of_the_rendered_dashboard(
    rendered: tuple[str, dict[str, Any]],
) -> None:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    _, data = rendered
    model = Dashboard.from_json(data)
    # A field Grafana's schema does not know would be dropped by the typed models.
    assert missing_from(data, json.loads(json.dumps(model, cls=JSONEncoder))) == []
    assert model.uid == f"pipeline-{SLUG}" and model.title == f"Pipeline {SLUG}"
    panels = [panel for panel in data["panels"] if panel["type"] != "row"]
    assert panels and all(panel["options"] is not None for panel in panels)
    assert all(panel["datasource"]["uid"].startswith("${") for panel in panels)


def test_a_panel_without_options_is_what_the_sdk_cannot_read(
    rendered: tuple[str, dict[str, Any]],
) -> None:
    # The quirk the builder guards against: the SDK writes `"options": null` for a panel
    # whose options were never set, then fails to read it.
    from grafana_foundation_sdk.models.dashboard import Dashboard

    _, data = rendered
    broken = json.loads(json.dumps(data))
    next(panel for panel in broken["panels"] if panel["type"] == "timeseries")["options"] = None
    with pytest.raises((AttributeError, TypeError)):
        Dashboard.from_json(broken)


def test_every_query_selects_this_pipeline_and_a_metric_it_emits(
    rendered: tuple[str, dict[str, Any]],
) -> None:
    pipeline_type, data = rendered
    emitted = build.words.emitted(streaming=pipeline_type == "streaming")
    names = {metric.prometheus_name for metric in emitted}
    series = names | {f"{name}_{part}" for name in names for part in ("bucket", "sum", "count")}
    queries = prometheus_queries(data)
    assert len(queries) >= 10
    used: set[str] = set()
    for expr in queries:
        selected = re.findall(r"\b(pipeline_[a-z_]+)\{([^}]*)\}", expr)
        assert selected, expr
        for name, matchers in selected:
            assert name in series, expr
            assert f'pipeline_name="{SLUG}"' in matchers, expr
            used.add(name)
    # Every metric the pipeline emits is on the dashboard.
    assert {name for name in names if not any(u.startswith(name) for u in used)} == set()


def test_traces_and_logs_panels_select_this_pipelines_service(
    rendered: tuple[str, dict[str, Any]],
) -> None:
    _, data = rendered
    by_type = {
        target["datasource"]["type"]: target
        for panel in data["panels"]
        for target in panel.get("targets", [])
    }
    assert f'resource.service.name = "{SLUG}"' in by_type["tempo"]["query"]
    assert by_type["loki"]["expr"] == f'{{service_name="{SLUG}"}}'


def test_a_field_grafanas_schema_does_not_know_is_reported(
    rendered: tuple[str, dict[str, Any]],
) -> None:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    _, data = rendered
    typo = json.loads(json.dumps(data))
    typo["panels"][1]["fieldConfig"]["defaults"]["unitt"] = "s"
    decoded = json.loads(json.dumps(Dashboard.from_json(typo), cls=JSONEncoder))
    assert missing_from(typo, decoded) == ["$.panels[1].fieldConfig.defaults.unitt"]
