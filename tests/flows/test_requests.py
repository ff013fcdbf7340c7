"""Flow parameters typed from the parameter registry (what Prefect's run forms show)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flows.backtest import BacktestRequest, SweepRequest, backtest_flow, sweep_flow
from flows.pipeline import PipelineParams
from transforms.backtest.params import DOCS, NAMES


def test_every_parameter_is_a_typed_described_field_of_the_run_forms() -> None:
    from prefect.utilities.callables import parameter_schema

    for fn in (backtest_flow.fn, sweep_flow.fn):
        schema = parameter_schema(fn).model_dump()
        fields = schema["definitions"]["ParamValues"]["properties"]
        assert list(fields) == list(NAMES)
        kinds = {name: [t.get("type") for t in f["anyOf"]] for name, f in fields.items()}
        assert kinds["lots"] == ["integer", "null"]
        assert kinds["hedge_ratio"] == ["number", "null"]
        assert kinds["controller"] == ["boolean", "null"]
        assert fields["start_date"]["anyOf"][0] == {"format": "date", "type": "string"}
        assert DOCS["hedge_ratio"].meaning in fields["hedge_ratio"]["description"]
        assert "[0, 10]" in fields["hedge_ratio"]["description"]  # its domain


def test_overrides_are_parsed_by_the_field_and_unknown_names_refused() -> None:
    request = SweepRequest(values={"lots": "10", "hedge_ratio": 0, "end_date": None})
    assert request.values.given() == {"hedge_ratio": 0.0, "lots": 10}
    assert PipelineParams(books=[{}, {"controller": "true"}]).books[1].given() == {
        "controller": True
    }
    with pytest.raises(ValidationError, match=r"unknown parameter 'hedge_rati' \(did you mean"):
        BacktestRequest(values={"hedge_rati": 0.2})
    with pytest.raises(
        ValidationError, match=r"parameter lots takes a value of type int, got 1\.5"
    ):
        BacktestRequest(values={"lots": 1.5})
    with pytest.raises(ValidationError, match="parameter controller takes a value of type bool"):
        BacktestRequest(values={"controller": 1.0})
