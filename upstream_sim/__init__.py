"""Simulators of the kiosk's upstreams, on loopback: the government platform and the payment
channels. Each is an :class:`upstream_sim.server.UpstreamServer` over routes from its domain
modules, with realistic data, an OpenAPI description and faults on command. Only tests, the
demo and benchmarks use them (an import-linter contract keeps product code off them).
"""
