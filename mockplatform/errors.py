"""Exceptions for a broken setup. Protocol outcomes (VP faults, producer faults) are values, not these."""


class MockplatformError(Exception):
    """Root of every error the package raises for a broken setup (bad file, bad option)."""


class ConfigError(MockplatformError):
    """A configuration file or option is invalid; the message names the file and the key."""


class UnreadableFile(ConfigError):
    """A file named in the setup cannot be read at all (missing, no permission): exit code 3."""


class ContractPackageError(ConfigError):
    """A contract release package cannot be read or is broken; the message names the package, the file in it,
    the line when known, and what to do."""
