"""Builds each pipeline type's Grafana dashboard with Grafana's grafana-foundation-sdk.

The dashboards are code: panels are built with the SDK's builders from the projects' metric
vocabulary (template/src/{{ package_name }}/vocabulary.py, read by path), and written into
the template as `.json.jinja` files whose one substitution is the project slug (dashboard
uid, title, and the `pipeline_name` every query selects). The SDK is a development
dependency of this repository only: rendered projects get plain JSON (docs/adr/0014).

Run `uv run python dashboards/build.py` after changing the vocabulary or a panel;
tests/test_dashboards.py fails while the committed files differ from what this builds.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType
from typing import Any

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    dashboard,
    logs,
    loki,
    prometheus,
    stat,
    table,
    tempo,
    timeseries,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as dashboard_models

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "template" / "src" / "{{ package_name }}"
DASHBOARDS = REPO / "template" / "observability" / "grafana" / "dashboards"
# What copier substitutes at render time: the slug, a DNS-1123 label, is safe in JSON and in a
# PromQL string. Nothing else in the dashboards may look like Jinja (tests check).
SLUG = "{{ project_slug }}"
OUTPUTS = {
    "batch": DASHBOARDS / "{% if batch_side %}pipeline.json{% endif %}.jinja",
    "streaming": DASHBOARDS / "{% if stream_unit %}pipeline.json{% endif %}.jinja",
}
# Datasources are variables, so the dashboard works in any Grafana (otel-lgtm, kube-
# prometheus-stack, Grafana Cloud) whatever the datasources' uids.
PROMETHEUS = dashboard_models.DataSourceRef(type_val="prometheus", uid="${prometheus}")
LOKI = dashboard_models.DataSourceRef(type_val="loki", uid="${loki}")
TEMPO = dashboard_models.DataSourceRef(type_val="tempo", uid="${tempo}")


def load_vocabulary() -> ModuleType:
    """The projects' metric vocabulary, loaded by path (it imports no OTel at module level)."""
    path = PACKAGE / "vocabulary.py"
    spec = spec_from_file_location("_dashboards_vocabulary", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


words = load_vocabulary()


def select(metric: Any, suffix: str = "", **labels: str) -> str:
    """`metric` (its Prometheus name plus `suffix`) for this pipeline, with more `labels`."""
    matchers = {words.prometheus_label(words.PIPELINE_NAME): SLUG, **labels}
    inner = ", ".join(f'{key}="{value}"' for key, value in matchers.items())
    return f"{metric.prometheus_name}{suffix}{{{inner}}}"


def label(attribute: str) -> str:
    """An attribute's Prometheus label."""
    return str(words.prometheus_label(attribute))


def query(expr: str, legend: str = "__auto", ref: str = "A") -> prometheus.Dataquery:
    """A Prometheus query; `__auto` legends name series by their labels (no `{{ }}`, which
    the template would take for Jinja)."""
    return (
        prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(PROMETHEUS)
    )


def series(title: str, unit: str, *queries: prometheus.Dataquery, bars: bool = False) -> Any:
    """A time series panel (options set: the SDK writes `null` otherwise and cannot read it
    back)."""
    panel = (
        timeseries.Panel()
        .title(title)
        .unit(unit)
        .height(8)
        .span(12)
        .datasource(PROMETHEUS)
        .legend(
            common.VizLegendOptions()
            .show_legend(True)
            .display_mode(common_models.LegendDisplayMode.LIST)
            .placement(common_models.LegendPlacement.BOTTOM)
        )
        .tooltip(common.VizTooltipOptions().mode(common_models.TooltipDisplayMode.MULTI))
    )
    if bars:
        panel = panel.draw_style(common_models.GraphDrawStyle.BARS).fill_opacity(60)
    for target in queries:
        panel = panel.with_target(target)
    return panel


def single(title: str, unit: str, target: prometheus.Dataquery, description: str) -> Any:
    """A stat panel showing the query's last value."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .height(5)
        .span(6)
        .datasource(PROMETHEUS)
        .graph_mode(common_models.BigValueGraphMode.NONE)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(target.instant())
    )


def ranking(title: str, unit: str, target: prometheus.Dataquery) -> Any:
    """A bar gauge of the query's series over the dashboard's time range."""
    return (
        bargauge.Panel()
        .title(title)
        .unit(unit)
        .height(8)
        .span(12)
        .datasource(PROMETHEUS)
        .display_mode(common_models.BarGaugeDisplayMode.BASIC)
        .orientation(common_models.VizOrientation.HORIZONTAL)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(target.instant())
    )


def traces() -> Any:
    """The pipeline's run spans in Tempo: each row opens the run's trace, whose logs Loki
    holds (the datasources' trace-to-logs links)."""
    traceql = f'{{ resource.service.name = "{SLUG}" && name = "pipeline.run" }}'
    return (
        table.Panel()
        .title("Runs in Tempo (open a trace, then its logs)")
        .height(8)
        .span(12)
        .datasource(TEMPO)
        .show_header(True)
        .with_target(
            tempo.TempoQuery().query_type("traceql").query(traceql).limit(20).datasource(TEMPO)
        )
    )


def log_lines() -> Any:
    """The pipeline's logs in Loki; each line's trace id links to its trace in Tempo."""
    return (
        logs.Panel()
        .title("Logs in Loki (trace ids link to Tempo)")
        .height(8)
        .span(12)
        .datasource(LOKI)
        .show_time(True)
        .enable_log_details(True)
        .sort_order(common_models.LogsSortOrder.DESCENDING)
        .with_target(loki.Dataquery().expr(f'{{service_name="{SLUG}"}}').datasource(LOKI))
    )


def freshness() -> Any:
    expr = f"time() - max({select(words.LAST_SUCCESS)})"
    return single(
        "Since the last success",
        "s",
        query(expr, "since last success"),
        "Time since the last successful run (for a stream: committed batch) finished",
    )


def failing() -> Any:
    expr = f"max({select(words.LAST_FAILURE)}) > bool max({select(words.LAST_SUCCESS)})"
    return single(
        "Failing now",
        "bool_yes_no",
        query(expr),
        "Yes while the newest run failed after the last success (alert PipelineRunFailed)",
    )


def records_per_partition() -> Any:
    by = f"sum by ({label(words.PARTITION)})"
    expr = f"{by} (last_over_time({select(words.RECORDS_WRITTEN)}[$__range]))"
    return ranking("Records written per partition", "short", query(expr))


def reason_codes() -> Any:
    expr = (
        f"topk(10, sum by ({label(words.REASON)}) "
        f"(last_over_time({select(words.VIOLATIONS)}[$__range])))"
    )
    return ranking("Top reason codes (rule violations)", "short", query(expr))


def errors_by_class() -> Any:
    expr = f"sum by ({label(words.ERROR_TYPE)}) (last_over_time({select(words.RUNS)}[$__range]))"
    return ranking(f"Runs by error class ({words.NO_ERROR}: no error)", "short", query(expr))


def records(title: str, window: Callable[[str], str], bars: bool = False) -> Any:
    """Records read, written, quarantined and filtered, each summed over `window`."""
    counters = (
        words.RECORDS_READ,
        words.RECORDS_WRITTEN,
        words.RECORDS_QUARANTINED,
        words.RECORDS_FILTERED,
    )
    queries = [
        query(f"sum({window(select(metric))})", metric.name.rsplit(".", 1)[-1], ref)
        for metric, ref in zip(counters, "ABCD", strict=True)
    ]
    return series(title, "short", *queries, bars=bars)


def stage_quantile(quantile: float, window: Callable[[str], str]) -> Any:
    """One quantile of each stage's duration: one panel per quantile, since `__auto` legends
    name the stage only."""
    by = f"sum by ({label(words.STAGE)}, le)"
    bucket = select(words.STAGE_DURATION, "_bucket")
    return series(
        f"Stage duration p{quantile * 100:g}",
        "s",
        query(f"histogram_quantile({quantile}, {by} ({window(bucket)}))"),
    )


def batch_dashboard() -> Any:
    """Batch: each run is a process that pushes its metrics once, at exit, as its own series
    (its `service.instance.id`): panels read each run's last values, not rates."""

    def per_interval(selector: str) -> str:
        return f"last_over_time({selector}[$__interval])"

    status = label(words.RUN_STATUS)
    quarantined = f"sum({per_interval(select(words.RECORDS_QUARANTINED))})"
    read = f"sum({per_interval(select(words.RECORDS_READ))})"
    return (
        base("batch")
        .with_row(dashboard.Row("Freshness and outcomes"))
        .with_panel(freshness())
        .with_panel(failing())
        .with_panel(
            single(
                "Runs in range",
                "short",
                query(f"sum(last_over_time({select(words.RUNS)}[$__range]))"),
                "Runs finished in the time range, whatever their outcome",
            )
        )
        .with_panel(
            single(
                "Quarantine ratio in range",
                "percentunit",
                query(
                    f"sum(last_over_time({select(words.RECORDS_QUARANTINED)}[$__range])) / "
                    f"sum(last_over_time({select(words.RECORDS_READ)}[$__range]))"
                ),
                "Records quarantined / records read, over the runs in the time range",
            )
        )
        .with_panel(
            series(
                "Runs by outcome",
                "short",
                query(f"sum by ({status}) ({per_interval(select(words.RUNS))})"),
                bars=True,
            )
        )
        .with_panel(
            series(
                "Run duration",
                "s",
                query(
                    f"max by ({status}) ({per_interval(select(words.RUN_DURATION, '_sum'))})"
                ).exemplar(True),
                bars=True,
            )
        )
        .with_panel(errors_by_class())
        .with_row(dashboard.Row("Records"))
        .with_panel(records("Records per run", per_interval, bars=True))
        .with_panel(
            series(
                "Quarantine ratio per run",
                "percentunit",
                query(f"{quarantined} / {read}", "quarantined / read"),
            )
        )
        .with_panel(records_per_partition())
        .with_panel(reason_codes())
        .with_row(dashboard.Row("Stages"))
        .with_panel(stage_quantile(0.5, per_interval))
        .with_panel(stage_quantile(0.95, per_interval))
        .with_row(dashboard.Row("Traces and logs"))
        .with_panel(traces())
        .with_panel(log_lines())
    )


def stream_dashboard() -> Any:
    """Streaming: one long-lived consumer; each micro-batch is a run. Panels use rates."""

    def rate(selector: str) -> str:
        return f"rate({selector}[$__rate_interval])"

    status = label(words.RUN_STATUS)
    latency = f"sum by (le) ({rate(select(words.STREAM_BATCH_DURATION, '_bucket'))})"
    return (
        base("streaming")
        .with_row(dashboard.Row("Consumer"))
        .with_panel(freshness())
        .with_panel(failing())
        .with_panel(
            single(
                "Total lag",
                "short",
                query(f"sum({select(words.STREAM_LAG)})"),
                "Records behind the end, all owned partitions (or shards)",
            )
        )
        .with_panel(
            single(
                "Dead letters in range",
                "short",
                query(f"sum(increase({select(words.DEAD_LETTERS)}[$__range]))"),
                "Records sent to the dead-letter destination in the time range",
            )
        )
        .with_panel(
            single(
                "Quarantine ratio in range",
                "percentunit",
                query(
                    f"sum(increase({select(words.RECORDS_QUARANTINED)}[$__range])) / "
                    f"sum(increase({select(words.RECORDS_READ)}[$__range]))"
                ),
                "Records dead-lettered / records read, in the time range",
            )
        )
        .with_panel(
            series(
                "Consumer lag per partition",
                "short",
                query(f"max by ({label(words.STREAM_PARTITION)}) ({select(words.STREAM_LAG)})"),
            )
        )
        .with_panel(
            series(
                "Batch latency (p50, p95, p99)",
                "s",
                query(f"histogram_quantile(0.5, {latency})", "p50", "A"),
                query(f"histogram_quantile(0.95, {latency})", "p95", "B"),
                query(f"histogram_quantile(0.99, {latency})", "p99", "C"),
            )
        )
        .with_panel(
            series(
                "Commits per second, by outcome",
                "ops",
                query(f"sum by ({status}) ({rate(select(words.RUNS))})"),
            )
        )
        .with_panel(
            series(
                "Dead letters per second",
                "short",
                query(f"sum({rate(select(words.DEAD_LETTERS))})", "dead letters"),
            )
        )
        .with_row(dashboard.Row("Records"))
        .with_panel(records("Records per second", rate))
        .with_panel(reason_codes())
        .with_panel(errors_by_class())
        .with_panel(
            series(
                "Micro-batch run duration p95, by outcome",
                "s",
                query(
                    f"histogram_quantile(0.95, sum by ({status}, le) "
                    f"({rate(select(words.RUN_DURATION, '_bucket'))}))"
                ),
            )
        )
        .with_panel(stage_quantile(0.5, rate))
        .with_panel(stage_quantile(0.95, rate))
        .with_row(dashboard.Row("Traces and logs"))
        .with_panel(traces())
        .with_panel(log_lines())
    )


def base(pipeline_type: str) -> dashboard.Dashboard:
    """The dashboard's frame: uid and title from the slug, datasource variables, refresh."""
    return (
        dashboard.Dashboard(f"Pipeline {SLUG}")
        .uid(f"pipeline-{SLUG}")
        .description(f"The {pipeline_type} pipeline {SLUG}: generated, see docs/metrics.md")
        .tags(["data-pipeline", pipeline_type, SLUG])
        .refresh("1m")
        .time("now-24h" if pipeline_type == "batch" else "now-1h", "now")
        .timezone("utc")
        .editable()
        .with_variable(datasource("prometheus", "Metrics"))
        .with_variable(datasource("loki", "Logs"))
        .with_variable(datasource("tempo", "Traces"))
    )


def datasource(kind: str, title: str) -> dashboard.DatasourceVariable:
    """A datasource variable named after the datasource type."""
    return dashboard.DatasourceVariable(kind).label(title).type(kind)


BUILDERS = {"batch": batch_dashboard, "streaming": stream_dashboard}


def dashboard_json(pipeline_type: str) -> str:
    """The dashboard of `pipeline_type` as the template ships it (slug still a placeholder)."""
    built = BUILDERS[pipeline_type]().build()
    text = json.dumps(built, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
    if '"options": null' in text:
        raise ValueError(f"a {pipeline_type} panel has no options: the SDK cannot read it back")
    leftover = text.replace(SLUG, "")
    if any(token in leftover for token in ("{{", "}}", "{%", "%}", "{#")):
        raise ValueError(f"the {pipeline_type} dashboard holds text the template takes for Jinja")
    return text


def main() -> None:
    """Write every dashboard into the template."""
    for pipeline_type, path in OUTPUTS.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dashboard_json(pipeline_type), encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
