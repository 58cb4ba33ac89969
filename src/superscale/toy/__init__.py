"""One toy model in Python: `ToyModel` trains on the sweeps' engine, measures with the store's metrics,
draws its W Wᵀ and row norms, and saves to / loads from one safetensors file."""

from superscale.toy.model import ToyModel

__all__ = ["ToyModel"]
