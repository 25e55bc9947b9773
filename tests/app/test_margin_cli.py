"""`dydx-bot margin`: the JSON report on real captures (skipped without ../shared) and on small files
written here (run on a fresh clone), and one clear line with exit status 2 for every bad input."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from app import cli
from tests.support.builders import load_sample

MARKET_FIELDS = {"clobPairId": "0", "status": "ACTIVE", "atomicResolution": -10, "quantumConversionExponent": -9,
                 "stepBaseQuantums": 1_000_000, "subticksPerTick": 100_000, "tickSize": "1", "stepSize": "0.0001",
                 "marketType": "CROSS", "openInterestLowerCap": "0", "openInterestUpperCap": "0"}
MARKETS = {"markets": {
    "BTC-USD": {**MARKET_FIELDS, "ticker": "BTC-USD", "oraclePrice": "58672.3367", "initialMarginFraction": "0.05",
                "maintenanceMarginFraction": "0.03", "nextFundingRate": "0.00001", "openInterest": "700"},
    "ETH-USD": {**MARKET_FIELDS, "ticker": "ETH-USD", "oraclePrice": "2626.778033",
                "initialMarginFraction": "0.05", "maintenanceMarginFraction": "0.03"},
    "TRY-USD": {**MARKET_FIELDS, "ticker": "TRY-USD", "oraclePrice": "0.03", "initialMarginFraction": "0.1",
                "maintenanceMarginFraction": "0.05", "marketType": "ISOLATED"},
    "SOL-USD": {**MARKET_FIELDS, "ticker": "SOL-USD", "initialMarginFraction": "0.1",
                "maintenanceMarginFraction": "0.05"},  # no oracle price yet
}}


def position(market, side, size, entry, pnl):
    return {"market": market, "status": "OPEN", "side": side, "size": size, "entryPrice": entry,
            "unrealizedPnl": pnl}


# the reference account (dydx-reference.md §6) as a REST body; the markets above price it as the Indexer did
SUBACCOUNT = {"subaccount": {
    "address": "dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art", "subaccountNumber": 0,
    "equity": "304.384048054", "freeCollateral": "0.1986661447",
    "openPerpetualPositions": {
        "BTC-USD": position("BTC-USD", "LONG", "0.1036", "58308.13962472406181015453",
                            "37.730816998587196467990692"),
        "ETH-USD": position("ETH-USD", "SHORT", "-0.002", "2618.8", "-0.015956066")},
    "assetPositions": {"USDC": {"symbol": "USDC", "side": "SHORT", "size": "5768.816478", "assetId": "0"}},
}}


@pytest.fixture(autouse=True)
def margin_command_only(monkeypatch):
    # parse with this subcommand alone, so the test does not depend on the others being importable
    monkeypatch.setattr(cli, "COMMANDS", ("margin",))


def write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return str(path)


def margin(capsys, *args):
    code = cli.main(["margin", *args])
    out, err = capsys.readouterr()
    return code, out, err


def report(capsys, *args):
    code, out, err = margin(capsys, *args)
    assert (code, err) == (0, "")
    return json.loads(out, parse_float=pytest.fail, parse_int=pytest.fail)  # every number is a string


def error(capsys, *args):
    code, out, err = margin(capsys, *args)
    assert (code, out) == (2, "")
    assert err.startswith("dydx-bot: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.fixture
def files(tmp_path):
    return write(tmp_path, "subaccount.json", SUBACCOUNT), write(tmp_path, "markets.json", MARKETS)


# -- reports -------------------------------------------------------------------------------------------


def test_report_reproduces_the_reference_account(capsys, files):
    subaccount, markets = files
    result = report(capsys, "--subaccount", subaccount, "--markets", markets)
    assert result["subaccount"] == "dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art/0"
    # to the last digit the Indexer gives, trailing zeros dropped as the Indexer does
    assert (result["equity"], result["freeCollateral"], result["freeCollateralIndexer"]) == (
        "304.384048054", "0.1986661447", "0.1986661447")
    assert D(result["marginUsage"]).quantize(D("0.0001")) == D("0.9993")
    assert D(result["leverage"]).quantize(D("0.01")) == D("19.99")
    assert result["liquidatable"] is False
    btc, eth = result["positions"]
    assert D(btc["liquidationPrice"]).quantize(D("0.01")) == D("57459.58")
    assert D(eth["liquidationPrice"]).quantize(D("0.01")) == D("61788.34")
    assert D(btc["distanceToLiquidationPct"]).quantize(D("0.01")) == D("2.07")
    assert btc["distanceToLiquidationAtr"] is None
    assert D(btc["fundingPerHour"]) == -D("0.1036") * D("58672.3367") * D("0.00001")  # the long pays
    assert eth["fundingPerHour"] is None and eth["marginMode"] == "CROSS"
    assert result["indexerReported"] == {"equity": "304.384048054", "freeCollateral": "0.1986661447",
                                         "oraclePrices": {"BTC-USD": "58672.3367",
                                                          "ETH-USD": "2626.778033"}}
    assert "whatIf" not in result


def test_what_if_leverage_and_atr(capsys, files):
    subaccount, markets = files
    result = report(capsys, "--subaccount", subaccount, "--markets", markets, "--what-if", "BTC-USD:-0.05",
                    "--what-if", "ETH-USD:0.002", "--leverage", "BTC-USD:10", "--atr", "BTC-USD:400")
    assert D(result["freeCollateral"]) < D(result["freeCollateralIndexer"]) == D("0.1986661447")
    assert result["positions"][0]["imf"] == "0.1"
    after = result["whatIf"]
    assert after["trades"] == [{"market": "BTC-USD", "size": "-0.05", "price": "58672.3367"},
                               {"market": "ETH-USD", "size": "0.002", "price": "2626.778033"}]
    assert after["equity"] == result["equity"]
    assert [p["market"] for p in after["positions"]] == ["BTC-USD"] and after["positions"][0]["size"] == "0.0536"
    assert D(after["marginUsage"]) < D(result["marginUsage"])
    btc = after["positions"][0]
    distance = D(btc["oraclePrice"]) - D(btc["liquidationPrice"])
    assert D(btc["distanceToLiquidationAtr"]) == distance / 400


def test_subscribed_message_and_small_numbers_in_fixed_point(capsys, tmp_path):
    message = {"type": "subscribed", "channel": "v4_subaccounts", "connection_id": "c", "message_id": 1,
               "id": "dydx1x/128", "contents": {"subaccount": {
                   "address": "dydx1x", "subaccountNumber": 128, "equity": "0", "freeCollateral": "0",
                   "openPerpetualPositions": {"BTC-USD": position("BTC-USD", "LONG", "0.0001", "60000", "0")},
                   "assetPositions": {"USDC": {"symbol": "USDC", "side": "LONG", "size": "0.000001"}}},
                   "orders": [], "blockHeight": "1"}}
    tiny = {"markets": {"BTC-USD": {**MARKETS["markets"]["BTC-USD"], "nextFundingRate": "0.0000001"}}}
    result = report(capsys, "--subaccount", write(tmp_path, "s.json", message),
                    "--markets", write(tmp_path, "m.json", tiny))
    assert result["subaccount"] == "dydx1x/128" and result["positions"][0]["marginMode"] == "ISOLATED"
    assert result["positions"][0]["fundingPerHour"] == "-0.000000586723367"  # not 5.86723367E-7
    assert result["positions"][0]["fundingAccrued"] == "0"


def test_real_account_at_the_markets_file_prices(capsys, samples_dir):
    ws = samples_dir / "nautilus-2024/ws"
    result = report(capsys, "--subaccount", str(ws / "v4_accounts_subscribed_negative_initial_margin.json"),
                    "--markets", str(ws / "v4_markets_subscribed.json"))
    markets = load_sample(samples_dir, "nautilus-2024/ws/v4_markets_subscribed.json")["contents"]["markets"]
    btc, eth = D(markets["BTC-USD"]["oraclePrice"]), D(markets["ETH-USD"]["oraclePrice"])
    equity = D("-5768.816478") + D("0.1036") * btc - D("0.002") * eth
    assert D(result["equity"]) == equity
    assert D(result["freeCollateral"]) == equity - (D("0.1036") * btc + D("0.002") * eth) * D("0.05")
    assert [p["oraclePrice"] for p in result["positions"]] == [str(btc), str(eth)]
    # the file's own figures stay visible, with the prices they were valued at
    assert result["indexerReported"]["equity"] == "304.384048054"
    assert D(result["indexerReported"]["oraclePrices"]["BTC-USD"]) == D("58672.3367")


def test_real_rest_files(capsys, samples_dir, tmp_path):
    rest = samples_dir / "nautilus-2024/rest"
    result = report(capsys, "--subaccount", str(rest / "subaccount.json"),
                    "--markets", str(rest / "list_perpetual_markets.json"))
    assert [p["market"] for p in result["positions"]] == ["ETH-USD"]
    # nautilus wrapped the 2025 captures in an envelope: the Indexer body is its `result`
    subaccount = write(tmp_path, "s.json", load_sample(samples_dir, "nautilus-2025/rest/http_get_subaccount.json"))
    markets = write(tmp_path, "m.json",
                    load_sample(samples_dir, "nautilus-2025/rest/http_get_perpetual_markets.json"))
    result = report(capsys, "--subaccount", subaccount, "--markets", markets, "--what-if", "BTC-USD:0.0001")
    assert result["equity"] == result["freeCollateral"] == "45.201296" and result["positions"] == []
    assert D(result["whatIf"]["freeCollateral"]) == D("45.201296") - D("0.0001") * D("89919.2") * D("0.02")


def test_real_markets_file_without_the_held_market(capsys, samples_dir):
    rest = samples_dir / "nautilus-2024/rest"
    err = error(capsys, "--subaccount", str(rest / "subaccount.json"),
                "--markets", str(rest / "list_perpetual_markets_v8.json"))
    assert "holds ETH-USD, which is not in --markets" in err
    err = error(capsys, "--subaccount", str(samples_dir / "nautilus-2025/rest/http_get_subaccount.json"),
                "--markets", str(rest / "list_perpetual_markets_v8.json"))
    assert "found an object with keys requestId, status, isoTimestamp, result" in err


# -- errors --------------------------------------------------------------------------------------------


def test_unreadable_files(capsys, files, tmp_path):
    subaccount, markets = files
    assert "--subaccount nope.json: cannot read (No such file or directory)" in error(
        capsys, "--subaccount", "nope.json", "--markets", markets)
    assert "not valid JSON" in error(capsys, "--subaccount", subaccount, "--markets",
                                     write(tmp_path, "bad.json", '{"markets": '))


@pytest.mark.parametrize(("body", "message"), [
    ([1, 2], "found a JSON list"),
    ({}, "found an object with keys (none)"),
    ({"subaccounts": []}, "expected an Indexer subaccount response or a v4_subaccounts subscribed message, "
                          "found an object with keys subaccounts"),
    ({"type": "subscribed", "channel": "v4_markets", "contents": MARKETS},
     "found a 'subscribed' message on 'v4_markets'"),
    ({"subaccount": {**SUBACCOUNT["subaccount"], "equity": {}}},
     "Expected `decimal`, got `object` - at `$.subaccount.equity`"),
    ({"type": "subscribed", "channel": "v4_subaccounts", "contents": {"subaccount": {"address": "a"}}},
     "missing required field `subaccountNumber` - at `$.contents.subaccount`"),
])
def test_wrong_shapes(capsys, files, tmp_path, body, message):
    _, markets = files
    err = error(capsys, "--subaccount", write(tmp_path, "s.json", body), "--markets", markets)
    assert f"--subaccount {tmp_path / 's.json'}: " in err and message in err


def test_inconsistent_inputs(capsys, files, tmp_path):
    subaccount, markets = files
    no_eth = {"markets": {"BTC-USD": MARKETS["markets"]["BTC-USD"]}}
    err = error(capsys, "--subaccount", subaccount, "--markets", write(tmp_path, "m.json", no_eth))
    assert f"--subaccount {subaccount} holds ETH-USD, which is not in --markets" in err
    unpriced = {"markets": {**MARKETS["markets"], "ETH-USD": MARKETS["markets"]["SOL-USD"]}}
    err = error(capsys, "--subaccount", subaccount, "--markets", write(tmp_path, "m2.json", unpriced))
    assert "ETH-USD (held in --subaccount" in err and "has no oraclePrice" in err
    mixed = json.loads(json.dumps(SUBACCOUNT))
    mixed["subaccount"]["openPerpetualPositions"]["TRY-USD"] = position("TRY-USD", "LONG", "10", "0.03", "0")
    err = error(capsys, "--subaccount", write(tmp_path, "mixed.json", mixed), "--markets", markets)
    assert "inconsistent: ISOLATED market TRY-USD shares a subaccount with BTC-USD, ETH-USD" in err


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--what-if", "BTC-USD", "--what-if 'BTC-USD': expected MARKET:SIZE with SIZE a decimal number"),
    ("--what-if", "BTC-USD:abc", "expected MARKET:SIZE"),
    ("--what-if", "BTC-USD:NaN", "expected MARKET:SIZE"),
    ("--what-if", "BTC-USD:Infinity", "expected MARKET:SIZE"),
    ("--what-if", ":1", "expected MARKET:SIZE"),
    ("--what-if", "DOGE-USD:1", "--what-if DOGE-USD:1: no market DOGE-USD in --markets"),
    ("--what-if", "TRY-USD:100", "ISOLATED market TRY-USD shares a subaccount with BTC-USD, ETH-USD"),
    ("--what-if", "SOL-USD:1", "--what-if SOL-USD:1: no oracle price for SOL-USD"),
    ("--leverage", "BTC-USD:0.5", "--leverage BTC-USD:0.5: X expected a finite number >= 1 and <= 1000"),
    ("--atr", "BTC-USD:0", "--atr BTC-USD:0: ATR expected a finite number > 0"),
    ("--atr", "BTC-USD:-1e3", "--atr BTC-USD:-1e3: ATR expected a finite number > 0"),
])
def test_bad_options(capsys, files, option, value, message):
    subaccount, markets = files
    assert message in error(capsys, "--subaccount", subaccount, "--markets", markets, option, value)
