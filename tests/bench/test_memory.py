import torch
from torch import nn

from glai_ssl.bench.memory import counted_step_bytes, peak_memory_bytes


def test_counts_activations_parameters_gradients_and_adam_state():
    layer = nn.Linear(10, 20)
    optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3)
    x = torch.randn(32, 10)

    def step():
        optimizer.zero_grad()
        layer(x).square().sum().backward()
        optimizer.step()

    counts = counted_step_bytes(layer, optimizer, step)
    parameter_bytes = (10 * 20 + 20) * 4
    assert counts["parameters"] == parameter_bytes
    assert counts["gradients"] == parameter_bytes
    assert counts["optimizer_state"] == 2 * parameter_bytes  # exp_avg and exp_avg_sq
    assert counts["activations"] >= x.numel() * 4  # the input saved for the weight gradient
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")


def test_frozen_parameters_are_not_counted():
    model = nn.Sequential(nn.Linear(10, 20), nn.Linear(20, 3))
    model[0].requires_grad_(False)
    optimizer = torch.optim.SGD(model[1].parameters(), lr=0.1)

    def step():
        optimizer.zero_grad()
        model(torch.randn(8, 10)).sum().backward()
        optimizer.step()

    total = peak_memory_bytes(model, optimizer, step, torch.device("cpu"))
    counts = counted_step_bytes(model, optimizer, step)
    assert counts["parameters"] == (20 * 3 + 3) * 4
    assert total >= 2 * counts["parameters"]
