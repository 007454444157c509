"""Webhook delivery: Standard Webhooks over HTTP from LC_EVENTS, one durable consumer per subscription."""
