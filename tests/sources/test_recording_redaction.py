"""What a recording keeps of a flow: headers by an allow-list (a header nobody foresaw is redacted, not
stored), query parameters whose names say they are credentials redacted in the flow and in the journal's
WebSocket path, everything a replay needs untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.sources.recording import open_recording
from streams.sources.recording_writer import RecordingWriter, make_flow, redacted, redacted_path

SECRET = "s3cret-7f1d"
URL = "https://indexer.dydx.trade/v4/candles/perpetualMarkets/BTC-USD?resolution=1MIN&limit=100"


def flow_with(url: str = URL, **request_headers: str):
    flow = make_flow(url, "GET", 200, b"{}", 1.0, 1.1, {"content-type": "application/json", "retry-after": "2",
                                                      "x-session-token": SECRET, "set-cookie": f"s={SECRET}"})
    for name, value in request_headers.items():
        flow.request.headers[name.replace("_", "-")] = value
    return flow


def test_headers_outside_the_allow_list_are_redacted_whatever_their_name():
    flow = flow_with(X_Custom_Secret=SECRET, Authorization=f"Bearer {SECRET}", User_Agent="dydx-v4-client")
    copy = redacted(flow)
    assert copy.request.headers["x-custom-secret"] == copy.request.headers["authorization"] == "REDACTED"
    assert copy.response.headers["x-session-token"] == copy.response.headers["set-cookie"] == "REDACTED"
    assert copy.request.headers["user-agent"] == "dydx-v4-client" and copy.request.headers["host"]
    assert (copy.response.headers["content-type"], copy.response.headers["retry-after"]) == ("application/json", "2")
    assert flow.request.headers["x-custom-secret"] == SECRET  # the live flow is untouched


@pytest.mark.parametrize(("path", "kept"), [
    (f"/v4/perpetualMarkets?apiKey={SECRET}", "/v4/perpetualMarkets?apiKey=REDACTED"),
    (f"/v4/fills?address=dydx1abc&access_token={SECRET}&limit=5",
     "/v4/fills?address=dydx1abc&access_token=REDACTED&limit=5"),
    (f"/v4/ws?signature={SECRET}&x=1", "/v4/ws?signature=REDACTED&x=1"),
    (f"/v4/ws?PASSWORD={SECRET}", "/v4/ws?PASSWORD=REDACTED"),
    ("/v4/candles/perpetualMarkets/BTC-USD?resolution=1MIN&limit=100&fromISO=2024-07-26T00%3A00%3A00.000Z",
     "/v4/candles/perpetualMarkets/BTC-USD?resolution=1MIN&limit=100&fromISO=2024-07-26T00%3A00%3A00.000Z"),
    ("/v4/perpetualMarkets", "/v4/perpetualMarkets"),
])
def test_query_parameters_named_like_credentials_are_redacted_and_the_rest_kept_as_sent(path, kept):
    assert redacted_path(path) == kept
    assert redacted(flow_with("https://indexer.dydx.trade" + path)).request.path == kept


def test_no_secret_of_a_request_reaches_either_file(tmp_path: Path):
    writer = RecordingWriter(tmp_path / "rec")
    writer.add_flow(flow_with(f"https://indexer.dydx.trade/v4/perpetualMarkets?apiKey={SECRET}",
                              X_Custom_Secret=SECRET))
    writer.ws_open(1, 2.0, f"/v4/ws?apiKey={SECRET}")
    writer.ws_close(1, 3.0, 1000, True)
    writer.close(network="mainnet", upstream="https://indexer.dydx.trade", provenance={})
    for file in (tmp_path / "rec").iterdir():
        assert SECRET.encode() not in file.read_bytes(), file.name
    entries = list(open_recording(tmp_path / "rec").entries())
    assert [getattr(entry, "path", None) for entry in entries] == [
        "/v4/perpetualMarkets?apiKey=REDACTED", "/v4/ws?apiKey=REDACTED", None]
