"""edXML packages (QCVN 102:2016 structure) on the axis: mapping, XML-DSig, verification.

An agency whose document system speaks edXML submits its signed package as it is: the
envelope carries the package bytes with the content format EDXML, and the router
verifies the package's own enveloped XML-DSig signature against the sender's
certificate in the simulated PKI (docs/CONNECTOR.md, "edXML packages").

    reasons.py   EdxmlReason (XML-specific reason words) and the wire ReasonCode of each
    xmlsafe.py   the hardened parser: no DTD, no entities, no network, size and depth caps
    names.py     namespace, element names and the code tables of the profile
    build.py     Document / StatusMessage -> package XML (unsigned)
    read.py      package XML -> Document / StatusMessage, validating the structure and codes
    dsig.py      enveloped XML-DSig (signxml): sign, and check a signature's profile
    verify.py    XmlVerifier: the router's certificate checks, then the package's signature
    dispatch.py  one entry point per reader for both content formats
    conformance.py  the conformance findings for packages

Pure: no Kafka, no I/O beyond what the caller hands in (an import-linter contract says so).
"""
