from s1kit.cli import app

app(prog_name="s1kit")
