"""bench/full_path/cli.py: the command line."""

from __future__ import annotations

import pytest

from bench.full_path.cli import parse_app_env, parse_args, parse_ladder


def test_app_env_and_ladder_parsing() -> None:
    assert parse_app_env(["PRODUCT_A=1", "PRODUCT_B=x=y", "C="]) == {
        "PRODUCT_A": "1",
        "PRODUCT_B": "x=y",
        "C": "",
    }
    for bad in (["NOVALUE"], ["=1"], ["BAD KEY=1"]):
        with pytest.raises(ValueError):
            parse_app_env(bad)
    assert parse_ladder("200, 400,600") == [200, 400, 600]
    with pytest.raises(ValueError):
        parse_ladder("200,-1")


def test_quick_shortens_probes_and_runs() -> None:
    quick = parse_args(["--quick", "--app-env", "PRODUCT_GRPC_WORKERS=16"])
    assert (quick.probe_seconds, quick.duration) == (10, 20)
    assert quick.app_env_map == {"PRODUCT_GRPC_WORKERS": "16"}
    full = parse_args([])
    assert (full.probe_seconds, full.duration, full.scenario) == (15, 60, "all")
    with pytest.raises(SystemExit):
        parse_args(["--scenario", "hot"])  # without steady it needs --rate
