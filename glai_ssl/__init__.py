"""glai_ssl: self-supervised and few-shot learning with GLAI heads."""

__version__ = "0.1.0"
