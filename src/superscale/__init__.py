"""superscale: representation superposition and neural scaling laws, fast and reproducible.

The public API is re-exported here explicitly; everything else lives in one module per job
(see the README's file tree).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
