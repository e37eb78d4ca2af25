"""Supervised fine-tuning on reasoning traces: the s1 recipe on TRL's SFTTrainer.

config.py   TrainConfig (the recipe), YAML loading, overrides, gradient accumulation
data.py     rows -> chat-format examples with the loss on the assistant turn only
run_dir.py  output directory checks (--resume, --overwrite) and the saved config
trainer.py  main(config): the spine
command.py  the `s1kit train` command (also `python -m s1kit.train`, for accelerate launch)
"""
