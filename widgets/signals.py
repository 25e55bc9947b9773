"""Signals: the score of every market in [-1, +1] as a number and a centred bar, and the contributors of
the selected market (reading, signed value, weight, share of the score) so the score explains itself."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.widgets import Static

from streams.signals.scoring import Contributor, SignalScore
from widgets.format import DIM, DOWN, MISSING, UP, Column, Columns, number, sign_style
from widgets.panel import Panel
from widgets.rows import KeyedRows, show_text
from widgets.tcss import beside

HALF_BAR = 8
"""Cells either side of the bar's zero mark."""

SCORES = Columns(Column("MARKET", 9, left=True), Column("SCORE", 6), Column("", 2 * HALF_BAR + 1, left=True))
CONTRIBUTORS = Columns(Column("WHY", 9, left=True), Column("READING", 8), Column("VALUE", 6), Column("WEIGHT", 6),
                       Column("SHARE", 6))


@dataclass(frozen=True)
class SignalsState:
    scores: tuple[SignalScore, ...] = ()
    selected: str | None = None


def score_bar(score: float) -> tuple[str, str]:
    """`░░░░░░░░│████░░░░` for +0.5: filled from the zero mark towards the sign, styled by it."""
    cells = min(HALF_BAR, round(abs(score) * HALF_BAR))
    blank = "░" * HALF_BAR
    if score < 0:
        return "░" * (HALF_BAR - cells) + "█" * cells + "│" + blank, DOWN
    return blank + "│" + "█" * cells + "░" * (HALF_BAR - cells), UP if cells else DIM


def score_row(score: SignalScore) -> Content:
    return SCORES.row((score.market, ""), (number(score.score, 2, signed=True), sign_style(score.score)),
                      score_bar(score.score))


def contributor_row(contributor: Contributor) -> Content:
    if contributor.value is None:
        return Content.assemble(CONTRIBUTORS.row((contributor.name, "")), (" warming up", DIM))
    reading = MISSING if contributor.reading is None else f"{contributor.reading:.3g}"
    return CONTRIBUTORS.row(
        (contributor.name, ""), (reading, DIM),
        (number(contributor.value, 2, signed=True), sign_style(contributor.value)),
        (f"×{contributor.weight:g}", DIM),
        (number(contributor.contribution, 2, signed=True), sign_style(contributor.contribution)),
    )


class SignalsPanel(Panel):
    DEFAULT_CSS = beside(__file__)

    ABOVE_CONTRIBUTORS = 3
    """Lines the panel shows besides its two lists: the scores' header, and the contributors' header with
    the blank line above it (signals.tcss)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Signals", id=id)
        self._contributors = 0

    def compose(self):
        yield Static(SCORES.header(), classes="header")
        yield KeyedRows("no scores yet (indicators warm up on candles)", render=score_row, id="scores")
        yield Static(CONTRIBUTORS.header(), classes="header contributors")
        yield KeyedRows("select a market with a score", render=contributor_row, id="contributors")

    def render_state(self, state: SignalsState) -> None:
        self.query_one("#scores", KeyedRows).show([(s.market, s) for s in state.scores], state.selected)
        selected = next((s for s in state.scores if s.market == state.selected), None)
        contributors = () if selected is None else selected.contributors
        self.query_one("#contributors", KeyedRows).show([(c.name, c) for c in contributors])
        show_text(self.query_one(".contributors", Static),
                  CONTRIBUTORS.header(None if selected is None else selected.market))
        if len(contributors) != self._contributors:
            self._contributors = len(contributors)
            self._fit_scores()

    def on_resize(self) -> None:
        self._fit_scores()

    def _fit_scores(self) -> None:
        """Give the scores what the contributors leave: with every market scored, the scores alone would
        fill the panel and push the selected market's contributors out of sight."""
        scores = self.query_one("#scores", KeyedRows)
        if not self.query_one("#contributors", KeyedRows).display:  # a small screen shows the scores alone
            scores.styles.max_height = None
            return
        left = self.content_size.height - self.ABOVE_CONTRIBUTORS - max(1, self._contributors)
        scores.styles.max_height = max(1, left)
