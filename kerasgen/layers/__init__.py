"""Network building blocks shared by two or more families."""

from kerasgen.layers.augment import random_jitter
from kerasgen.layers.conv_stacks import build_conv_decoder
from kerasgen.layers.conv_stacks import build_conv_encoder
from kerasgen.layers.conv_stacks import resolution_plan
from kerasgen.layers.diffusion_unet import SinusoidalEmbedding
from kerasgen.layers.diffusion_unet import SpatialSelfAttention
from kerasgen.layers.diffusion_unet import build_diffusion_unet
from kerasgen.layers.flow_layers import ActNorm
from kerasgen.layers.flow_layers import AffineCoupling
from kerasgen.layers.flow_layers import InvertibleConv1x1
from kerasgen.layers.flow_layers import MultiScaleFlow
from kerasgen.layers.flow_layers import Squeeze
from kerasgen.layers.image_pool import ImagePool
from kerasgen.layers.image_to_image import build_patch_discriminator
from kerasgen.layers.image_to_image import build_resnet_generator
from kerasgen.layers.image_to_image import build_unet_generator
from kerasgen.layers.normalization_padding import ReflectionPadding2D
from kerasgen.layers.normalization_padding import instance_normalization

__all__ = [
    "ActNorm",
    "AffineCoupling",
    "InvertibleConv1x1",
    "MultiScaleFlow",
    "Squeeze",
    "ImagePool",
    "ReflectionPadding2D",
    "SinusoidalEmbedding",
    "SpatialSelfAttention",
    "build_conv_decoder",
    "build_conv_encoder",
    "build_diffusion_unet",
    "build_patch_discriminator",
    "build_resnet_generator",
    "build_unet_generator",
    "instance_normalization",
    "random_jitter",
    "resolution_plan",
]
