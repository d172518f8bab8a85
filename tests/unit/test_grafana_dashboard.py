"""deploy/grafana/vidgate.json, the Grafana dashboard of ``/metrics``: every query names only
metrics that vidgate's API exposes (with the suffixes Prometheus gives each type), every metric
has a panel, and every panel reads the dashboard's Prometheus data source."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vidgate.api.metrics import ApiMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "vidgate.json"
# The sample names Prometheus's text format gives each type of metric family.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
}
METRIC = re.compile(r"\b(vidgate_[a-z0-9_]+)\b")


def _families() -> dict[str, str]:
    """Each metric family the API defines: name -> type."""
    return {family.name: family.type for family in ApiMetrics().registry.collect()}


def _exposed() -> set[str]:
    return {name + suffix for name, kind in _families().items() for suffix in SUFFIXES[kind]}


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def _queries() -> list[str]:
    dashboard = _dashboard()
    queries = [t["expr"] for p in _panels(dashboard["panels"]) for t in p.get("targets", [])]
    queries += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    return queries


def test_the_queries_name_only_metrics_the_api_exposes() -> None:
    queries = _queries()
    assert len(queries) > 10
    named = {name for query in queries for name in METRIC.findall(query)}
    unknown = named - _exposed()
    assert not unknown, f"the dashboard queries metrics vidgate does not expose: {sorted(unknown)}"


def test_every_metric_has_a_panel() -> None:
    named = {name for query in _queries() for name in METRIC.findall(query)}
    unused = {
        family
        for family, kind in _families().items()
        if not any(family + suffix in named for suffix in SUFFIXES[kind])
    }
    assert not unused, f"metrics without a panel: {sorted(unused)}"


def test_every_panel_reads_the_chosen_data_source_and_scrape_job() -> None:
    dashboard = _dashboard()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    panels = [p for p in _panels(dashboard["panels"]) if p["type"] != "row"]
    titles = [p["title"] for p in panels]
    assert len(set(titles)) == len(titles)
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            # Every selector keeps to the chosen scrape jobs.
            selectors = re.findall(r"vidgate_[a-z0-9_]+(\{[^}]*\})?", target["expr"])
            assert selectors and all('job=~"$job"' in s for s in selectors), target["expr"]
