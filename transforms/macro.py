"""When each CPI / PPI value became public.

Rules, in order, recorded per row in ``public_date_rule``:

* ``release calendar``: a reference month listed in its release's dates (CPI for
  CPIAUCSL and CPIAUCNSA, PPI for the PPI series) with no caveat: public on that date.
* ``lag rule (listed date unconfirmed)``: the listed date carries a note (e.g. the
  2025 shutdown rows give the original schedule, not the actual release): public on the
  later of the listed date and the lag-rule date.
* ``lag rule``: otherwise (months missing from their release's dates) the
  conservative rule of ``../shared/data/README.md``: month M is known from the last
  calendar day of month M + ``months_after`` (default 1). Known real releases all fall
  on or before it (e.g. Sep-2013 CPI on 2013-10-30).

Values are latest-vintage as delivered; revisions seen by later ingests are kept as
new vintages by the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms.columns import MACRO_MONTHLY, RELEASE_OF

RULE_CALENDAR = "release calendar"
RULE_UNCONFIRMED = "lag rule (listed date unconfirmed)"
RULE_LAG = "lag rule"


@dataclass(frozen=True)
class ReleaseLag:
    """Month M is public from the last day of month M + ``months_after``."""

    months_after: int = 1

    def public_date(self, reference_month: pl.Expr) -> pl.Expr:
        return reference_month.dt.offset_by(f"{self.months_after + 1}mo").dt.offset_by("-1d")


def date_releases(
    rows: pl.DataFrame, release_dates: pl.DataFrame, *, lag: ReleaseLag = ReleaseLag()
) -> pl.DataFrame:
    """``rows`` (series_id, reference_month, value, ...) with public_date and its rule.

    ``release_dates`` has release, reference_month, release_date, note (the rows of
    :data:`~transforms.columns.RELEASE_DATES`).
    """
    calendar = release_dates.select(
        pl.col("release").alias("_release"),
        "reference_month",
        pl.col("release_date").alias("_listed"),
        pl.col("note").alias("_note"),
    )
    lag_date = lag.public_date(pl.col("reference_month"))
    listed = pl.col("_listed").is_not_null()
    confirmed = listed & (pl.col("_note").is_null() | (pl.col("_note").str.strip_chars() == ""))
    return (
        rows.drop("public_date", "public_date_rule", strict=False)
        .with_columns(
            pl.col("series_id").replace_strict(RELEASE_OF, default=None).alias("_release")
        )
        .join(calendar, on=["_release", "reference_month"], how="left")
        .with_columns(
            pl.when(confirmed)
            .then(pl.col("_listed"))
            .when(listed)
            .then(pl.max_horizontal("_listed", lag_date))
            .otherwise(lag_date)
            .alias("public_date"),
            pl.when(confirmed)
            .then(pl.lit(RULE_CALENDAR))
            .when(listed)
            .then(pl.lit(RULE_UNCONFIRMED))
            .otherwise(pl.lit(RULE_LAG))
            .alias("public_date_rule"),
        )
        .drop("_release", "_listed", "_note")
        .select(*MACRO_MONTHLY.columns, pl.exclude(MACRO_MONTHLY.columns))
    )
