# Reference values for tests/optim/test_optimizers.cpp and tests/optim/test_schedule.cpp,
# computed with PyTorch (python3-torch 1.13 here):
#   /usr/bin/python3 tests/reference/optim_reference.py
# Two float32 parameters, a = 0.5 sin(i + 1) (19 values) and b = 0.25 cos(i) (3 values); at
# step k (from 0) the gradients are cos(0.37 i + 1.3 k) + 0.1 p (a) and sin(0.5 i - k) - 0.2 p
# (b). After 5 steps the parameters are printed as C++ initialisers.
import math
import torch

def run(make, steps=5):
    a = torch.tensor([0.5 * math.sin(i + 1) for i in range(19)], dtype=torch.float32, requires_grad=True)
    b = torch.tensor([0.25 * math.cos(i) for i in range(3)], dtype=torch.float32, requires_grad=True)
    opt = make([a, b])
    ia = torch.arange(19, dtype=torch.float32)
    ib = torch.arange(3, dtype=torch.float32)
    for k in range(steps):
        with torch.no_grad():
            a.grad = torch.cos(0.37 * ia + 1.3 * k) + 0.1 * a
            b.grad = torch.sin(0.5 * ib - k) - 0.2 * b
        opt.step()
    return a.detach().tolist() + b.detach().tolist()

cases = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
}
for name, make in cases.items():
    values = run(make)
    print(f"// {name}")
    print("{" + ", ".join(f"{v:.9g}f" for v in values) + "}")

# StepLR(step_size=3, gamma=0.5) from lr 0.2: the rate used in epochs 0..7.
a = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([a], lr=0.2)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
rates = []
for epoch in range(8):
    rates.append(opt.param_groups[0]["lr"])
    opt.step()
    sched.step()
print("// steplr")
print("{" + ", ".join(f"{v:.9g}f" for v in rates) + "}")
