"""JetStream I/O: append with OCC and dedupe, load, replay, status feeds, checkpointed projections."""
