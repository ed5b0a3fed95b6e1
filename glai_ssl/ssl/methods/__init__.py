"""SSL methods, one small module each; ``METHODS`` maps the names the recipes accept to their classes."""

from glai_ssl.ssl.methods.barlowtwins import BarlowTwins
from glai_ssl.ssl.methods.base import SSLMethod
from glai_ssl.ssl.methods.byol import BYOL
from glai_ssl.ssl.methods.moco import MoCo
from glai_ssl.ssl.methods.simclr import SimCLR
from glai_ssl.ssl.methods.simsiam import SimSiam
from glai_ssl.ssl.methods.vicreg import VICReg

METHODS: dict[str, type[SSLMethod]] = {
    "simclr": SimCLR,
    "byol": BYOL,
    "moco": MoCo,
    "simsiam": SimSiam,
    "barlowtwins": BarlowTwins,
    "vicreg": VICReg,
}

__all__ = ["METHODS", "BYOL", "BarlowTwins", "MoCo", "SSLMethod", "SimCLR", "SimSiam", "VICReg"]
