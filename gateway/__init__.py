"""The running gateway: configuration, channels, intake, durable pipeline, store, ERP adapters, acks, CLI."""
