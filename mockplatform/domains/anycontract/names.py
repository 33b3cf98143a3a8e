"""The generic producer's names: the domain, the TAK address, its rule profile."""

DOMAIN_NAME = "anycontract"
PRODUCER = "generic"  # builtin:generic in the TAK
ADDRESS = f"builtin:{PRODUCER}"
PROFILE_ID = "rivta-generic"  # verify --profile rivta-generic
