"""The eval stage: settings (config.py), resumable runs (run.py), sweeps that share one trajectory
(sweep.py), the paper's metrics (metrics.py, summary.py), the report and plots, and `compare`."""
