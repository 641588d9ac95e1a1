"""klout: open, explainable influence scoring on Spark and Delta Lake."""

__version__ = "0.1.0"
