"""The household's asyncio control loop: plans and commands devices over MQTT."""
