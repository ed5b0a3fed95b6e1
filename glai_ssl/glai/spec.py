"""``HeadSpec``: the shape of an MLP head as data, shared by lightly's heads and their GLAI replacements.

A head is ``d0 -> H1 -> ... -> HL -> dout``: hidden layers are Linear (+ BatchNorm) + ReLU, the output layer is
a Linear with an optional BatchNorm. This matches lightly's ``ProjectionHead(blocks)`` convention (a Linear has
no bias when a BatchNorm follows it), so a spec can build the lightly MLP, the GLAI structure network ``S`` at
other widths, and count the MLP's parameters: the default trainable budget of a GLAI block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lightly.models.modules.heads import ProjectionHead
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


@dataclass(frozen=True)
class HeadSpec:
    """An MLP head's layout.

    Attributes:
        input_dim: ``d0``.
        hidden_dims: ``(H1, ..., HL)``, at least one.
        output_dim: ``dout``.
        batch_norm: BatchNorm after each hidden Linear (then that Linear has no bias).
        output_batch_norm: BatchNorm after the output Linear (SimCLR, MoCo v3, SimSiam); then no output bias.
        output_affine: whether that output BatchNorm has a learnable scale and shift (SimSiam's has not).
    """

    input_dim: int
    hidden_dims: tuple[int, ...]
    output_dim: int
    batch_norm: bool = True
    output_batch_norm: bool = False
    output_affine: bool = True

    def __post_init__(self) -> None:
        dims = (self.input_dim, *self.hidden_dims, self.output_dim)
        if not self.hidden_dims:
            raise ValueError("a head needs at least one hidden layer (GLAI gates live in hidden layers)")
        if any(not isinstance(d, int) or d < 1 for d in dims):
            raise ValueError(f"every dimension must be a positive int, got {dims}")

    @property
    def depth(self) -> int:
        """Number of hidden layers ``L``."""
        return len(self.hidden_dims)

    @property
    def output_bias(self) -> bool:
        """Whether the output Linear has a bias (it has none when an output BatchNorm follows)."""
        return not self.output_batch_norm

    def with_hidden(self, hidden_dims: Sequence[int]) -> HeadSpec:
        """The same head at other hidden widths (how GLAI builds its structure network ``S``)."""
        return replace(self, hidden_dims=tuple(int(h) for h in hidden_dims))

    def blocks(self) -> list[tuple]:
        """lightly ``ProjectionHead`` blocks ``(in, out, batch_norm, activation)`` for this spec."""
        dims = (self.input_dim, *self.hidden_dims)
        blocks: list[tuple] = [
            (d_in, d_out, nn.BatchNorm1d(d_out) if self.batch_norm else None, nn.ReLU())
            for d_in, d_out in zip(dims[:-1], dims[1:])
        ]
        out_norm = (
            nn.BatchNorm1d(self.output_dim, affine=self.output_affine) if self.output_batch_norm else None
        )
        blocks.append((dims[-1], self.output_dim, out_norm, None))
        return blocks

    def build_mlp(self) -> ProjectionHead:
        """The MLP itself, as a lightly ``ProjectionHead``."""
        return ProjectionHead(self.blocks())

    def num_parameters(self) -> int:
        """Trainable parameters of the MLP (what ``sum(p.numel() for p in build_mlp().parameters())`` gives)."""
        dims = (self.input_dim, *self.hidden_dims)
        total = 0
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            total += d_in * d_out + (2 * d_out if self.batch_norm else d_out)
        total += dims[-1] * self.output_dim
        if self.output_batch_norm:
            total += 2 * self.output_dim if self.output_affine else 0
        else:
            total += self.output_dim
        return total

    @classmethod
    def from_module(cls, head: nn.Module) -> HeadSpec:
        """Read the spec off a lightly ``ProjectionHead`` (or any Sequential of Linear / BatchNorm1d / ReLU).

        Raises:
            ValueError: if the layers are not Linear [+ BatchNorm1d] + ReLU blocks ending in a Linear [+ BatchNorm1d].
        """
        layers = list(head.layers if hasattr(head, "layers") else head)
        linears, norms, acts = [], [], []
        for layer in layers:
            if isinstance(layer, nn.Linear):
                linears.append(layer)
                norms.append(None)
                acts.append(False)
            elif isinstance(layer, _BatchNorm) and linears and norms[-1] is None and not acts[-1]:
                norms[-1] = layer
            elif isinstance(layer, nn.ReLU) and linears and not acts[-1]:
                acts[-1] = True
            else:
                raise ValueError(
                    f"cannot read a GLAI spec from {type(head).__name__}: unexpected {layer!r}; "
                    "GLAI replaces heads made of Linear [+ BatchNorm1d] + ReLU blocks and a final Linear [+ BatchNorm1d]"
                )
        if len(linears) < 2 or not all(acts[:-1]) or acts[-1]:
            raise ValueError(
                f"{type(head).__name__} is not an MLP with ReLU hidden layers and a linear output layer "
                f"({len(linears)} Linear layers, activations {acts})"
            )
        hidden_bn = [n is not None for n in norms[:-1]]
        if len(set(hidden_bn)) != 1:
            raise ValueError("GLAI needs BatchNorm in all hidden layers or in none")
        out_norm = norms[-1]
        return cls(
            input_dim=linears[0].in_features,
            hidden_dims=tuple(lin.out_features for lin in linears[:-1]),
            output_dim=linears[-1].out_features,
            batch_norm=hidden_bn[0],
            output_batch_norm=out_norm is not None,
            output_affine=bool(out_norm.affine) if out_norm is not None else True,
        )
