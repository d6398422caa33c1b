"""stancemap: map the arguments inside online discussions, locally and offline."""

__version__ = "0.1.0"
