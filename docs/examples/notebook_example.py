"""kracht's coded segments as a pandas DataFrame: the same table the report and exports use.

Paste the cells into a notebook, or run the file: ``python docs/examples/notebook_example.py``
(uses the store in ``KRACHT_HOME``, ``.kracht`` by default; ``kracht run data/sample`` fills it).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipeline.config import get_settings
from pipeline.report import frame
from pipeline.store import Store


def main() -> None:
    store = Store.from_settings(get_settings())

    # One row per resident segment × code (``kracht.frame(collection=...)`` does the same and
    # opens the store from the settings itself). view="final": human codes where a segment was
    # reviewed, the machine's elsewhere. view="all" keeps every source side by side.
    df = frame(store)
    print(df[["document_id", "collection", "date", "code", "polarity", "score", "source",
              "evidence"]].head(10).to_string())

    # Share of resident segments per theme (the report's main figure). A segment can have
    # several themes, so count segments, not rows, and divide by *all* resident segments.
    all_segments = frame(store, include_uncoded=True)["segment_id"].nunique()
    share = df.groupby("code")["segment_id"].nunique().div(all_segments).sort_values()
    print((share * 100).round(1).rename("% of resident segments").to_string())

    # How residents speak about each theme: positive / mixed / neutral / negative.
    print(pd.crosstab(df["code"], df["polarity"]).to_string())

    # Change over time: share per quarter, by the date of the story.
    dated = df.dropna(subset=["date"]).assign(
        quarter=lambda d: pd.PeriodIndex(pd.to_datetime(d["date"]), freq="Q"))
    per_quarter = dated.groupby(["quarter", "code"])["segment_id"].nunique().unstack(fill_value=0)
    print(per_quarter.to_string())

    # One collection, neighbourhood or period: the same filters as `kracht report`.
    recent = frame(store, start=dt.date(2025, 1, 1))
    print(f"{recent['segment_id'].nunique()} coded segments since 2025")

    # Machine against human: every source side by side, one column per source.
    every = frame(store, view="all")
    reviewed = every[every["reviewed"]]
    print(pd.crosstab(reviewed["code"], reviewed["origin"]).to_string())


if __name__ == "__main__":
    main()
