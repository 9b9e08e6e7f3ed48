"""The simulated national PKI: keys, certificates, issuance, signing and trust."""
