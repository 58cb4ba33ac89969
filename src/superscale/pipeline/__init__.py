"""The whole experiment, end to end: analyse a store with every study's step, reproduce the paper's quick
run (train → analyse → report), and the `Store` a user opens from Python (tables plus figures)."""
