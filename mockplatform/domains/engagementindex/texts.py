"""The index's error texts: the codes and wording of the reference implementation (skltp-ei), kept
exactly, misspellings included, because integrators search their logs for them."""

EI000 = "EI000: A technical error has occurred, error message: {0}"
EI001 = "EI001: The payload does not follow the XML Schema, error messge: {0}"
EI002 = ("EI002: EngagementTransaction #{0} and #{1} have the same key. That is not allowed. "
         "See rule for Update-R1 in service contract")
EI003 = ("EI003: Invalid routing. Logical address is {0} but the owner is {1}. They must be the same. "
         "See rule for Update-R7 in service contract")
EI004 = "EI004: The payload does not validate, error messge: {0}"
EI005 = "EI005: The logicalAddress in EngagementTransaction #{0} is reserved and not allowed, hsa-id: {1}"
EI006 = "EI006: The sourceSystem in EngagementTransaction #{0} is reserved and not allowed, hsa-id: {1}"
