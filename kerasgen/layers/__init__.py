"""Network building blocks shared by two or more families."""

from kerasgen.layers.conv_stacks import build_conv_decoder
from kerasgen.layers.conv_stacks import build_conv_encoder
from kerasgen.layers.conv_stacks import resolution_plan

__all__ = ["build_conv_decoder", "build_conv_encoder", "resolution_plan"]
