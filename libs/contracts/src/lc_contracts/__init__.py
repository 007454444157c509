"""Pure contracts: specs, events, subjects, stream config, errors. No I/O."""
