"""The generic producer's names: the domain, the TAK address, its tables."""

DOMAIN_NAME = "anycontract"
PRODUCER = "generic"  # builtin:generic in the TAK
ADDRESS = f"builtin:{PRODUCER}"
