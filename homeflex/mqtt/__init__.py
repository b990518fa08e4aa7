"""The only place that imports aiomqtt: a library change touches these files alone."""

from homeflex.mqtt.session import MqttSession, MqttUnavailable, parse_mqtt_url

__all__ = ["MqttSession", "MqttUnavailable", "parse_mqtt_url"]
