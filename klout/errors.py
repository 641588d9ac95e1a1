"""Errors that map to the CLI's exit codes, so every failure tells the caller what kind it was."""

EXIT_OK = 0
EXIT_USAGE = 2  # bad command line or configuration
EXIT_INPUT = 3  # missing or invalid input (source file, upstream table or partition)
EXIT_QUALITY = 4  # a data-quality gate failed
EXIT_CONFLICT = 5  # another run changed the same table at the same time (Delta commit conflict)


class KloutError(Exception):
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = 1


class ConfigError(KloutError):
    """Configuration is invalid: raised before Spark starts, naming the key, the value and what is allowed."""

    exit_code = EXIT_USAGE


class InputError(KloutError):
    """A source or upstream table is missing or unreadable."""

    exit_code = EXIT_INPUT


class QualityGateError(KloutError):
    """A data-quality gate failed; nothing was published."""

    exit_code = EXIT_QUALITY


class ConcurrentRunError(KloutError):
    """Another run committed to the same table while this one was writing; this run's write was not committed."""

    exit_code = EXIT_CONFLICT
