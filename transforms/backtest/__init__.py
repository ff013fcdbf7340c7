"""The book's engine: its parameters, the market it reads, the condor sleeve, the
reference simulator (the oracle), the compiled sweep engine, the metrics and the
orchestration-free sweep loop. Pure: no files, no warehouse, no orchestration."""

DEFAULT_HEDGE_RATIOS = "0:0.4:0.02"
"""A sweep's hedge ratios unless it names its own (here, so the command line's help can
name them without importing the engine)."""
DEFAULT_BANDS = "0.45-0.65,0.35-0.55,0.55-0.75"
"""A sweep's R-squared bands unless it names its own."""
