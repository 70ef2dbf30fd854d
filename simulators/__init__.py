"""Traffic simulators that talk to lowalt only through its public APIs."""
