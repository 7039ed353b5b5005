"""Simulated hall devices, each under the real transport (USB backend, pty, TCP, cupsd, HTTP).

Nothing here is wired into the product: a composition root calls
:func:`register_simulators` to make ``sim://`` device URLs open them.
"""

from hardware_sim.openers import register_simulators, simulator_of

__all__ = ["register_simulators", "simulator_of"]
