"""The MQTT topic namespace (``docs/topics.md``), in one place for edge and collector."""

from __future__ import annotations

PREFIX = "halledge/v1"


def hall_box_id(hall_id: str) -> str:
    """The device id of a hall's edge box: its presence, telemetry and commands."""
    return f"hallbox-{hall_id}"

#: What the collector subscribes to: every hall's event batches.
ALL_EVENTS = f"{PREFIX}/+/events"


def events_topic(hall_id: str) -> str:
    """Where a hall's agent publishes its event batches (QoS 1)."""
    return f"{PREFIX}/{hall_id}/events"


def warnings_topic(hall_id: str) -> str:
    """Where the collector publishes a hall's active warning list (QoS 1, retained)."""
    return f"{PREFIX}/{hall_id}/warnings"


def telemetry_topic(hall_id: str) -> str:
    """Where a hall's agent publishes its telemetry sample batches (QoS 1)."""
    return f"{PREFIX}/{hall_id}/telemetry"


def stored_topic(hall_id: str) -> str:
    """Where the collector publishes what it has stored of a hall, per device: the end-to-end
    acknowledgement the hall's journal deletes by (QoS 1, retained; ``core/stored_acks.py``)."""
    return f"{PREFIX}/{hall_id}/stored"


#: What the collector subscribes to: every hall's telemetry.
ALL_TELEMETRY = f"{PREFIX}/+/telemetry"

#: What the collector subscribes to for presence: every device's retained state.
ALL_STATES = f"{PREFIX}/+/state/+"
#: And every device's heartbeats.
ALL_HEARTBEATS = f"{PREFIX}/+/heartbeat/+"


def state_topic(hall_id: str, device_id: str) -> str:
    """A device's presence: birth and death, retained (QoS 1)."""
    return f"{PREFIX}/{hall_id}/state/{device_id}"


def heartbeat_topic(hall_id: str, device_id: str) -> str:
    """A device's periodic heartbeat (QoS 0, not retained: only the latest matters)."""
    return f"{PREFIX}/{hall_id}/heartbeat/{device_id}"


def command_topic(hall_id: str, device_id: str) -> str:
    """Commands and configuration from the collector to one device (QoS 1, not retained)."""
    return f"{PREFIX}/{hall_id}/cmd/{device_id}"


def command_ack_topic(hall_id: str, device_id: str) -> str:
    """A device's acknowledgements of commands, with their outcome (QoS 1)."""
    return f"{PREFIX}/{hall_id}/cmd-ack/{device_id}"


#: What the collector subscribes to for acknowledgements.
ALL_COMMAND_ACKS = f"{PREFIX}/+/cmd-ack/+"
