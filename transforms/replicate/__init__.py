"""Replication of published indices with the engine's own code paths.

Each module rebuilds one family of published benchmarks from the warehouse's market
arrays (:class:`transforms.backtest.market.Market`) and the production pricers, so a
regression in the VX roll machinery or in an option model moves a tracking figure:

* :mod:`.vix_futures`: S&P 500 VIX Short-Term and Mid-Term Futures Indices (ER);
* :mod:`.vix_calls`: the VIX calls Cboe VXTH holds, priced with the engine's Black-76,
  and VXTH itself;
* :mod:`.spx_options`: Cboe PUT and CNDR run through the condor pricer and the smile;
* :mod:`.tracking`: the statistics that compare a replica with the published series.
"""

INDICES = ("SPVXSP", "SPVXMP", "VXTH", "PUT", "CNDR")
"""The indices replicated (here, so naming them imports none of the machinery)."""
