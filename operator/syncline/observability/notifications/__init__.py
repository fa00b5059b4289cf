"""Notifications: email and webhooks about finished runs, without flooding anyone.

Pure parts decide and render (``policy``: which run is worth a notification;
``recipients``: the addresses of ``spec.notifications.email.to``; ``summary``: what a
notification says, scrubbed; ``mail`` and ``payloads``: the email and the webhook
bodies). ``smtp`` and ``webhook`` talk to the outside world, one attempt at a time, and
``delivery`` retries them within a bound. Nothing here knows Kubernetes: the operator
(``syncline.controllers.notifications``) reads the Secrets, claims each run once and
records what happened.
"""
