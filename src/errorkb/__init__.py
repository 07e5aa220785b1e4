"""errorkb: a knowledge base of known errors — what not to try, what works, what comes next."""

__version__ = "0.1.0"
