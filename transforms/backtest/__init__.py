"""The book's engine: its parameters, the market it reads, the condor sleeve, the
reference simulator (the oracle), the compiled sweep engine, the metrics and the
orchestration-free sweep loop. Pure: no files, no warehouse, no orchestration."""
