"""The benchmark: tokens and bytes the model reads, start-up, per-call cost and throughput, each as a ratio to a
floor measured in the same run. Run it with `uv run scripts/benchmark`; it writes docs/benchmarks.md."""
