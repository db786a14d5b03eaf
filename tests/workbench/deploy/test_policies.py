"""The NetworkPolicies admit exactly the composition's edges (clients -> router -> each served
stage, and the merger when there is one), and only the services a composition uses exist."""

from __future__ import annotations

import pytest

from router_service import read_composition
from tests.workbench.deploy.conftest import CASES
from tests.workbench.deploy.rendered import (
    COMPOSITIONS,
    Document,
    by_name,
    matches,
    of_kind,
    pods,
    tutti_pods,
)
from workbench.deploy import MERGER, ROUTER, ROUTER_PORT, STAGE_PORT, resource_name


def _allowed(documents: list[Document]) -> set[tuple[str, str, int]]:
    """(source, target, port) for every ingress that a NetworkPolicy admits to a Tutti pod.

    `source` is a Deployment name, or "*" for anyone (clients).
    """
    templates = tutti_pods(documents)
    edges: set[tuple[str, str, int]] = set()
    for policy in of_kind(documents, "NetworkPolicy"):
        spec = policy["spec"]
        targets = [
            n for n, p in templates.items() if matches(spec["podSelector"], p["metadata"]["labels"])
        ]
        assert targets or policy["metadata"]["name"] == "tutti-default-deny", policy["metadata"]
        for rule in spec.get("ingress", []):
            ports = [p["port"] for p in rule.get("ports", [])]
            assert ports, f"{policy['metadata']['name']} admits every port"
            sources: list[str] = []
            for peer in rule.get("from", [{}]) or [{}]:
                assert set(peer) <= {"podSelector"}, policy["metadata"]["name"]
                if "podSelector" not in peer:
                    sources.append("*")
                else:
                    sources += [
                        n
                        for n, p in pods(documents).items()
                        if matches(peer["podSelector"], p["metadata"]["labels"])
                    ]
            edges |= {(s, t, port) for s in sources for t in targets for port in ports}
    return edges


@pytest.mark.parametrize("case", CASES)
def test_network_policies_admit_exactly_the_composition_edges(
    rendered: dict[str, list[Document]], case: str
) -> None:
    documents = rendered[case]
    templates = tutti_pods(documents)
    # A default deny covers every Tutti pod, so only the listed edges get through.
    deny = by_name(documents, "NetworkPolicy")["tutti-default-deny"]["spec"]
    assert "ingress" not in deny and deny["policyTypes"] == ["Ingress"]
    assert all(matches(deny["podSelector"], p["metadata"]["labels"]) for p in templates.values())
    expected = {("*", ROUTER, ROUTER_PORT)}
    services = {ROUTER}
    if case not in ("dev", "prod"):
        draft = read_composition(COMPOSITIONS[case.rpartition("-")[0]])
        for stage, spec in draft.stages.items():
            name = MERGER if spec.is_merger else resource_name(stage)
            if spec.is_merger or spec.serve is not None:
                expected.add((ROUTER, name, STAGE_PORT))
                services.add(name)
    assert _allowed(documents) == expected
    assert set(templates) == services


@pytest.mark.parametrize("case", CASES)
def test_no_merger_without_a_merger_stage(rendered: dict[str, list[Document]], case: str) -> None:
    """The quickstart and the user-typed composition fan out nowhere: no merger Deployment,
    Service, NetworkPolicy, autoscaler or disruption budget; the desk has one."""
    wanted = case.startswith("desk")
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        present = MERGER in by_name(rendered[case], kind)
        assert present == (wanted and (kind in ("Deployment", "Service") or "prod" in case)), kind
    assert (f"{MERGER}-ingress" in by_name(rendered[case], "NetworkPolicy")) == wanted
