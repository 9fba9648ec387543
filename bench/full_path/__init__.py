"""The full-path throughput benchmark (issue 7), run as `python -m bench.full_path` (--help).

config.py holds its settings; the rest is in three parts, each importing only the earlier ones:
  metrics:    metrics.py (latency, percentiles, the verdict, RunResult), correctness.py (the
              check after each run), report.py (progress lines, the table, JSON and PNG)
  processes:  load.py (paid orders into Kafka, outcomes read back), processes.py (pids, CPU,
              RSS, the outbox backlog), runner.py (Bench: seeds the stack, makes and checks runs)
  command:    scenarios.py (the steady search, burst, hot), cli.py (arguments, main)
"""
