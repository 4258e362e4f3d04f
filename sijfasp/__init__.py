"""sijfasp: payer medical policies for sacroiliac joint fusion as executable, explainable logic."""

__version__ = "0.1.0"
