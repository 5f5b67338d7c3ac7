"""Customer service: routing shoppers' messages to an intent (``routing``) and finding the
agent response that answers a message (``answers``)."""
