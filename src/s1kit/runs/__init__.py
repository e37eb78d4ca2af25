"""An eval run's files, for every reader of them (eval --resume, compare, plot, the viewer):
schema.py says what their fields hold, directory.py reads a run directory back and checks it."""
