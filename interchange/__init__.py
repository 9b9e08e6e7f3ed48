"""interchange: a simulator of a national e-document interchange axis on Kafka."""

__version__ = "0.1.0"
