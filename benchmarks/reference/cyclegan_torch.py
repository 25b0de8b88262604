"""A plain PyTorch CycleGAN, written from the paper and the authors' recipe,
to compare kerasgen against at equal budget (`benchmarks/cyclegan_parity.py`).

Zhu et al. 2017 (https://arxiv.org/abs/1703.10593) as the authors train it
(junyanz/pytorch-CycleGAN-and-pix2pix: `networks.py`, `cycle_gan_model.py`,
`image_pool.py`, `unaligned_dataset.py`, `base_dataset.py`), written here
from that description, not copied:

- ResNet generator: reflection pad 3, 7x7 conv, two stride-2 3x3 convs
  (zero padding 1), residual blocks (reflection padding), two stride-2 3x3
  transposed convs (padding 1, output_padding 1), reflection pad 3, 7x7
  conv, tanh; non-affine instance norm (eps 1e-5) and ReLU after every
  hidden conv. Convs keep their bias (the authors' `use_bias` is True with
  instance norm).
- The n_layers=3 PatchGAN: 4x4 convs, padding 1, stride 2, 2, 2, 1, 1;
  instance norm on all but the first and last; LeakyReLU(0.2).
- N(0, 0.02) weights, zero biases.
- Least squares GAN loss (MSE to 1 for real, 0 for fake); the generators'
  adversarial terms have no 1/2, each discriminator's loss is halved.
- lambda_A = lambda_B = 10, identity 0.5 (x lambda).
- A pool of 50 past translations per domain for the discriminators.
- Adam(2e-4, betas=(0.5, 0.999), eps=1e-8), one for both generators and
  one for both discriminators; lr constant for the first half, then
  linearly to 0 (per step here; the authors step it per epoch).
- Data: each image resized (PIL, bicubic) from its file to load_size =
  286/256 x crop size, randomly cropped to the crop size, flipped with
  probability 1/2, scaled to [-1, 1]; A in a shuffled order, B drawn at
  random (the authors' unaligned dataset).
- One step: forward both generators; the generators' update; then the
  discriminators' on the pooled *same* translations (detached).

Only the reference side of the parity benchmark; it imports no kerasgen.
"""

import random

import numpy as np
import torch
from torch import nn

# --- Networks -----------------------------------------------------------------


def instance_norm(channels):
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3),
            instance_norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3),
            instance_norm(channels),
        )

    def forward(self, x):
        return x + self.block(x)


def resnet_generator(channels=3, filters=64, num_blocks=9):
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels, filters, 7),
              instance_norm(filters), nn.ReLU(True)]
    width = filters
    for _ in range(2):
        layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1),
                   instance_norm(width * 2), nn.ReLU(True)]
        width *= 2
    layers += [ResnetBlock(width) for _ in range(num_blocks)]
    for _ in range(2):
        layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1,
                                      output_padding=1),
                   instance_norm(width // 2), nn.ReLU(True)]
        width //= 2
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def patch_discriminator(channels=3, filters=64, num_layers=3):
    layers = [nn.Conv2d(channels, filters, 4, stride=2, padding=1),
              nn.LeakyReLU(0.2, True)]
    width = filters
    for n in range(1, num_layers + 1):
        out = filters * min(2 ** n, 8)
        layers += [nn.Conv2d(width, out, 4, stride=2 if n < num_layers else 1,
                             padding=1),
                   instance_norm(out), nn.LeakyReLU(0.2, True)]
        width = out
    layers += [nn.Conv2d(width, 1, 4, stride=1, padding=1)]
    return nn.Sequential(*layers)


def init_weights(network, gain=0.02):
    """The authors' `init_type="normal"`: conv weights N(0, gain), BatchNorm
    weights N(1, gain), biases 0."""
    for module in network.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
    return network


# --- Image pool -----------------------------------------------------------------


class ImagePool:
    """The last `size` translations; after it fills, each new image is
    returned with probability 1/2, else swapped for a random stored one."""

    def __init__(self, size, rng):
        self.size, self.images, self.rng = size, [], rng

    def query(self, images):
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif self.rng.random() > 0.5:
                slot = self.rng.randint(0, self.size - 1)
                out.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


# --- Data ------------------------------------------------------------------------


def load_size_for(crop_size):
    """286/256 of the crop size, as kerasgen's `jitter_size`."""
    return int(round(crop_size * 286 / 256))


class UnalignedImages:
    """Files of domains A and B, jittered as the authors' transform does."""

    def __init__(self, files_a, files_b, crop_size, rng):
        from PIL import Image

        self.load_size = load_size_for(crop_size)
        self.crop_size = crop_size
        self.rng = rng
        # Resize once from the file (the authors resize every time they read;
        # with a fixed load size the result is the same).
        def load(path):
            image = Image.open(path).convert("RGB").resize(
                (self.load_size, self.load_size), Image.BICUBIC)
            return np.asarray(image, dtype=np.uint8)

        self.a = np.stack([load(p) for p in files_a])
        self.b = np.stack([load(p) for p in files_b])
        self._order = []

    def _jitter(self, image):
        top = self.rng.randint(0, self.load_size - self.crop_size)
        left = self.rng.randint(0, self.load_size - self.crop_size)
        image = image[top:top + self.crop_size, left:left + self.crop_size]
        if self.rng.random() < 0.5:
            image = image[:, ::-1]
        return image.astype(np.float32) / 127.5 - 1.0

    def batch(self):
        """One jittered `(a, b)` pair as float32 NHWC arrays in [-1, 1]."""
        if not self._order:
            self._order = list(range(len(self.a)))
            self.rng.shuffle(self._order)
        a = self.a[self._order.pop()]
        b = self.b[self.rng.randint(0, len(self.b) - 1)]
        return self._jitter(a)[None], self._jitter(b)[None]


# --- Model and its step ------------------------------------------------------------


class CycleGAN:
    def __init__(self, channels=3, generator_filters=64, discriminator_filters=64,
                 num_blocks=9, cycle_weight=10.0, identity_weight=0.5, pool_size=50,
                 learning_rate=2e-4, beta_1=0.5, total_steps=1000, seed=0):
        self.rng = random.Random(seed)
        torch.manual_seed(seed)
        self.g_ab = init_weights(resnet_generator(channels, generator_filters, num_blocks))
        self.g_ba = init_weights(resnet_generator(channels, generator_filters, num_blocks))
        self.d_a = init_weights(patch_discriminator(channels, discriminator_filters))
        self.d_b = init_weights(patch_discriminator(channels, discriminator_filters))
        self.pool_a = ImagePool(pool_size, self.rng)
        self.pool_b = ImagePool(pool_size, self.rng)
        self.cycle_weight, self.identity_weight = cycle_weight, identity_weight
        generators = list(self.g_ab.parameters()) + list(self.g_ba.parameters())
        discriminators = list(self.d_a.parameters()) + list(self.d_b.parameters())
        self.opt_g = torch.optim.Adam(generators, learning_rate, betas=(beta_1, 0.999))
        self.opt_d = torch.optim.Adam(discriminators, learning_rate, betas=(beta_1, 0.999))
        constant = total_steps // 2
        decay = total_steps - constant

        def factor(step):
            return 1.0 - min(max((step - constant) / decay, 0.0), 1.0)

        self.schedulers = [torch.optim.lr_scheduler.LambdaLR(o, factor)
                           for o in (self.opt_g, self.opt_d)]
        self.mse, self.l1 = nn.MSELoss(), nn.L1Loss()

    def _set_requires_grad(self, networks, flag):
        for network in networks:
            for p in network.parameters():
                p.requires_grad = flag

    def train_step(self, real_a, real_b):
        """One step on NHWC numpy batches in [-1, 1]; returns the losses."""
        real_a, real_b = _to_torch(real_a), _to_torch(real_b)
        fake_b = self.g_ab(real_a)
        rec_a = self.g_ba(fake_b)
        fake_a = self.g_ba(real_b)
        rec_b = self.g_ab(fake_a)

        # Generators, with the discriminators frozen.
        self._set_requires_grad((self.d_a, self.d_b), False)
        self.opt_g.zero_grad()
        logits_b = self.d_b(fake_b)
        logits_a = self.d_a(fake_a)
        g_ab = self.mse(logits_b, torch.ones_like(logits_b))
        g_ba = self.mse(logits_a, torch.ones_like(logits_a))
        cycle_a = self.l1(rec_a, real_a)
        cycle_b = self.l1(rec_b, real_b)
        loss_g = g_ab + g_ba + self.cycle_weight * (cycle_a + cycle_b)
        if self.identity_weight > 0:
            identity = self.l1(self.g_ab(real_b), real_b) + self.l1(self.g_ba(real_a), real_a)
            loss_g = loss_g + self.identity_weight * self.cycle_weight * identity
        loss_g.backward()
        self.opt_g.step()

        # Discriminators, on the pooled translations of this forward pass.
        self._set_requires_grad((self.d_a, self.d_b), True)
        self.opt_d.zero_grad()
        losses = {}
        for name, d, real, fake in (("d_b", self.d_b, real_b, self.pool_b.query(fake_b)),
                                    ("d_a", self.d_a, real_a, self.pool_a.query(fake_a))):
            real_logits, fake_logits = d(real), d(fake.detach())
            loss = 0.5 * (self.mse(real_logits, torch.ones_like(real_logits))
                          + self.mse(fake_logits, torch.zeros_like(fake_logits)))
            loss.backward()
            losses[name] = loss.item()
        self.opt_d.step()
        for scheduler in self.schedulers:
            scheduler.step()
        return dict(g_loss=float(loss_g), cycle_a=float(cycle_a), cycle_b=float(cycle_b),
                    **losses)

    @torch.no_grad()
    def translate(self, images, direction="a2b", batch_size=32):
        """NHWC numpy in [-1, 1] -> NHWC numpy in [-1, 1], no gradients."""
        network = self.g_ab if direction == "a2b" else self.g_ba
        out = [network(_to_torch(images[i:i + batch_size])).numpy().transpose(0, 2, 3, 1)
               for i in range(0, len(images), batch_size)]
        return np.concatenate(out)


def _to_torch(images):
    """NHWC numpy -> NCHW float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(
        np.asarray(images, np.float32).transpose(0, 3, 1, 2)))
