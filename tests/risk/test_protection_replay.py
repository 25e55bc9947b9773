"""Protective stops in a replay: the whole graph over the golden test's recording, with the paper
broker's stops switched on, shows every position protected by a stop the paper venue holds, each one
cancelled once its position closed, and nothing else the graph emits changed by them but the orders."""

from __future__ import annotations

import json

import pytest

from streams.config import Config
from streams.risk.config import ProtectionConfig, RiskConfig
from streams.sources.recording import open_recording
from tests.test_graph_golden import build_recording, graph_lines, with_faults

PROTECTED = Config(risk=RiskConfig(protection=ProtectionConfig(paper=True)))


@pytest.fixture(scope="module")
def replay(tmp_path_factory) -> tuple[list[dict], list[dict]]:
    frames, steps = with_faults(list(open_recording(build_recording(tmp_path_factory.mktemp("r") / "rec")).frames()))
    plain = [json.loads(line) for line in graph_lines(frames, between=steps)]
    protected = [json.loads(line) for line in graph_lines(frames, config=PROTECTED, between=steps)]
    return plain, protected


def test_every_position_gets_a_stop_the_paper_venue_holds_and_closed_ones_lose_it(replay):
    _, protected = replay
    orders = [event for event in protected if event["kind"] == "orders"]
    stops = [o for o in orders if "trigger_price" in o]
    assert stops, "the replay opened positions, so it should place stops"
    updates = {}
    for order in orders:
        if "status" in order:
            updates.setdefault(order["client_id"], []).append(order["status"])
    for placed in stops:
        assert updates[placed["client_id"]][0] == "OPEN"  # the venue holds it, untriggered
    cancels = [o for o in orders if "trigger_price" not in o and "status" not in o
               and o.get("reason", "").startswith("protective stop")]
    assert cancels and {c["client_id"] for c in cancels} <= {s["client_id"] for s in stops}


def test_the_stops_change_nothing_before_the_first_one_is_placed(replay):
    plain, protected = replay
    first = next(i for i, event in enumerate(protected) if "trigger_price" in event)
    assert protected[:first] == plain[:first]
