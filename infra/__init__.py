"""CDK infrastructure for Webhook Pipeline: settings, constructs and stacks."""
