"""Benchmarks: db_deduct.py and e2e_latency.py are scripts, full_path a package (its __init__)."""
