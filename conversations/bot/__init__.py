"""The bot: knowledge-base retrieval (retrieval.py) and handoff intent (intent.py).

It changes nothing itself: conversations.services.bot_respond() asks it and posts the reply.
"""
