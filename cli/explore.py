"""`kerasgen explore ...`: latent tools and model probes from the shell.

Each subcommand takes a SOURCE, a zoo preset name or a run folder (or
`.keras` file), like `kerasgen sample`, and writes a picture (and, where it
measures something, prints a table). The library behind them is
`kerasgen.latent` (written once against the latent interface) and
`kerasgen.probes` (the zoo's classifiers: DeepDream and adversarial
examples). The commands live in three modules, one per area:

- `kerasgen.cli.explore_latent`: interpolate, arithmetic, truncation, invert;
- `kerasgen.cli.explore_directions`: directions, dissect;
- `kerasgen.cli.explore_probes`: dream, attack.
"""

import click


@click.group("explore")
def explore():
    """Latent tools and model probes: interpolate, arithmetic, directions,
    truncation, invert, dissect, dream, attack.

    Example: kerasgen explore interpolate dcgan-mnist --seeds 1,2 --out lerp.png
    """


def load_latent_model(source, allow_nonfinite=False, interface="decode"):
    """The model of SOURCE (a preset name, run folder or `.keras` file),
    refused in one line unless it provides `interface` (the latent tools
    need `decode`)."""
    from kerasgen.cli.main import import_keras
    from kerasgen.cli.main import load_source
    from kerasgen.cli.main import resolve_source
    from kerasgen.cli.main import usage_mistake
    from kerasgen.cli.main import what_it_does
    from kerasgen.models.interfaces import require

    resolved = resolve_source(source)
    import_keras()  # quietly, before the interfaces module imports Keras
    model = load_source(resolved, allow_nonfinite=allow_nonfinite)
    try:
        require(model, interface, hint=what_it_does(model))
    except ValueError as error:
        raise usage_mistake(error) from error
    if model.data_spec().kind == "waveforms":
        from kerasgen.cli.main import UsageMistake

        raise UsageMistake(
            f"The explore commands draw images; {type(model).__name__} makes audio. "
            "Its latent API (sample_latents, decode, kerasgen.latent's functions) works "
            f"in Python, and kerasgen sample writes its clips. Received: {source}")
    return model


def _register_commands():
    from kerasgen.cli import explore_directions
    from kerasgen.cli import explore_latent
    from kerasgen.cli import explore_probes

    for module in (explore_latent, explore_directions, explore_probes):
        for command in module.COMMANDS:
            explore.add_command(command)


_register_commands()
