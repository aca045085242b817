"""The pieces a search may choose among, beyond Config's fields: optimizers, schedules, a loss and a training step,
each a plain function of the form GUIDE.md's examples have, to be read and copied into a script. A number the
search may change is a keyword with a default (`adamw`'s weight_decay): `--range adamw.weight_decay=1e-5:0.1:log`
searches it, and the script the search writes sets it. A script's own functions are searched the same way
(`--range loss=cross_entropy,my_loss`): a name is looked up in the script first, then here, then in common.py.
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F

import common

# ---------------------------------------------------------------- optimizers (make_optimizer)


def sgd(parameters, config):
    """Plain SGD, no momentum: the report's."""
    return torch.optim.SGD(parameters, lr=config.lr)


def nesterov(parameters, config, momentum=0.9):
    """SGD with Nesterov momentum."""
    return torch.optim.SGD(parameters, lr=config.lr, momentum=momentum, nesterov=True)


def adam(parameters, config):
    """Adam: the report's other optimizer, as common.make_optimizer builds it."""
    return common.make_optimizer(parameters, replace(config, optimizer="adam"))


def adamw(parameters, config, weight_decay=0.01):
    """AdamW: Adam with its weight decay taken apart from the gradient."""
    parameters = list(parameters)
    return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=weight_decay,
                             fused=parameters[0].device.type in ("cpu", "cuda"))


# ---------------------------------------------------------------- schedules (make_schedule), stepped once an epoch


def cosine(optimizer, config):
    """From config.lr down to 0 along half a cosine, over the run's epochs."""
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)


def warmup_cosine(optimizer, config, warmup=3):
    """A tenth of config.lr rising to all of it over `warmup` epochs, then a cosine down to 0."""
    rise = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup)
    fall = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, config.epochs - warmup))
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [rise, fall], milestones=[warmup])


# ---------------------------------------------------------------- the loss


def smoothed(logits, targets, label_smoothing=0.1):
    """Cross-entropy with label smoothing.

    The true class's target is 1 - label_smoothing, not 1: the model is not pushed to certainty."""
    return F.cross_entropy(logits, targets, label_smoothing=label_smoothing)


# ---------------------------------------------------------------- the training step


def augmented(model, optimizer, inputs, targets, loss, shift=2):
    """Augmented: each image moved by up to 2 pixels each way, and half of them flipped left to right, on the device."""
    images = inputs.view(-1, 28, 28)
    n = len(images)
    padded = F.pad(images, (shift, shift, shift, shift))
    dy, dx = torch.randint(0, 2 * shift + 1, (2, n, 1), device=inputs.device)
    rows = (dy + torch.arange(28, device=inputs.device))[:, :, None]  # each image's 28 rows in the padded 32
    cols = (dx + torch.arange(28, device=inputs.device))[:, None, :]
    moved = padded[torch.arange(n, device=inputs.device)[:, None, None], rows, cols]
    flip = torch.rand(n, 1, 1, device=inputs.device) < 0.5
    moved = torch.where(flip, moved.flip(-1), moved)
    return common.train_step(model, optimizer, moved.reshape(n, 784), targets, loss)
