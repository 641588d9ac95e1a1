"""klout: open, explainable influence scoring on Spark and Delta Lake."""

__version__ = "0.1.0"

from klout.version import code_version  # noqa: E402  (needs __version__ above)

__all__ = ["__version__", "code_version"]
