"""`python -m s1kit.train ...`: the `s1kit train` command as a module, which is what
`accelerate launch [--config_file recipes/accelerate/fsdp.yaml] -m s1kit.train ...` runs in each process."""

import typer

from s1kit.cli import user_errors
from s1kit.train.command import CONTEXT_SETTINGS, train

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command(context_settings=CONTEXT_SETTINGS)(user_errors(train))

if __name__ == "__main__":
    app(prog_name="python -m s1kit.train")
