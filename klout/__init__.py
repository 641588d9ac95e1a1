"""klout: open, explainable influence scoring on Spark and Delta Lake."""

from klout.version import __version__, code_version

__all__ = ["__version__", "code_version"]
