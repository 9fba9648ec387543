"""The embedded demo (placeholder until written)."""


def run_demo(run_dir: str, orders: int) -> int:
    raise NotImplementedError
