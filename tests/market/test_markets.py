"""Per-market state from recorded v4_markets frames: the real snapshot, real `trading` patches and oracle
prices merged into it, REST `/v4/perpetualMarkets` seeding it; a `MarketInfo` per change.
Frames -> parse() -> markets() -> assertions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.market.markets import markets, seconds_to_funding
from streams.market.state import MarketInfo
from tests.support.builders import load_sample, rest_frame, run_frames, ws_frame

T0 = 1_723_915_476.33  # 2024-08-17 17:24:36.330 UTC, the real JASMY-USD oracle update


@pytest.fixture(scope="module")
def snapshot(samples_dir) -> dict:
    return load_sample(samples_dir, "nautilus-2024/ws/v4_markets_subscribed.json")


def sample(samples_dir, name: str) -> dict:
    return load_sample(samples_dir, f"nautilus-2024/ws/{name}")


def last_by_market(out: list[MarketInfo]) -> dict[str, MarketInfo]:
    return {info.market: info for info in out}


def test_the_real_snapshot_gives_every_market_with_its_parameters(snapshot):
    out = run_frames([ws_frame(snapshot, T0)], markets())

    assert len(out) == len(snapshot["contents"]["markets"]) == 98
    btc = last_by_market(out)["BTC-USD"]
    assert btc == MarketInfo(
        t=T0, market="BTC-USD", status="ACTIVE", market_type="CROSS", oracle_price=Decimal("59655.70557"),
        next_funding_rate=Decimal("0"), initial_margin_fraction=Decimal("0.05"),
        maintenance_margin_fraction=Decimal("0.03"), open_interest=Decimal("49.8997"),
        open_interest_lower_cap=Decimal("0"), open_interest_upper_cap=Decimal("0"), tick_size=Decimal("1"),
        step_size=Decimal("0.0001"), atomic_resolution=-10, quantum_conversion_exponent=-9,
        step_base_quantums=1_000_000, subticks_per_tick=100_000, clob_pair_id="0",
        price_change_24h=Decimal("1153.03443"), volume_24h=Decimal("39461.8544"), oracle_t=T0)
    aave = last_by_market(out)["AAVE-USD"]
    assert (aave.initial_margin_fraction, aave.open_interest_lower_cap, aave.open_interest_upper_cap) == (
        Decimal("0.2"), Decimal("5000000"), Decimal("10000000"))


def test_real_oracle_prices_move_the_price_and_its_time(snapshot, samples_dir):
    jasmy = sample(samples_dir, "v4_markets_channel_data.json")
    ftm = sample(samples_dir, "v4_markets_oracle_price.json")
    frames = [ws_frame(snapshot, T0 - 60), ws_frame(jasmy, T0, connection_id=snapshot["connection_id"]),
              ws_frame(ftm, T0 + 1), ws_frame(ftm, T0 + 2)]  # the same price again changes nothing

    out = run_frames(frames, markets())[98:]

    assert [(info.market, info.t, info.oracle_price, info.oracle_t) for info in out] == [
        ("JASMY-USD", T0, Decimal("0.02069413882"), T0),
        ("FTM-USD", T0 + 1, Decimal("0.3866273177"), T0 + 1)]
    before = {m: p for m, p in snapshot["contents"]["markets"].items()}["JASMY-USD"]
    assert out[0].initial_margin_fraction == Decimal(before["initialMarginFraction"])


def test_a_trading_patch_changes_only_what_it_names(snapshot, samples_dir):
    cro = sample(samples_dir, "v4_markets_trading_data.json")  # {"CRO-USD": {"baseOpenInterest", "id"}}
    patch = {**cro["contents"]["trading"]["CRO-USD"], "openInterest": "5100"}
    with_oi = {**cro, "message_id": 5, "contents": {"trading": {"CRO-USD": patch}}}
    frames = [ws_frame(snapshot, T0), ws_frame(cro, T0 + 1), ws_frame(with_oi, T0 + 2)]

    out = run_frames(frames, markets())[98:]

    [info] = out  # baseOpenInterest is not shown, so the first patch changed nothing shown
    old = last_by_market(run_frames([ws_frame(snapshot, T0)], markets()))["CRO-USD"]
    assert info.open_interest == Decimal("5100") and info.t == T0 + 2
    assert info == MarketInfo(**{**{f: getattr(old, f) for f in old.__struct_fields__},
                                 "t": T0 + 2, "open_interest": Decimal("5100")})


def test_a_real_status_change_to_final_settlement(snapshot, samples_dir):
    ftm = sample(samples_dir, "v4_markets_cross.json")

    [info] = run_frames([ws_frame(snapshot, T0), ws_frame(ftm, T0 + 1)], markets())[98:]

    assert (info.market, info.status) == ("FTM-USD", "FINAL_SETTLEMENT")
    assert info.open_interest == Decimal("564710")
    assert info.oracle_price == Decimal("0.3857520714")  # kept from the snapshot


def test_a_market_listed_later_arrives_whole_in_a_trading_update(samples_dir):
    try_usd = sample(samples_dir, "v4_markets_channel_data_v8.json")  # TRY-USD, ISOLATED, with caps

    [info] = run_frames([ws_frame(try_usd, T0)], markets())

    assert (info.market, info.market_type, info.status) == ("TRY-USD", "ISOLATED", "ACTIVE")
    assert info.initial_margin_fraction == Decimal("0.01")
    assert info.maintenance_margin_fraction == Decimal("0.005")
    assert info.open_interest_lower_cap == Decimal("500000")
    assert info.open_interest_upper_cap == Decimal("1000000")
    assert (info.tick_size, info.step_size) == (Decimal("0.00001"), Decimal("100"))
    assert info.atomic_resolution == -4
    assert info.oracle_price is None and info.oracle_t is None


def test_a_patch_or_price_for_a_market_never_seen_whole_waits_for_it(snapshot, samples_dir):
    cro = sample(samples_dir, "v4_markets_trading_data.json")
    ftm = sample(samples_dir, "v4_markets_oracle_price.json")

    out = run_frames([ws_frame(cro, T0), ws_frame(ftm, T0 + 1), ws_frame(snapshot, T0 + 2)], markets())

    assert len(out) == 98
    ftm_info = last_by_market(out)["FTM-USD"]
    assert ftm_info.oracle_price == Decimal("0.3857520714") and ftm_info.oracle_t == T0 + 2


def test_rest_seeds_the_markets_and_the_snapshot_then_changes_only_what_differs(samples_dir):
    rest = load_sample(samples_dir, "nautilus-2024/rest/list_perpetual_markets.json")  # 125 mainnet markets
    btc_only = load_sample(samples_dir, "nautilus-2024/rest/list_perpetual_markets_v8.json")
    same_again = {"type": "subscribed", "connection_id": "c", "message_id": 1, "channel": "v4_markets",
                  "contents": rest}

    out = run_frames([rest_frame(rest, "/v4/perpetualMarkets", T0), ws_frame(same_again, T0 + 1),
                      rest_frame(btc_only, "/v4/perpetualMarkets?ticker=BTC-USD", T0 + 2)], markets())

    assert len(out) == 126
    eth = last_by_market(out[:125])["ETH-USD"]
    assert eth.next_funding_rate == Decimal("0.00001147560975609756") and eth.tick_size == Decimal("0.1")
    btc = out[-1]
    assert (btc.market, btc.t, btc.initial_margin_fraction, btc.oracle_price, btc.oracle_t) == (
        "BTC-USD", T0 + 2, Decimal("0.02"), Decimal("104952.44975"), T0 + 2)


def test_a_market_without_an_oracle_price_has_none(samples_dir):
    rest = load_sample(samples_dir, "nautilus-2024/rest/list_perpetual_markets_empty_oracle_price.json")

    out = last_by_market(run_frames([rest_frame(rest, "/v4/perpetualMarkets", T0)], markets()))

    assert len(out) == 101
    buffi = out["BUFFI,UNISWAP_V3,0X4C1B1302220D7DE5C22B495E78B72F2DD2457D45-USD"]
    assert buffi.oracle_price is None and buffi.oracle_t is None and buffi.status
    assert out["BTC-USD"].oracle_t == T0


def test_a_batched_frame_gives_one_info_per_market_with_the_final_state(snapshot, samples_dir):
    jasmy = sample(samples_dir, "v4_markets_channel_data.json")
    contents = jasmy["contents"]
    oracle = {**contents["oraclePrices"]["JASMY-USD"], "oraclePrice": "0.0207"}
    second = {"oraclePrices": {"JASMY-USD": oracle},
              "trading": {"JASMY-USD": {"nextFundingRate": "0.0000125"}}}
    batch = {**jasmy, "type": "channel_batch_data", "contents": [contents, second]}
    book = sample(samples_dir, "v4_orderbook.json")

    frames = [ws_frame(snapshot, T0), ws_frame(batch, T0 + 1), ws_frame(book, T0 + 2)]

    [info] = run_frames(frames, markets())[98:]

    assert (info.market, info.oracle_price, info.next_funding_rate) == (
        "JASMY-USD", Decimal("0.0207"), Decimal("0.0000125"))


def test_funding_is_paid_every_whole_hour():
    assert seconds_to_funding(T0) == pytest.approx(36 * 60 - 36.33)  # 17:24:36.330 -> 18:00
    assert seconds_to_funding(3600 * 475_000) == 3600  # just paid: the next one is an hour away
    assert seconds_to_funding(3600 * 475_000 - 0.5) == pytest.approx(0.5)
