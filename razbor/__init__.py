"""razbor: an offline trainer for machine-learning job interviews."""

__version__ = "0.1.0"
