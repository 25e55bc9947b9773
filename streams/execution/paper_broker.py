"""The paper broker: a dYdX v4 subaccount simulated on the recorded (or live) order books and trades.

It is the default broker, and the only one in replay. It fills like the venue:
- a taker walks the visible levels of the opposite side up to its limit price; liquidity it took stays
  taken until the recorded book changes that level; an IOC (or market) remainder is cancelled;
- a maker rests at its price behind the size that was already there (`ahead`). Trades printed at its
  price by takers from the other side eat that queue first, then fill it; trades through its price and
  a book that moves through it fill it outright; a level that shrinks shortens the queue;
- fees by liquidity (`FeeSchedule`), funding every whole hour of event time (`−size × oracle × hourly
  rate`, settled into USDC), short-term orders expire after their good-til-block, long-term ones after
  their time;
- fills that add risk need `NC ≥ ΣIMR` afterwards (the chain's collateral check), reduce-only orders only
  shrink a position, and when `NC < ΣMMR` at oracle prices the protocol liquidates: positions close,
  largest maintenance margin first, at the fillable price `P·(1 ∓ ABR·SMMR·MMF)` with a penalty of at most
  `max_liquidation_fee` of the notional, reported as `Fill(kind="LIQUIDATION")`.
The account (USDC + positions, the margin engine's `Account`) is published after every change as an
`AccountSnapshot`, so the same margin engine that watches a live subaccount watches this one.

Block height: from v4_block_height events; without them it is counted from the first event at one block
per `block_seconds` (dYdX makes about one a second), and when real heights start arriving the open
short-term orders are moved onto the real count, keeping the blocks they had left. A resting short-term
order's updates carry its good-til-block only from then on (a count of its own is no chain's height).

`PaperExchange` is the engine as a stage (events in, events out, no Rx, no clock); `PaperBroker` puts it
behind the `Broker` protocol the strategy and the risk engine talk to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Annotated, cast

from msgspec import Struct, structs
from reactivex import Observable
from reactivex.scheduler import CurrentThreadScheduler
from reactivex.subject import Subject

from streams.execution.conditional import ConditionalOrders, as_order
from streams.execution.fees import FeeSchedule, Liquidity
from streams.execution.venue_rules import SHORT_BLOCK_WINDOW, BlockRateLimiter
from streams.kernel import rx
from streams.kernel.orders import CancelIntent, Fill, OrderIntent, OrderStatus, OrderUpdate, Side, StopIntent
from streams.kernel.settings import BELOW_ONE, USDC, Range, Section
from streams.kernel.stage import Stage, lift
from streams.market import events as ev
from streams.market.state import BookTop, MarketInfo
from streams.risk.account import Account, AccountSnapshot, Market, apply_trade, isolation_conflict
from streams.risk.margin import account_state, funding_payment, liquidatable

ZERO = Decimal(0)
ONE = Decimal(1)
HOUR = 3600.0


class PaperConfig(Section, frozen=True):
    """The `[paper]` config section."""

    starting_usdc: Annotated[Decimal, USDC] = Decimal(10_000)
    fees: FeeSchedule = FeeSchedule()
    block_seconds: Annotated[float, Range(0, 3600, low_open=True)] = 1.0
    """Used only to count blocks while no v4_block_height event has been seen."""
    max_liquidation_fee: Annotated[Decimal, BELOW_ONE] = Decimal("0.015")
    """The documented maximum liquidation penalty (v4 docs, liquidations)."""
    bankruptcy_adjustment: Annotated[Decimal, Range(1, 1000)] = ONE
    spread_to_maintenance: Annotated[Decimal, Range(0, 1000)] = Decimal("0.1")
    """BA and SMMR of the fillable price: the chain's defaults (x/clob LiquidationsConfig_Default)."""


class FundingPayment(Struct, frozen=True):
    """Funding of one position: `amount` is what the account received (negative: paid). The paper
    account's are one hour's each, at `oracle_price` and the hourly `rate`; a live account's are what the
    Indexer reports settled (`streams.execution.live_funding`), which says neither (None)."""

    t: float
    market: str
    size: Decimal
    oracle_price: Decimal | None
    rate: Decimal | None
    amount: Decimal


PaperInput = BookTop | MarketInfo | OrderIntent | StopIntent | CancelIntent | ev.Event
PaperOutput = OrderUpdate | Fill | FundingPayment | AccountSnapshot


class BlockClock:
    """Chain height in event time: the last real height, plus whole `block_seconds` since it arrived."""

    def __init__(self, block_seconds: float = 1.0) -> None:
        self._block_seconds = block_seconds
        self._anchor: tuple[int, float] | None = None  # (height, t)
        self._real = False

    def height(self, t: float) -> int:
        if self._anchor is None:
            self._anchor = (0, t)
        height, since = self._anchor
        return height + max(0, int((t - since) // self._block_seconds))

    def observe(self, t: float, height: int) -> int:
        """Take a real height. Returns how far the count jumped if it had been counting from zero until
        now (so orders placed meanwhile can be moved), else 0."""
        jump = height - self.height(t) if not self._real else 0
        self._anchor, self._real = (height, t), True
        return jump

    @property
    def real(self) -> bool:
        """Whether a real height was heard: only then is a good-til-block the chain's own count."""
        return self._real


@dataclass
class _Order:
    intent: OrderIntent
    price: Decimal  # the limit; a market order's is derived from the book and its max slippage
    remaining: Decimal
    filled: Decimal = ZERO
    ahead: Decimal | None = ZERO  # resting: book size queued before us at our price; None: not visible
    good_til_block: int | None = None
    good_til_t: float | None = None
    stopped: str | None = None  # why matching had to stop (the order is then cancelled)

    @property
    def buy(self) -> bool:
        return self.intent.side == "BUY"

    def crosses(self, price: Decimal) -> bool:
        return price <= self.price if self.buy else price >= self.price


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_FLOOR) * step


def _ceil(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_CEILING) * step


def _queue(order: _Order, book: BookTop) -> Decimal | None:
    """The book size at `order`'s price on its own side: 0 when the price is inside the visible levels
    but has none, None (unknown) when it is beyond them."""
    own = book.bids if order.buy else book.asks
    level = dict(own).get(order.price)
    if level is not None:
        return level
    if not own or (order.price >= own[-1][0] if order.buy else order.price <= own[-1][0]):
        return ZERO
    return None


class PaperExchange(Stage[PaperInput, PaperOutput]):
    """The matching engine and the subaccount. Takes typed market events (v4_trades, v4_block_height;
    others only move time), `BookTop`s, `MarketInfo`s and intents; returns order updates, fills, funding
    payments and the account after each change (and once at the first event, to start the margin engine).
    """

    def __init__(self, config: PaperConfig = PaperConfig()) -> None:
        self._config = config
        self._account = Account(usdc=config.starting_usdc)
        self._infos: dict[str, MarketInfo] = {}
        self._markets: dict[str, Market] = {}
        self._prices: dict[str, Decimal] = {}
        self._books: dict[str, BookTop] = {}
        self._taken: dict[tuple[str, Side, Decimal], tuple[Decimal, Decimal]] = {}  # -> (level size, taken)
        self._orders: dict[int, _Order] = {}  # open orders by client id, oldest first
        self._stops = ConditionalOrders()  # untriggered stop orders
        self._clock = BlockClock(config.block_seconds)
        self._rate_limiter = BlockRateLimiter()  # mainnet's placement limits, as the live broker keeps
        self._started = False  # _t is the last event's time once it is
        self._t = 0.0
        self._out: list[PaperOutput] = []

    @property
    def account(self) -> Account:
        return self._account

    def on_event(self, event: PaperInput) -> list[PaperOutput]:
        out: list[PaperOutput] = []
        self._out = out
        before = self._account
        first = not self._started
        self._advance(event.t)
        t = self._t
        # by exact type, the most frequent first: channel events, most of which only move time
        if type(event) is ev.ChannelBatchData or type(event) is ev.ChannelData or type(event) is ev.Subscribed:
            self._on_channel(event)
        elif type(event) is BookTop:
            self._on_book(event)
        elif type(event) is MarketInfo:
            self._on_market(event)
        elif type(event) is OrderIntent:
            self._submit(event, t)
        elif type(event) is StopIntent:
            self._place_stop(event, t)
        elif type(event) is CancelIntent:
            self._cancel(event, t)
        if first or self._account is not before:
            out.append(AccountSnapshot(t, self._account))
        return out

    # -- time: funding and expiry ------------------------------------------------------------------

    def _advance(self, t: float) -> None:
        if not self._started:
            self._started, self._t = True, t
            self._clock.height(t)
            return
        if t <= self._t:
            return
        hour = int(t // HOUR)
        for boundary in range(int(self._t // HOUR) + 1, hour + 1):
            self._t = boundary * HOUR
            self._pay_funding(self._t)
        self._t = t
        self._expire(t)

    def _pay_funding(self, t: float) -> None:
        usdc = self._account.usdc
        for position in self._account.positions.values():
            rate = self._markets[position.market].funding_rate
            if not rate:
                continue
            price = self._prices[position.market]
            amount = funding_payment(position.size, price, rate)
            usdc += amount
            self._out.append(FundingPayment(t, position.market, position.size, price, rate, amount))
        if usdc != self._account.usdc:
            self._account = structs.replace(self._account, usdc=usdc)
            self._liquidate(t)

    def _expire(self, t: float) -> None:
        if not self._orders:
            return
        height = self._clock.height(t)
        for order in list(self._orders.values()):
            if order.good_til_block is not None and height > order.good_til_block:
                self._close(order, t, "EXPIRED", f"good til block {order.good_til_block}, now {height}")
            elif order.good_til_t is not None and t >= order.good_til_t:
                self._close(order, t, "EXPIRED", f"good til t={order.good_til_t:.3f}")

    # -- market data -------------------------------------------------------------------------------

    def _on_market(self, info: MarketInfo) -> None:
        name = info.market
        self._infos[name] = info
        self._markets[name] = Market.from_info(info)
        if info.oracle_price is not None:
            self._prices[name] = info.oracle_price
            for stop in self._stops.trigger(name, info.oracle_price):  # before the protocol liquidates
                self._submit(as_order(stop, self._t, info.tick_size), self._t)
            if name in self._account.positions:
                self._liquidate(self._t)

    def _on_channel(self, event: ev.ChannelData | ev.ChannelBatchData | ev.Subscribed) -> None:
        # contents are decoded by channel (`streams.market.parse`), which the casts say to the type checker
        if event.channel == "v4_block_height":
            if isinstance(event, ev.Subscribed):
                self._on_height(int(cast(ev.BlockHeightSnapshot, event.contents).height))
                return
            heights = event.contents if isinstance(event, ev.ChannelBatchData) else (event.contents,)
            for message in cast("Iterable[ev.BlockHeightUpdate]", heights):  # batched if subscribed so
                self._on_height(int(message.blockHeight))
        elif event.channel == "v4_trades" and not isinstance(event, ev.Subscribed):  # a snapshot is history
            if event.id is None or not self._orders:  # the Indexer names the market on every v4_trades
                return  # message; a print fills only resting orders
            updates = event.contents if isinstance(event, ev.ChannelBatchData) else (event.contents,)
            for update in cast("Iterable[ev.TradesUpdate]", updates):
                for trade in update.trades:
                    self._on_trade(event.id, trade)

    def _on_height(self, height: int) -> None:
        jump = self._clock.observe(self._t, height)
        for order in self._orders.values():
            if order.good_til_block is not None:
                order.good_til_block += jump
        self._expire(self._t)

    def _on_book(self, book: BookTop) -> None:
        market = book.market
        self._books[market] = book
        if self._taken:
            sizes = {"BUY": dict(book.asks), "SELL": dict(book.bids)}  # what a buy / a sell takes from
            self._taken = {key: seen for key, seen in self._taken.items()
                           if key[0] != market or sizes[key[1]].get(key[2]) == seen[0]}
        if not self._orders:
            return
        for order in self._resting(market):
            queue = _queue(order, book)
            if queue is not None:
                order.ahead = queue if order.ahead is None else min(order.ahead, queue)
            filled = order.filled
            self._match(order, self._t, "MAKER")
            self._report(order, self._t, filled)

    def _on_trade(self, market: str, trade: ev.Trade) -> None:
        """A print: `side` is the taker's, so it can fill our resting orders on the other side."""
        if trade.type == "DELEVERAGED":  # settled between accounts, never on the book
            return
        makers = [order for order in self._resting(market)
                  if order.intent.side != trade.side and order.crosses(trade.price)]
        makers.sort(key=lambda order: -order.price if order.buy else order.price)  # price, then time priority
        volume = trade.size
        for order in makers:
            if volume <= 0:
                break
            through = volume
            if trade.price == order.price:  # the queue before us trades first; an unknown one, all of it
                ahead = volume if order.ahead is None else order.ahead
                through, order.ahead = volume - ahead, None if order.ahead is None else max(ZERO, ahead - volume)
            filled = order.filled
            if through > 0:
                volume -= self._fill(order, self._t, min(through, order.remaining), order.price, "MAKER")
            self._report(order, self._t, filled)

    def _resting(self, market: str) -> list[_Order]:
        return [order for order in self._orders.values() if order.intent.market == market]

    # -- orders ------------------------------------------------------------------------------------

    def _submit(self, intent: OrderIntent, t: float) -> None:
        refusal = self._refusal(intent) or self._rate_limiter.admit(self._clock.height(t),
                                                                    stateful=not intent.short_term)
        price = None if refusal else intent.price if intent.kind == "LIMIT" else self._market_price(intent)
        if price is None:
            refusal = refusal or f"no {intent.market} liquidity to price a market order"
            self._update(intent, t, "REJECTED", ZERO, refusal)
            return
        order = _Order(intent, price, intent.size)
        if intent.post_only:
            if self._fillable(order):
                self._update(intent, t, "REJECTED", ZERO, "post-only order would cross the book")
                return
        elif intent.time_in_force == "FOK" and (fillable := self._fillable(order)) < intent.size:
            self._update(intent, t, "CANCELED", ZERO, f"fill-or-kill: only {fillable} of {intent.size} there")
            return
        else:
            self._match(order, t, "TAKER")
        if order.remaining == 0:
            self._update(intent, t, "FILLED", order.filled)
        elif order.stopped is not None:
            self._update(intent, t, "CANCELED", order.filled, order.stopped)
        elif intent.kind == "MARKET" or intent.time_in_force != "GTT":
            self._update(intent, t, "CANCELED", order.filled, f"immediate-or-cancel: {order.remaining} unfilled")
        else:
            self._rest(order, t)

    def _place_stop(self, stop: StopIntent, t: float) -> None:
        """A conditional stop-market order, reduce-only and long-term: it waits for its trigger."""
        info, held = self._infos.get(stop.market), self._account.positions.get(stop.market)
        if stop.client_id in self._orders or stop.client_id in self._stops:
            refusal: str | None = f"client id {stop.client_id} is already an open order"
        elif info is None:
            refusal = f"unknown market {stop.market}"
        elif stop.size <= 0 or stop.size % info.step_size or stop.trigger_price <= 0 \
                or stop.trigger_price % info.tick_size:
            refusal = f"stop size {stop.size} or trigger {stop.trigger_price} is off the step or tick grid"
        elif held is None or (held.size > 0) != (stop.side == "SELL"):
            refusal = f"reduce-only: no {stop.market} position for a {stop.side} stop to reduce"
        else:
            refusal = self._rate_limiter.admit(self._clock.height(t), stateful=True)
        if refusal is not None:
            self._update_stop(stop, t, "REJECTED", refusal)
            return
        self._stops.add(stop)
        self._update_stop(stop, t, "OPEN", f"untriggered stop {stop.side} {stop.size} at {stop.trigger_price}")

    def _update_stop(self, stop: StopIntent, t: float, status: OrderStatus, reason: str) -> None:
        self._out.append(OrderUpdate(t, stop.client_id, stop.market, status, ZERO, reason))

    def _refusal(self, intent: OrderIntent) -> str | None:
        info = self._infos.get(intent.market)
        if intent.client_id in self._orders:
            return f"client id {intent.client_id} is already an open order"
        if info is None:
            return f"unknown market {intent.market}"
        if info.status != "ACTIVE":
            return f"{intent.market} is {info.status}"
        if intent.market not in self._prices:
            return f"no oracle price for {intent.market} yet"
        if intent.size <= 0 or intent.size % info.step_size:
            return f"size {intent.size} is not a positive multiple of the step size {info.step_size}"
        if intent.kind == "LIMIT" and (intent.price is None or intent.price <= 0 or intent.price % info.tick_size):
            return f"limit price {intent.price} is not a positive multiple of the tick size {info.tick_size}"
        if intent.kind == "MARKET" and intent.post_only:
            return "a market order cannot be post-only"
        if intent.short_term and not 0 < intent.good_til_blocks <= SHORT_BLOCK_WINDOW:
            return f"short-term orders live 1 to {SHORT_BLOCK_WINDOW} blocks, not {intent.good_til_blocks}"
        return None

    def _market_price(self, intent: OrderIntent) -> Decimal | None:
        """A market order is an IOC limit `max_slippage` beyond the best opposite price."""
        book = self._books.get(intent.market)
        levels = None if book is None else (book.asks if intent.side == "BUY" else book.bids)
        if not levels:
            return None
        tick, best = self._infos[intent.market].tick_size, levels[0][0]
        if intent.side == "BUY":
            return _floor(best * (ONE + intent.max_slippage), tick)
        return max(tick, _ceil(best * (ONE - intent.max_slippage), tick))

    def _rest(self, order: _Order, t: float) -> None:
        intent = order.intent
        book = self._books.get(intent.market)
        order.ahead = ZERO if book is None else _queue(order, book)
        if intent.short_term:
            order.good_til_block = self._clock.height(t) + intent.good_til_blocks
        else:
            order.good_til_t = t + intent.good_til_seconds
        self._orders[intent.client_id] = order
        self._update(intent, t, "OPEN", order.filled, order=order)

    def _cancel(self, cancel: CancelIntent, t: float) -> None:
        """Cancelling an order that is no longer open does nothing: on chain it is already gone."""
        for stop in self._stops.remove(cancel.market, cancel.client_id):
            self._update_stop(stop, t, "CANCELED", cancel.reason or "cancelled")
        for order in list(self._orders.values()):
            if cancel.client_id in (None, order.intent.client_id) and cancel.market in (None, order.intent.market):
                self._close(order, t, "CANCELED", cancel.reason or "cancelled")

    def _report(self, order: _Order, t: float, filled_before: Decimal) -> None:
        """After a resting order may have traded: say so, and take it off the book when it is done."""
        if order.remaining == 0:
            self._close(order, t, "FILLED")
        elif order.stopped is not None:
            self._close(order, t, "CANCELED", order.stopped)
        elif order.filled != filled_before:
            self._update(order.intent, t, "PARTIALLY_FILLED", order.filled, order=order)

    def _close(self, order: _Order, t: float, status: OrderStatus, reason: str = "") -> None:
        del self._orders[order.intent.client_id]
        self._update(order.intent, t, status, order.filled, reason, order)

    def _update(self, intent: OrderIntent, t: float, status: OrderStatus, filled: Decimal, reason: str = "",
                order: _Order | None = None) -> None:
        """A resting short-term order's updates carry its good-til-block while real heights are replayed
        (a count from the first event would be no chain's height, so none is shown then)."""
        good_til = order.good_til_block if order is not None and self._clock.real else None
        self._out.append(OrderUpdate(t, intent.client_id, intent.market, status, filled, reason, good_til))

    # -- matching ----------------------------------------------------------------------------------

    def _levels(self, order: _Order) -> Iterable[tuple[Decimal, Decimal, Decimal]]:
        """The opposite side's levels `order` crosses, best first: (price, level size, still available)."""
        market, side = order.intent.market, order.intent.side
        book = self._books.get(market)
        if book is None:
            return
        for price, size in book.asks if order.buy else book.bids:
            if not order.crosses(price):
                return
            seen = self._taken.get((market, side, price))
            yield price, size, size - seen[1] if seen is not None and seen[0] == size else size

    def _fillable(self, order: _Order) -> Decimal:
        return sum((available for _, _, available in self._levels(order)), ZERO)

    def _match(self, order: _Order, t: float, liquidity: Liquidity) -> None:
        """Fill `order` from the levels it crosses: a taker at each level's price, a resting maker that
        the book moved through at its own price."""
        market, side = order.intent.market, order.intent.side
        for price, size, available in list(self._levels(order)):
            if order.remaining == 0 or order.stopped is not None:
                return
            quantity = min(available, order.remaining)
            if quantity <= 0:
                continue
            filled = self._fill(order, t, quantity, price if liquidity == "TAKER" else order.price, liquidity)
            key = (market, side, price)
            seen = self._taken.get(key)
            taken = seen[1] if seen is not None and seen[0] == size else ZERO
            self._taken[key] = (size, taken + filled)

    def _fill(self, order: _Order, t: float, quantity: Decimal, price: Decimal, liquidity: Liquidity) -> Decimal:
        """Trade `quantity` of `order` at `price` if the chain would let it; returns what was filled."""
        intent = order.intent
        held = self._account.positions.get(intent.market)
        size = held.size if held is not None else ZERO
        signed = quantity if order.buy else -quantity
        if intent.reduce_only:
            quantity = min(quantity, max(ZERO, -size if order.buy else size))
            if quantity == 0:
                order.stopped = "reduce-only: no position left to reduce"
                return ZERO
            signed = quantity if order.buy else -quantity
        fee = self._config.fees.fee(quantity * price, liquidity)
        after = apply_trade(self._account, intent.market, signed, price, fee)
        if abs(size + signed) > abs(size):
            if conflict := isolation_conflict(after, self._markets):
                order.stopped = conflict
                return ZERO
            state = account_state(after, self._prices, self._markets)
            if state.free_collateral < 0:
                order.stopped = f"undercollateralized: free collateral would be {state.free_collateral:.2f}"
                return ZERO
        self._account = after
        order.remaining -= quantity
        order.filled += quantity
        self._out.append(Fill(t, intent.market, intent.side, quantity, price, fee, liquidity, intent.client_id))
        return quantity

    # -- liquidation -------------------------------------------------------------------------------

    def _liquidate(self, t: float) -> None:
        """While the account is below maintenance, the protocol closes its largest maintenance margin
        position at the fillable price, keeping up to `max_liquidation_fee` of the notional as penalty
        but never more than the equity the close leaves. A deficit left with no position open is the
        insurance fund's."""
        config = self._config
        while self._account.positions and liquidatable(self._account, self._prices, self._markets):
            state = account_state(self._account, self._prices, self._markets)
            worst = max(state.positions, key=lambda p: p.maintenance_margin)
            rating = min(max(config.bankruptcy_adjustment * (ONE - state.equity / state.maintenance_margin), ZERO), ONE)
            spread = rating * config.spread_to_maintenance * worst.mmf
            long = worst.size > 0
            price = worst.oracle_price * (ONE - spread if long else ONE + spread)
            after = apply_trade(self._account, worst.market, -worst.size, price)
            left = state.equity + worst.size * (price - worst.oracle_price)
            penalty = min(config.max_liquidation_fee * abs(worst.size) * price, max(ZERO, left))
            usdc = after.usdc - penalty
            if not after.positions and usdc < 0:
                usdc = ZERO
            self._account = structs.replace(after, usdc=usdc)
            self._out.append(Fill(t, worst.market, "SELL" if long else "BUY", abs(worst.size), price, penalty,
                                  "TAKER", None, "LIQUIDATION"))


def paper_exchange(config: PaperConfig = PaperConfig()) -> Callable[[Observable[PaperInput]], Observable[PaperOutput]]:
    """The operator: market data and intents in, order updates, fills, funding and accounts out."""
    return lift(lambda: PaperExchange(config))


def _on_trampoline(action: Callable[[], None]) -> None:
    CurrentThreadScheduler.singleton().schedule(lambda *_: action())


class PaperBroker:
    """The `Broker` protocol over a `PaperExchange` fed by `market` (typed events, `BookTop`s and
    `MarketInfo`s merged, on one thread). `outputs` is hot once subscribed; `events` are its order
    updates and fills, `accounts` its `AccountSnapshot`s, `funding` its `FundingPayment`s.

    Intents close the graph's loop (market event -> margin -> risk -> intent -> fill -> margin), so they
    go through `defer`, by default the thread's trampoline: when the market event that caused one is
    itself dispatched on it (`observe_on(CurrentThreadScheduler.singleton())` after the source, or the
    graph's own `Turns`, given here as `defer`), the intent is acted on once that event has reached every
    subscriber, and nobody sees the account after the fill before the event that led to it. Outside a
    trampoline an intent is acted on at once.
    """

    def __init__(self, market: Observable[PaperInput], config: PaperConfig = PaperConfig(),
                 defer: Callable[[Callable[[], None]], None] = _on_trampoline) -> None:
        self._intents: Subject[OrderIntent | StopIntent | CancelIntent] = Subject()
        self._defer = defer
        self.outputs: Observable[PaperOutput] = rx.merge(market, self._intents).pipe(
            paper_exchange(config), rx.share())
        self.events: Observable[OrderUpdate | Fill] = self.outputs.pipe(rx.of_type(OrderUpdate, Fill))
        self.accounts: Observable[AccountSnapshot] = self.outputs.pipe(rx.of_type(AccountSnapshot))
        self.funding: Observable[FundingPayment] = self.outputs.pipe(rx.of_type(FundingPayment))

    def submit(self, intent: OrderIntent | StopIntent) -> None:
        self._defer(lambda: self._intents.on_next(intent))

    def cancel(self, intent: CancelIntent) -> None:
        self._defer(lambda: self._intents.on_next(intent))
