"""A plain PyTorch pix2pix, written from the paper and the authors' recipe,
to compare kerasgen against at equal budget (`benchmarks/pix2pix_parity.py`).

Isola et al. 2017 (https://arxiv.org/abs/1611.07004) as the authors train it
(junyanz/pytorch-CycleGAN-and-pix2pix, `pix2pix_model.py`, `networks.py`,
`aligned_dataset.py`), written here from that description:

- U-Net generator down to 1x1: 4x4 stride-2 convs (padding 1) with
  LeakyReLU(0.2), 4x4 stride-2 transposed convs (padding 1) with ReLU,
  skip connections by concatenation, BatchNorm (affine, the authors'
  default `--norm batch`) on all but the outermost layers and the
  innermost down-conv, dropout 0.5 after the first three up-convs from the
  bottleneck, as the paper's decoder `CD512-CD512-CD512-C512-...` and the
  authors' original Torch code have it (their PyTorch port puts the three
  one level further out); the convs before a BatchNorm have no bias.
- The n_layers=3 PatchGAN on the concatenated (input, output), BatchNorm.
- N(0, 0.02) conv weights, BatchNorm weights N(1, 0.02), zero biases.
- Vanilla GAN loss (BCE with logits), the discriminator's loss halved,
  L1 lambda 100; Adam(2e-4, betas=(0.5, 0.999)); the learning rate constant
  for the first half, then linearly to 0 (per step here).
- Data: the pair resized together to 286/256 of the crop size, one random
  crop and one flip for both, batch 1.
- One step: G's forward pass; D's update on (x, y) and (x, G(x).detach());
  G's update through the just-updated D, on the same G(x).
- Test: as the authors' `test.py` without `--eval`: the networks stay in
  training mode (dropout on, BatchNorm on the statistics of the batch, one
  image at a time).
"""

import random

import numpy as np
import torch
from torch import nn

from cyclegan_torch import _to_torch
from cyclegan_torch import init_weights
from cyclegan_torch import load_size_for


class UnetBlock(nn.Module):
    """One level: down, the inner levels, up, concatenated with the input."""

    def __init__(self, outer, inner, submodule=None, input_channels=None,
                 outermost=False, innermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        input_channels = input_channels or outer
        down = nn.Conv2d(input_channels, inner, 4, stride=2, padding=1,
                         bias=outermost or innermost)
        if outermost:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1)
            layers = [down, submodule, nn.ReLU(True), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, nn.BatchNorm2d(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        else:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, nn.BatchNorm2d(inner), submodule,
                      nn.ReLU(True), up, nn.BatchNorm2d(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


def unet_generator(image_size, channels=3, filters=64):
    depth = int(image_size).bit_length() - 1
    widths = [filters * min(2 ** i, 8) for i in range(depth)]
    # Level i (1 = next to the outermost) maps widths[i - 1] channels to
    # widths[i] and back; dropout on the three innermost levels' up-convs
    # (the paper's CD512-CD512-CD512 decoder start).
    dropout = lambda i: depth > 4 and i >= depth - 3
    block = UnetBlock(widths[-2], widths[-1], innermost=True, dropout=dropout(depth - 1))
    for i in reversed(range(1, depth - 1)):
        block = UnetBlock(widths[i - 1], widths[i], block, dropout=dropout(i))
    return UnetBlock(channels, widths[0], block, input_channels=channels, outermost=True)


def patch_discriminator(channels, filters=64, num_layers=3):
    layers = [nn.Conv2d(channels, filters, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    width = filters
    for n in range(1, num_layers + 1):
        out = filters * min(2 ** n, 8)
        layers += [nn.Conv2d(width, out, 4, stride=2 if n < num_layers else 1, padding=1,
                             bias=False),
                   nn.BatchNorm2d(out), nn.LeakyReLU(0.2, True)]
        width = out
    layers += [nn.Conv2d(width, 1, 4, stride=1, padding=1)]
    return nn.Sequential(*layers)


class AlignedPairs:
    """Pairs `(inputs, targets)`, uint8 arrays already resized to the load
    size (286/256 of `crop_size`), cropped and flipped together."""

    def __init__(self, inputs, targets, crop_size, rng):
        self.load_size = load_size_for(crop_size)
        if inputs.shape[1:3] != (self.load_size, self.load_size):
            raise ValueError(f"Pairs must be {self.load_size}x{self.load_size}. "
                             f"Received: {inputs.shape}")
        self.inputs, self.targets = inputs, targets
        self.crop_size, self.rng = crop_size, rng
        self._order = []

    def batch(self):
        if not self._order:
            self._order = list(range(len(self.inputs)))
            self.rng.shuffle(self._order)
        i = self._order.pop()
        top = self.rng.randint(0, self.load_size - self.crop_size)
        left = self.rng.randint(0, self.load_size - self.crop_size)
        flip = self.rng.random() < 0.5
        out = []
        for image in (self.inputs[i], self.targets[i]):
            image = image[top:top + self.crop_size, left:left + self.crop_size]
            if flip:
                image = image[:, ::-1]
            out.append(image.astype(np.float32)[None] / 127.5 - 1.0)
        return out


class Pix2Pix:
    def __init__(self, image_size, channels=3, generator_filters=64,
                 discriminator_filters=64, l1_weight=100.0, learning_rate=2e-4,
                 beta_1=0.5, total_steps=1000, seed=0):
        self.rng = random.Random(seed)
        torch.manual_seed(seed)
        self.generator = init_weights(unet_generator(image_size, channels, generator_filters))
        self.discriminator = init_weights(patch_discriminator(2 * channels,
                                                              discriminator_filters))
        self.l1_weight = l1_weight
        self.opt_g = torch.optim.Adam(self.generator.parameters(), learning_rate,
                                      betas=(beta_1, 0.999))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), learning_rate,
                                      betas=(beta_1, 0.999))
        constant = total_steps // 2
        decay = total_steps - constant
        factor = lambda step: 1.0 - min(max((step - constant) / decay, 0.0), 1.0)
        self.schedulers = [torch.optim.lr_scheduler.LambdaLR(o, factor)
                           for o in (self.opt_g, self.opt_d)]
        self.bce, self.l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()

    def train_step(self, inputs, targets):
        inputs, targets = _to_torch(inputs), _to_torch(targets)
        outputs = self.generator(inputs)

        for p in self.discriminator.parameters():
            p.requires_grad = True
        self.opt_d.zero_grad()
        fake = self.discriminator(torch.cat([inputs, outputs.detach()], 1))
        real = self.discriminator(torch.cat([inputs, targets], 1))
        loss_d = 0.5 * (self.bce(fake, torch.zeros_like(fake))
                        + self.bce(real, torch.ones_like(real)))
        loss_d.backward()
        self.opt_d.step()

        for p in self.discriminator.parameters():
            p.requires_grad = False
        self.opt_g.zero_grad()
        fake = self.discriminator(torch.cat([inputs, outputs], 1))
        gan = self.bce(fake, torch.ones_like(fake))
        l1 = self.l1(outputs, targets)
        loss_g = gan + self.l1_weight * l1
        loss_g.backward()
        self.opt_g.step()
        for scheduler in self.schedulers:
            scheduler.step()
        return dict(d_loss=float(loss_d), g_gan=float(gan), l1=float(l1))

    @torch.no_grad()
    def translate(self, images, direction=None):
        """As the authors' test.py without --eval: one image at a time, the
        generator in training mode (dropout, batch statistics)."""
        self.generator.train()
        return np.concatenate([
            self.generator(_to_torch(images[i:i + 1])).numpy().transpose(0, 2, 3, 1)
            for i in range(len(images))])
