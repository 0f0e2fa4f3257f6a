"""``make experiments`` rebuilds every result the chapters read, follow-up commands included."""

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import run_experiments  # noqa: E402


def test_each_script_runs_before_its_follow_ups_and_a_failure_stops_the_runner(monkeypatch):
    calls = []

    def call(argv, **kwargs):
        calls.append([Path(argv[1]).stem, *argv[2:]])
        return 1 if argv[2:] == ["longer"] else 0

    monkeypatch.setattr(run_experiments.subprocess, "call", call)
    assert run_experiments.main(["ch07_comparison", "ch07_dbn"]) == 1
    assert calls == [["ch07_comparison"], ["ch07_comparison", "seeds"], ["ch07_comparison", "longer"]]


def test_every_follow_up_is_a_command_its_script_accepts():
    for stem, follow_ups in run_experiments.FOLLOW_UPS.items():
        source = (run_experiments.EXPERIMENTS / f"{stem}.py").read_text()
        accepted = [ast.literal_eval(a) for a in re.findall(r"sys\.argv\[1:\] == (\[.*?\])", source)]
        for args in follow_ups:
            assert args in accepted, (stem, args, accepted)
