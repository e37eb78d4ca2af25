"""Supervised fine-tuning on reasoning traces: the s1 recipe on TRL's SFTTrainer; and, with
objective prm, a process reward model's head trained to score steps.

config.py   TrainConfig (the recipe), YAML loading, overrides, gradient accumulation
data.py     rows -> chat-format examples with the loss on the assistant turn only
run_dir.py  the output directory: its lock, --resume and --overwrite, the saved config, the checkpoint to resume
divergence.py  a NaN or infinite loss, gradient or weight stops the run before it is saved
trainer.py  main(config): the spine
runtime.py  the tracker checked early, the processes joined, logs as plain lines (both objectives)
prm.py      the prm objective: labelled steps -> a reward head, on transformers' Trainer
command.py  the `s1kit train` command (also `python -m s1kit.train`, for accelerate launch)
"""
