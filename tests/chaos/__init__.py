"""Chaos tests: real processes, a real Mosquitto, kills and network faults at random moments."""
