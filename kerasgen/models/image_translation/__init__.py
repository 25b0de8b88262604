"""Image-to-image families: CycleGAN (unpaired) and pix2pix (paired), and
the mixin they share (`base.ImageTranslation`)."""
