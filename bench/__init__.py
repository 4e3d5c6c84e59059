"""`make bench`: side-by-side measurements of the pipeline on this machine (cold imports, AWS calls
and capacity per unit of work, batch concurrency, local end-to-end throughput, cost). A benchmark,
not a test: it reports figures against a floor measured in the same run and asserts nothing."""
