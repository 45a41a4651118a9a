"""The simulated hospital network: source-system state logs, middleware spans, mappings and a
manifest of planted truths. `simulate(out_dir, orders=2000, seed=7)` writes them."""

from sample_logs.simulate import simulate

__all__ = ["simulate"]
