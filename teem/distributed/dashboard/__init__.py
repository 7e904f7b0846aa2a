"""The web dashboard served by the scheduler, and the pure views it (and ``teem top``) show.

Modules: ``activity`` (task stream recorded by the scheduler), ``views`` (JSON-ready
documents from the scheduler state), ``http`` (a small h11 server), ``service`` (the
dashboard in the scheduler process), ``static/`` (the page: HTML, JS, CSS, no CDN).
"""
